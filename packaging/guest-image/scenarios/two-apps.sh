#!/bin/sh
# Two apps in two VMs, guest side. One script for every host that runs it: the real-VM demo (scripts/demo.sh) and
# the VM tests (tests/OverlayKvm.Integration.Tests/Vm) build it into the guest image with build.sh --extra as
# /bin/two-apps (with scenario-lib.sh as /bin/scenario-lib, which it sources), and init starts it beside the
# agent (overlaykvm.test=/bin/two-apps). Results are "vm-scenario: ..." lines on the serial console, which the host
# (test or demo) reads.
#
# Kernel command line (set by the host):
#   overlaykvm.role=server|client  overlaykvm.app=NAME  overlaykvm.appip=ADDR (overlay)  overlaykvm.group=GROUP
#   overlaykvm.peerapp=ADDR (the other VM's app)  overlaykvm.peerip=ADDR (the other VM's eth0)  overlaykvm.size=BYTES
#   overlaykvm.scenario=engine|sealed (default engine)
#
# engine (the demo, TwoVmEngineFixture): the client fetches the server's file three times with the same unmodified
# busybox wget: through the engine (the ivshmem rings), then — once the host switched the engine off for the group —
# over the sealed network path, then plain over eth0 (not an overlay app: the scale). Each transfer is bracketed by
# two "phase marks": a TCP SYN from eth0 to a closed port of the peer (9981..9986), which the host's captures
# timestamp on the host clock (the guests' clocks are unreliable under TCG) and which delimit the phases in the
# captures. Both VMs keep their apps (and so their engine registrations) running afterwards: the host then destroys
# the server's VM.
#
# sealed (TwoVmScenarioFixture, no engine region): plain over eth0 first (the baseline), then over the sealed
# overlay path; the adapter, addresses and policy rules are shown before, during and after the apps ran, and the
# client says "done" in clear on eth0:9999 once it has fetched everything.
# Unmodified busybox programs only: httpd serves, wget fetches, sha256sum checks, nc signals.

. /bin/scenario-lib
# A SYN to a closed port of the peer, answered by a RST at once: one timestamped frame on the host's captures.
mark() { nc -w 2 "$PEERIP" "$1" </dev/null >/dev/null 2>&1; }
# Stops a wrapper started by start_app (not our child: start_app runs in a command substitution) and waits.
stop_app() {
    kill "$1"
    i=0; while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); usleep 100000; done
}
# Waits (at most 5 s) until the adapter is gone after the last app ended.
wait_no_adapter() { i=0; while ip -o link show | grep -q ovk && [ $i -lt 50 ]; do i=$((i + 1)); usleep 100000; done; }
show_net() { # $1: label; the adapter, addresses and policy rules as the test asserts on them
    ip -o link show | grep -o 'ovk[0-9a-f]*' | sort -u | sed "s/^/vm-scenario: $1 link /"
    ip -o link show | grep -q 'ovk[0-9a-f]' || say "$1 link none"
    ip rule show | grep -v 'lookup \(local\|main\|default\)' | sed "s/^/vm-scenario: $1 rule /"
    ip -o -4 addr show | awk '{ print $2, $4 }' | sed "s/^/vm-scenario: $1 addr /"
}
fetch() { # $1 label, $2 url: retries until the server answers (≤ 60 s)
    i=0
    until wget -q -O /tmp/warm.txt "$2" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 60 ] || { say "$1 never answered: $2"; return 1; }
        sleep 1
    done
}
transfer() { # $1 label, $2 begin mark port, $3 end mark port, $4 url
    rm -f /tmp/got.bin
    mark "$2"
    wget -q -O /tmp/got.bin "$4"; rc=$?
    mark "$3"
    say "$1 rc=$rc bytes=$(size_of /tmp/got.bin) sha256=$(sha_of /tmp/got.bin)"
}
# When the engine does not attach: where the agent's threads are (for the report; the test fails anyway).
diagnose() {
    pid="$(pidof overlay-agent | tr ' ' '\n' | sort -n | head -n1)"
    for t in /proc/"$pid"/task/*; do
        say "diag thread $(cat "$t/comm") state=$(cut -d' ' -f3 "$t/stat") wchan=$(cat "$t/wchan") syscall=$(cut -d' ' -f1 "$t/syscall" 2>/dev/null) stack=$(tr '\n' ' ' < "$t/stack" 2>/dev/null | cut -c1-300)"
    done
    grep -E 'resource|shm' /proc/"$pid"/maps | sed 's/^/vm-scenario: diag map /'
    for d in /sys/bus/pci/devices/*; do
        [ "$(cat "$d/device")" = 0x1110 ] && say "diag ivshmem $d enable=$(cat "$d/enable") resource2=$(stat -c %s "$d/resource2")"
    done
}
engine_scenario() {
    SIZE="${SIZE:-1048576}"
    say "start role=$ROLE app=$APP appip=$APPIP group=$GROUP"
    wait_agent
    say "agent answering"
    # Evidence for the content-root finding (docs/vm-e2e.md): how many inotify watches the agent holds.
    apid="$(pidof overlay-agent | tr ' ' '\n' | sort -n | head -n1)"
    for fd in /proc/"$apid"/fd/*; do
        [ "$(readlink "$fd")" = "anon_inode:inotify" ] && say "agent inotify watches $(grep -c '^inotify' /proc/"$apid"/fdinfo/"${fd##*/}")"
    done

    if [ "$ROLE" = server ]; then
        mkdir -p /srv/www
        # Full of a plaintext marker: a capture shows whether any of it crossed a network interface in clear.
        yes "OVK-ENGINE-PLAINTEXT-7c2e-" | head -c "$SIZE" > /srv/www/data.bin
        echo ready > /srv/www/ready.txt
        say "payload bytes=$(size_of /srv/www/data.bin) sha256=$(sha_of /srv/www/data.bin)"
        httpd -f -p "$MYIP:8081" -h /srv/www &
        start_app "$APP" "$APPIP" httpd -f -p "$APPIP:8080" -h /srv/www >/dev/null || exit 1
        wait_stat "\"group\":\"$GROUP\",\"region\"" 60 || { say "engine never attached: $(stat_json)"; diagnose; }
        say "server ready"
        forever
    fi

    # client
    fetch "plain server" "http://$PEERIP:8081/ready.txt" || exit 1
    start_app "$APP" "$APPIP" sleep 100000 >/dev/null || exit 1
    wait_stat "\"group\":\"$GROUP\",\"region\"[^}]*\"enabled\":true" 60 || { say "engine never attached: $(stat_json)"; diagnose; exit 1; }
    # Warm-up: the first packets to a new destination take the sealed path while the agent asks overlayd where it
    # is; once the answer is cached they go through the rings.
    fetch "overlay server" "http://$PEERAPP:8080/ready.txt" || exit 1
    wait_stat "\"cachedRoutes\":[1-9]" 30 || say "no cached engine route: $(stat_json)"
    say "engine warm"
    transfer engine 9981 9982 "http://$PEERAPP:8080/data.bin"
    say "engine stat $(stat_json)"
    say "engine done"
    # The host switches the engine off for the group now; the agent learns it from the region and the host's push.
    wait_stat "\"group\":\"$GROUP\",\"region\"[^}]*\"enabled\":false" 120 || { say "engine never switched off: $(stat_json)"; exit 1; }
    say "engine off"
    fetch "overlay server (sealed)" "http://$PEERAPP:8080/ready.txt" || exit 1
    transfer sealed 9983 9984 "http://$PEERAPP:8080/data.bin"
    transfer plain 9985 9986 "http://$PEERIP:8081/data.bin"
    say "final stat $(stat_json)"
    say "client done"
    forever
}

sealed_scenario() {
    SIZE="${SIZE:-4194304}"
    say "start role=$ROLE app=$APP appip=$APPIP uptime=$(uptime_s)"
    wait_agent
    say "agent answering uptime=$(uptime_s)"
    show_net before

    if [ "$ROLE" = server ]; then
        mkdir -p /srv/www
        # The payload is full of a plaintext marker, so a capture can tell whether any of it crossed the wire in clear.
        yes "OVK-PLAINTEXT-MARKER-4d1f-" | head -c "$SIZE" > /srv/www/data.bin
        say "payload bytes=$(size_of /srv/www/data.bin) sha256=$(sha_of /srv/www/data.bin)"
        # Plain comparison server on eth0 (not an overlay app): the throughput baseline over the same virtio-net.
        httpd -f -p "$MYIP:8081" -h /srv/www &
        plain=$!
        web="$(start_app "$APP" "$APPIP" httpd -f -p "$APPIP:8080" -h /srv/www)" || exit 1
        show_net during
        echo ready > /srv/www/ready.txt
        say "server ready uptime=$(uptime_s)"
        # The client says "done" in clear on eth0 once it has fetched everything.
        nc -l -p 9999 > /tmp/done.txt
        say "client said $(cat /tmp/done.txt)"
        stop_app "$web"
        kill "$plain"
        wait_no_adapter
        show_net after
        say "server done"
        exit 0
    fi

    # client
    i=0
    until wget -q -O /tmp/ready.txt "http://$PEERIP:8081/ready.txt" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 300 ] || { say "server never became ready"; exit 1; }
        sleep 1
    done
    t0="$(uptime_s)"; wget -q -O /tmp/plain.bin "http://$PEERIP:8081/data.bin"; rc=$?; t1="$(uptime_s)"
    say "plain rc=$rc bytes=$(size_of /tmp/plain.bin) seconds=$(echo "$t0 $t1" | awk '{ printf "%.2f", $2 - $1 }') sha256=$(sha_of /tmp/plain.bin)"
    rm -f /tmp/plain.bin

    # A first app process keeps the client's registration (count 1) while the transfer runs as a second one.
    holder="$(start_app "$APP" "$APPIP" sleep 600)" || exit 1
    ADAPTER="$(ip -o link show | grep -o 'ovk[0-9a-f]*' | head -n1)"
    # No route of our own: the agent routes the group's space to the adapter in the main table (R0.9), so the
    # unmodified wget, which does not bind its overlay address, reaches the peer as is.
    ip route show | grep "$ADAPTER" | sed 's/^/vm-scenario: main route /'
    show_net during
    t0="$(uptime_s)"
    overlay-agent run --control "$CONTROL" --app "$APP" -- wget -q -O /tmp/sealed.bin "http://$PEERAPP:8080/data.bin"
    rc=$?; t1="$(uptime_s)"
    say "sealed rc=$rc bytes=$(size_of /tmp/sealed.bin) seconds=$(echo "$t0 $t1" | awk '{ printf "%.2f", $2 - $1 }') sha256=$(sha_of /tmp/sealed.bin)"
    overlay-agent stat --control "$CONTROL" | sed 's/^/vm-scenario: stat /'
    stop_app "$holder"
    wait_no_adapter
    show_net after
    echo "done" | nc "$PEERIP" 9999
    say "client done"
}

ROLE="$(arg role)"; APP="$(arg app)"; APPIP="$(arg appip)"; PEERAPP="$(arg peerapp)"; PEERIP="$(arg peerip)"
GROUP="$(arg group)"; SIZE="$(arg size)"
MYIP="$(arg ip)"; MYIP="${MYIP%/*}"
case "$(arg scenario)" in
    ""|engine) engine_scenario ;;
    sealed) sealed_scenario ;;
    *) say "unknown overlaykvm.scenario=$(arg scenario) (engine or sealed)"; exit 1 ;;
esac
