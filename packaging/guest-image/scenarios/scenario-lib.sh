#!/bin/sh
# Shared helpers of the guest scenarios (two-apps.sh, cluster-apps.sh): a test or the demo builds this into the guest
# image as /bin/scenario-lib beside its scenario (build.sh --extra), which sources it. Results are "vm-scenario: ..."
# lines on the serial console; the overlay-agent's control socket is $CONTROL.

CONTROL=/run/oa.sock
say() { echo "vm-scenario: $*"; }
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^overlaykvm\.$1=//p" | head -n1; }
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
sha_of() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
stat_json() { overlay-agent stat --json --control "$CONTROL" 2>/dev/null | tr -d ' \n'; }
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
# Waits (≤ $2 s) until the agent's stat (JSON, spaces removed) matches the extended regex $1.
# Iterations, not the clock: a TCG guest's clock can jump by a minute. Each round takes ≥ 0.5 s (stat + sleep).
wait_stat() {
    i=0
    while ! stat_json | grep -Eq "$1"; do
        i=$((i + 1)); [ $i -lt $(($2 * 2)) ] || return 1
        usleep 300000
    done
}
forever() { while true; do sleep 3600; done; }
# Waits until the agent answers on its control socket (≤ 60 s); ends the scenario if it never does.
wait_agent() {
    i=0
    while ! overlay-agent stat --control "$CONTROL" >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 600 ] || { say "agent control socket $CONTROL never answered"; exit 1; }
        usleep 100000
    done
}
