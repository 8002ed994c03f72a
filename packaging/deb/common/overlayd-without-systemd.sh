# Hosts without systemd as PID 1 (containers, sysvinit): run overlayd the way overlayd.service would — same
# binary, same --config, as root, umask 0077, readiness awaited (its admin socket answers) — with
# start-stop-daemon, a pid file and a log file, and say so.
OVERLAYKVM_OVERLAYD=/usr/lib/overlaykvm/overlayd
OVERLAYKVM_PIDFILE=/run/overlaykvm/overlayd.pid
OVERLAYKVM_LOG=/var/log/overlaykvm/overlayd.log
OVERLAYKVM_SOCKET=/run/overlaykvm/overlayd.sock

overlaykvm_stop_overlayd_without_systemd() {
    [ -f "$OVERLAYKVM_PIDFILE" ] || return 0
    # --name, not --exec: after an upgrade the running binary is the old, deleted inode.
    start-stop-daemon --stop --quiet --pidfile "$OVERLAYKVM_PIDFILE" --name overlayd --retry TERM/15/KILL/5 \
        --remove-pidfile || true
    rm -f "$OVERLAYKVM_PIDFILE"
}

overlaykvm_restart_overlayd_without_systemd() {
    overlaykvm_stop_overlayd_without_systemd
    install -d -m 0700 /var/lib/overlaykvm
    install -d -m 0755 /run/overlaykvm
    install -d -m 0750 /var/log/overlaykvm
    rm -f "$OVERLAYKVM_SOCKET"
    (umask 0077 && start-stop-daemon --start --quiet --background --make-pidfile --pidfile "$OVERLAYKVM_PIDFILE" \
        --output "$OVERLAYKVM_LOG" --exec "$OVERLAYKVM_OVERLAYD" -- --config /etc/overlaykvm/overlayd.json)
    # Up to 180 s, as overlayd.service's TimeoutStartSec: the self-contained overlayd needs seconds to start on an
    # idle host and over 30 s on a busy one (seen at load average 30-40 on two cores).
    _waited=0
    while [ ! -S "$OVERLAYKVM_SOCKET" ]; do
        if [ "$_waited" -ge 1800 ] || ! kill -0 "$(cat "$OVERLAYKVM_PIDFILE" 2>/dev/null || echo 0)" 2>/dev/null; then
            echo "overlaykvm: overlayd did not start; see $OVERLAYKVM_LOG:" >&2
            tail -n 20 "$OVERLAYKVM_LOG" >&2 || true
            return 1
        fi
        sleep 0.1
        _waited=$((_waited + 1))
    done
    chgrp overlaykvm "$OVERLAYKVM_SOCKET" 2>/dev/null || true
    echo "overlaykvm: systemd is not running here: started overlayd (pid $(cat "$OVERLAYKVM_PIDFILE"), answering after ~$((_waited / 10)) s) with start-stop-daemon as overlayd.service would; log $OVERLAYKVM_LOG, stop with: start-stop-daemon --stop --pidfile $OVERLAYKVM_PIDFILE"
}
