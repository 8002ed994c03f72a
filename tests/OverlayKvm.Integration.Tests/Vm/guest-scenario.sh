#!/bin/sh
# Guest side of the VM end-to-end test (tests/OverlayKvm.Integration.Tests/Vm): baked into the image with
# build.sh --extra and started by init beside the agent (overlaykvm.test=/bin/vm-scenario). Every result is one
# "vm-scenario: ..." line on the serial console, which the host test reads and asserts on.
#
# Kernel command line (set by the test):
#   overlaykvm.role=server|client  overlaykvm.app=NAME  overlaykvm.appip=ADDR (overlay)
#   overlaykvm.peerapp=ADDR (the other VM's app, overlay)  overlaykvm.peerip=ADDR (the other VM's eth0)
#   overlaykvm.size=BYTES (transfer size)
# Unmodified busybox programs only: httpd serves, wget fetches, sha256sum checks, nc signals "done".

CONTROL=/run/oa.sock
say() { echo "vm-scenario: $*"; }
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^overlaykvm\.$1=//p" | head -n1; }
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
show_net() { # $1: label; the adapter, addresses and policy rules as the test asserts on them
    ip -o link show | grep -o 'ovk[0-9a-f]*' | sort -u | sed "s/^/vm-scenario: $1 link /"
    ip -o link show | grep -q 'ovk[0-9a-f]' || say "$1 link none"
    ip rule show | grep -v 'lookup \(local\|main\|default\)' | sed "s/^/vm-scenario: $1 rule /"
    ip -o -4 addr show | awk '{ print $2, $4 }' | sed "s/^/vm-scenario: $1 addr /"
}
# Stops a wrapper started by start_app (not our child: start_app runs in a command substitution) and waits.
stop_app() {
    kill "$1"
    i=0; while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); usleep 100000; done
}
# Starts `overlay-agent run --app APP -- CMD...` in the background once the agent knows the app (the host may
# still be pushing the configuration) and waits until the app's address is on the adapter (the wrapper registers
# before it starts the command; the agent adds the address, then the source rule); prints the wrapper's pid.
start_app() {
    app="$1"; addr="$2"; shift 2
    i=0
    while [ $i -lt 120 ]; do
        overlay-agent run --control "$CONTROL" --app "$app" -- "$@" </dev/null >"/tmp/app-$app.log" 2>&1 &
        pid=$!
        j=0
        while kill -0 "$pid" 2>/dev/null && [ $j -lt 100 ]; do
            if ip -o -4 addr show | grep -q " $addr/32 " && ip rule show | grep -q "from $addr lookup"; then
                echo "$pid"; return 0
            fi
            j=$((j + 1)); usleep 100000
        done
        kill "$pid" 2>/dev/null
        i=$((i + 1)); sleep 1
    done
    say "app $app never started: $(cat "/tmp/app-$app.log")"
    return 1
}

ROLE="$(arg role)"; APP="$(arg app)"; APPIP="$(arg appip)"; PEERAPP="$(arg peerapp)"; PEERIP="$(arg peerip)"
SIZE="$(arg size)"; SIZE="${SIZE:-4194304}"
MYIP="$(arg ip)"; MYIP="${MYIP%/*}"
say "start role=$ROLE app=$APP appip=$APPIP uptime=$(uptime_s)"

i=0
while ! overlay-agent stat --control "$CONTROL" >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 600 ] || { say "agent control socket $CONTROL never answered"; exit 1; }
    usleep 100000
done
say "agent answering uptime=$(uptime_s)"
show_net before

if [ "$ROLE" = server ]; then
    mkdir -p /srv/www
    # The payload is full of a plaintext marker, so a capture can tell whether any of it crossed the wire in clear.
    yes "OVK-PLAINTEXT-MARKER-4d1f-" | head -c "$SIZE" > /srv/www/data.bin
    say "payload bytes=$(size_of /srv/www/data.bin) sha256=$(sha256sum /srv/www/data.bin | cut -d' ' -f1)"
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
    i=0; while ip -o link show | grep -q ovk && [ $i -lt 50 ]; do i=$((i + 1)); usleep 100000; done
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
say "plain rc=$rc bytes=$(size_of /tmp/plain.bin) seconds=$(echo "$t0 $t1" | awk '{ printf "%.2f", $2 - $1 }') sha256=$(sha256sum /tmp/plain.bin | cut -d' ' -f1)"
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
say "sealed rc=$rc bytes=$(size_of /tmp/sealed.bin) seconds=$(echo "$t0 $t1" | awk '{ printf "%.2f", $2 - $1 }') sha256=$(sha256sum /tmp/sealed.bin | cut -d' ' -f1)"
overlay-agent stat --control "$CONTROL" | sed 's/^/vm-scenario: stat /'
stop_app "$holder"
i=0; while ip -o link show | grep -q ovk && [ $i -lt 50 ]; do i=$((i + 1)); usleep 100000; done
show_net after
echo "done" | nc "$PEERIP" 9999
say "client done"
