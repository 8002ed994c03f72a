#!/bin/sh
# Apps of one group in VMs on two hosts, guest side (issue 11's real-VM test:
# tests/OverlayKvm.Integration.Tests/Cluster/TwoHostVm*). The test builds it into the guest image as
# /bin/cluster-apps (with scenario-lib.sh as /bin/scenario-lib) and init starts it beside the agent (overlaykvm.test=/bin/cluster-apps). Results are
# "vm-scenario: ..." lines on the serial console, which the test reads.
#
# Kernel command line (set by the host):
#   overlaykvm.role=server|client  overlaykvm.app=NAME  overlaykvm.appip=ADDR (overlay)  overlaykvm.group=GROUP
#   overlaykvm.size=BYTES
#   client only: overlaykvm.sealedpeer=ADDR (an app on the other host)  overlaykvm.sealedpeerip=ADDR (its VM's eth0)
#                overlaykvm.enginepeer=ADDR (an app on this host)     overlaykvm.enginepeerip=ADDR (its VM's eth0)
#
# server: serves SIZE bytes full of a plaintext marker with an unmodified busybox httpd on its overlay address, as
# the app, once the agent attached to the group's engine region (when the host gave it one), and stays.
# client: fetches the sealed peer's file, then the engine peer's (after a warm-up fetch that lets the agent learn
# the engine route), each with an unmodified busybox wget and bracketed by two "phase marks": a TCP SYN from eth0 to
# a closed port of that peer's eth0 (9983/9984 sealed, 9981/9982 engine), answered by a RST, which the host's
# underlay capture timestamps (the guests' clocks are unreliable under TCG). It prints rc/bytes/sha256 of each, its
# agent's stat, "client done", and stays: every app keeps running, so a test may go on (e.g. migrate a VM).
# With overlaykvm.rounds=1 the client then fetches the sealed peer's file again and again ("round N begin" + stat,
# "progress BYTES" lines every ~0.2 s that the host timestamps to see the TCP stall, "round N rc=... sha256=..." +
# stat): a transfer is always running, so a test can migrate the peer under it (issue 15, VmMigrationTests).

. /bin/scenario-lib

fetch_ready() { # $1 label, $2 app address: retries until that server answers (≤ 240 tries)
    i=0
    until wget -q -O /tmp/ready.txt "http://$2:8080/ready.txt" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 240 ] || { say "$1 never answered on $2:8080"; return 1; }
        sleep 1
    done
}

transfer() { # $1 label, $2 begin mark port, $3 end mark port, $4 peer eth0, $5 peer app address
    rm -f /tmp/got.bin
    nc -w 2 "$4" "$2" </dev/null >/dev/null 2>&1
    wget -q -O /tmp/got.bin "http://$5:8080/data.bin"; rc=$?
    nc -w 2 "$4" "$3" </dev/null >/dev/null 2>&1
    say "$1 rc=$rc bytes=$(size_of /tmp/got.bin) sha256=$(sha_of /tmp/got.bin)"
}

ENGINE_ATTACHED="\"group\":\"$(arg group)\",\"region\"[^}]*\"enabled\":true"

server() {
    mkdir -p /srv/www
    yes "OVK-TWOHOST-PLAINTEXT-" | head -c "$SIZE" > /srv/www/data.bin
    say "payload bytes=$(size_of /srv/www/data.bin) sha256=$(sha_of /srv/www/data.bin)"
    start_app "$APP" "$APPIP" httpd -f -p "$APPIP:8080" -h /srv/www >/dev/null || exit 1
    # No region on this host for the group (or the engine off): serving sealed only is right, say so and go on.
    wait_stat "$ENGINE_ATTACHED" 60 && say "engine attached" || say "engine not attached: $(stat_json)"
    echo ready > /srv/www/ready.txt
    say "server ready"
    forever
}

client() {
    start_app "$APP" "$APPIP" sleep 1000000 >/dev/null || exit 1
    fetch_ready "sealed peer" "$SEALED" || exit 1
    transfer sealed 9983 9984 "$SEALEDIP" "$SEALED"
    wait_stat "$ENGINE_ATTACHED" 120 || { say "engine never attached: $(stat_json)"; exit 1; }
    # Warm-up: the first packets to a new destination go sealed while the agent asks its host where it is.
    fetch_ready "engine peer" "$ENGINE" || exit 1
    wait_stat "\"cachedRoutes\":[1-9]" 30 || say "no cached engine route: $(stat_json)"
    transfer engine 9981 9982 "$ENGINEIP" "$ENGINE"
    say "stat $(stat_json)"
    say "client done"
    [ "$(arg rounds)" = 1 ] && rounds
    forever
}

progress() { # prints the growing file's size until killed: the host stamps each line with its own clock
    while true; do say "progress $(size_of /tmp/got.bin)"; usleep 200000; done
}

rounds() {
    n=1
    while true; do
        rm -f /tmp/got.bin
        say "round $n begin stat $(stat_json)"
        progress & p=$!
        wget -q -O /tmp/got.bin "http://$SEALED:8080/data.bin"; rc=$?
        kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
        say "round $n rc=$rc bytes=$(size_of /tmp/got.bin) sha256=$(sha_of /tmp/got.bin) stat $(stat_json)"
        n=$((n + 1)); sleep 1
    done
}

ROLE="$(arg role)"; APP="$(arg app)"; APPIP="$(arg appip)"; SIZE="$(arg size)"; SIZE="${SIZE:-4194304}"
SEALED="$(arg sealedpeer)"; SEALEDIP="$(arg sealedpeerip)"; ENGINE="$(arg enginepeer)"; ENGINEIP="$(arg enginepeerip)"
say "start role=$ROLE app=$APP appip=$APPIP"
wait_agent
say "agent answering"
case "$ROLE" in
    server) server ;;
    client) client ;;
    *) say "unknown overlaykvm.role=$ROLE (server or client)"; exit 1 ;;
esac
