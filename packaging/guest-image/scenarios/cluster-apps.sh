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
# stat): a transfer is always running, so a test can migrate the peer under it (issue 15, VmMigrationTests). Round 1
# also carries a 1 ms ICMP echo stream to the peer's app address (ping_stream, label "overlay"): over the overlay an
# echo is an app packet like a UDP datagram, so its missing replies are the gap the apps see.
# With overlaykvm.plainip=ADDR (role=plain's eth0): before each round, once that VM serves, the client runs once,
# instead of a round, the streams without a transfer (to app server, then to that VM) and the measurement of round 1
# against that VM (fetches and echoes over the underlay): the baseline of a VM without OverlayKvm (plain_phase).
#
# role=plain: a VM without OverlayKvm (the baseline): serves SIZE bytes on its eth0 address once its ivshmem device
# was hot-detached (libvirt refuses to migrate it), so the client starts only when the VM can migrate.

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

# A 1 ms ICMP echo stream to $2 (from source address $3 if given) for $4 s of the guest's clock, replies in
# /tmp/ping-$1.txt; "ping $1 begin|end" and, every ~0.2 s, "pingseq $1 SEQ" (the last complete reply's seq) lines
# the host stamps with its clock to place the missing replies in time; then "ping $1 summary ..." (ping_summary).
ping_stream() {
    f="/tmp/ping-$1.txt"
    say "ping $1 begin"
    t0="$(uptime_s)"
    if [ -n "$3" ]; then ping -i 0.001 -w "$4" -I "$3" "$2" >"$f" 2>&1 & else ping -i 0.001 -w "$4" "$2" >"$f" 2>&1 & fi
    pp=$!
    while kill -0 "$pp" 2>/dev/null; do
        say "pingseq $1 $(tail -n 2 "$f" | head -n 1 | sed -n 's/.* seq=\([0-9]*\) .*/\1/p')"
        usleep 200000
    done
    say "ping $1 end"
    say "ping $1 summary $(ping_summary "$f" "$(echo "$t0 $(uptime_s)" | awk '{ printf "%d", ($2 - $1) * 1000 }')")"
}

# $2: the stream's length in ms (guest clock). tx= rx= (ping's own statistics), maxseq= (highest seq answered),
# longest=RUN@SEQ (longest run of seqs below maxseq never answered, and its first seq), maxrtt= (ms: an echo answered
# late, e.g. held while a path switched), silence=MS@SEQ (longest time without any reply, the reply of SEQ ending it;
# a reply's arrival taken as SEQ x the stream's mean interval + its RTT: ping prints no arrival time), runs=K (runs of ≥ 3 missing) and list=SEQ+RUN,... (the first 100
# of them), error= (a line ping printed that is none of these, e.g. why it stopped). Seqs are 16-bit: a stream stays below 65536 echoes (≤ 60 s at 1 ms).
ping_summary() {
    awk -v span="$2" '
        / seq=/ { s = $0; sub(/.* seq=/, "", s); sub(/ .*/, "", s); s += 0; got[s] = 1; if (s > max) max = s
                  t = $0; sub(/.* time=/, "", t); sub(/ ms.*/, "", t); t += 0; if (t > rtt) rtt = t
                  seqs[++n] = s; rtts[n] = t }
        /packets transmitted/ { tx = $1; rx = $4 }
        !/ seq=|^PING |packets transmitted|^round-trip|statistics ---|^$/ { err = $0 }
        END {
            period = tx > 0 ? span / tx : 0; last = -1; sil = 0; silat = -1
            for (j = 1; j <= n; j++) {
                a = seqs[j] * period + rtts[j]
                if (last >= 0 && a - last > sil) { sil = a - last; silat = seqs[j] }
                if (a > last) last = a
            }
            run = 0; best = 0; at = -1; k = 0; list = ""
            for (i = 0; i <= max + 1; i++) {
                if ((i in got) || i > max) {
                    if (run >= 3) { k++; if (k <= 100) list = list (list == "" ? "" : ",") (i - run) "+" run }
                    run = 0
                } else { run++; if (run > best) { best = run; at = i - run + 1 } }
            }
            printf "tx=%d rx=%d maxseq=%d longest=%d@%d maxrtt=%.1f silence=%.0f@%d span=%d runs=%d list=%s error=%s\n", tx, rx, max, best, at, rtt, sil, silat, span, k, list, err
        }' "$1"
}

# Once, when the baseline VM serves (its ivshmem is gone). First the streams alone, nothing beside them (under TCG a
# transfer beside a stream distorts it: round 1's sealed path held echoes for seconds and dropped many), while the host
# migrates one VM under each: "overlay-quiet" to app server (vm2, moved hA -> hB again), "plain-quiet" to the baseline
# VM (moved hA -> hB). Then "plain": the stream and back-to-back fetches of its file over the underlay until the stream
# ends, while it moves back ("plain fetch K rc= bytes=" each, "progress BYTES" as in a round; no sha256 between
# fetches: hashing would stop the transfer and read as a stall).
plain_phase() {
    touch /tmp/plain.done
    ping_stream overlay-quiet "$SEALED" "$APPIP" 35
    ping_stream plain-quiet "$PLAINIP" "" 35
    say "plain begin"
    ping_stream plain "$PLAINIP" "" 40 & ps=$!
    progress & p=$!
    k=0
    while kill -0 "$ps" 2>/dev/null; do
        rm -f /tmp/got.bin
        wget -q -O /tmp/got.bin "http://$PLAINIP:8080/data.bin"; rc=$?
        k=$((k + 1)); say "plain fetch $k rc=$rc bytes=$(size_of /tmp/got.bin)"
    done
    kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
    say "plain end"
}

# timeout, not wget -T: this image's busybox wget crashes with -T (SIGSEGV, Debian 1.35.0-4+deb12u1).
plain_ready() {
    [ -n "$PLAINIP" ] && [ ! -e /tmp/plain.done ] && timeout 3 wget -q -O /dev/null "http://$PLAINIP:8080/ready.txt" 2>/dev/null
}

rounds() {
    n=1
    while true; do
        plain_ready && plain_phase
        rm -f /tmp/got.bin
        say "round $n begin stat $(stat_json)"
        progress & p=$!
        ps=""
        [ "$n" = 1 ] && { ping_stream overlay "$SEALED" "$APPIP" 40 & ps=$!; }
        wget -q -O /tmp/got.bin "http://$SEALED:8080/data.bin"; rc=$?
        kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
        [ -n "$ps" ] && wait "$ps"
        say "round $n rc=$rc bytes=$(size_of /tmp/got.bin) sha256=$(sha_of /tmp/got.bin) stat $(stat_json)"
        n=$((n + 1)); sleep 1
    done
}

plain() {
    i=0
    while grep -qs 0x1110 /sys/bus/pci/devices/*/device; do
        i=$((i + 1)); [ $i -lt 1500 ] || { say "ivshmem device still present after 300 s"; exit 1; }
        usleep 200000
    done
    mkdir -p /srv/www
    yes "OVK-PLAIN-VM-BASELINE-" | head -c "$SIZE" > /srv/www/data.bin
    ip="$(arg ip)"
    httpd -f -p "${ip%/*}:8080" -h /srv/www &
    echo ready > /srv/www/ready.txt
    say "plain ready"
    forever
}

ROLE="$(arg role)"; APP="$(arg app)"; APPIP="$(arg appip)"; SIZE="$(arg size)"; SIZE="${SIZE:-4194304}"
SEALED="$(arg sealedpeer)"; SEALEDIP="$(arg sealedpeerip)"; ENGINE="$(arg enginepeer)"; ENGINEIP="$(arg enginepeerip)"
PLAINIP="$(arg plainip)"
say "start role=$ROLE app=$APP appip=$APPIP"
[ "$ROLE" = plain ] && plain
wait_agent
say "agent answering"
case "$ROLE" in
    server) server ;;
    client) client ;;
    *) say "unknown overlaykvm.role=$ROLE (server or client)"; exit 1 ;;
esac
