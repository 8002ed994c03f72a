# Make every running libvirt daemon that runs QEMU domains re-read /etc/libvirt/hooks (libvirt reads its hook
# directories at start and on SIGHUP / `systemctl reload`). Debian ships either the monolithic libvirtd or,
# with modular daemons, virtqemud; either may run under systemd or by hand (then found by its pid file, else by
# its process name in /proc). Nothing running is fine: a daemon reads the hooks when it starts.
# build.sh copies this function into the maintainer scripts (they must stand alone: postrm runs after our files
# are gone).
overlaykvm_reload_libvirt_hooks() {
    _found=0
    for _daemon in libvirtd virtqemud; do
        if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 \
           && systemctl is-active --quiet "$_daemon.service" 2>/dev/null; then
            if systemctl reload "$_daemon.service"; then
                echo "overlaykvm: reloaded $_daemon.service so it reads /etc/libvirt/hooks"
                _found=1
                continue
            fi
        fi
        _pids=""
        for _pidfile in "/run/$_daemon.pid" "/var/run/$_daemon.pid"; do
            [ -r "$_pidfile" ] || continue
            _pid="$(head -n 1 "$_pidfile" 2>/dev/null)" || continue
            case "$_pid" in ''|*[!0-9]*) continue ;; esac
            [ "$(cat "/proc/$_pid/comm" 2>/dev/null)" = "$_daemon" ] && _pids="$_pid"
            break
        done
        if [ -z "$_pids" ]; then
            for _comm in /proc/[0-9]*/comm; do
                [ "$(cat "$_comm" 2>/dev/null)" = "$_daemon" ] || continue
                _pid="${_comm#/proc/}"; _pids="$_pids ${_pid%/comm}"
            done
        fi
        for _pid in $_pids; do
            if kill -HUP "$_pid" 2>/dev/null; then
                echo "overlaykvm: sent SIGHUP to $_daemon (pid $_pid) so it reads /etc/libvirt/hooks"
                _found=1
            fi
        done
    done
    [ "$_found" = 1 ] || echo "overlaykvm: no libvirtd or virtqemud is running; it reads /etc/libvirt/hooks when it starts"
    return 0
}
