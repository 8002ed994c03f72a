#!/usr/bin/env bash
# The main job on the embedded default (SQLite, this host only): installs what is missing, builds, starts
# overlayd on a fresh state directory, and drives it with overlayctl the way an operator would.
# Leaves nothing running: overlayd is stopped on exit, Ctrl-C included. State stays in $DEMO_DIR for a look.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build OverlayKvm.sln -c Debug -nologo -v q -clp:NoSummary >/dev/null

DEMO_DIR=${DEMO_DIR:-/tmp/overlaykvm-demo}
bin=artifacts/bin
overlayd=$bin/OverlayKvm.HostDaemon/debug/overlayd
overlayctl=$bin/OverlayKvm.Cli/debug/overlayctl
rm -rf "$DEMO_DIR" && mkdir -p "$DEMO_DIR"
sock=$DEMO_DIR/overlayd.sock

"$overlayd" --socket "$sock" --state-dir "$DEMO_DIR/state" --host-name demo-host >"$DEMO_DIR/overlayd.log" 2>&1 &
daemon=$!
cleanup() { kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null; echo "demo: overlayd stopped; state and log in $DEMO_DIR"; }
trap cleanup EXIT

for _ in $(seq 100); do [ -S "$sock" ] && "$overlayctl" -c "$sock" version >/dev/null 2>&1 && break; sleep 0.1; done
ctl() { echo "+ overlayctl $*"; "$overlayctl" -c "$sock" "$@"; }

ctl version
ctl group-define web --cidr 10.1.0.0/16
ctl group-define db --cidr 10.2.0.0/16
ctl domain-define vm1 --address 192.168.122.11
ctl domain-define vm2 --address 192.168.122.12
ctl app-define web frontend --domain vm1 --object /etc/frontend.conf=file:///srv/overlaykvm/frontend.conf
ctl app-define web backend --domain vm2
ctl app-define db postgres --domain vm2 --address 10.2.0.5
ctl group-list
ctl app-list
echo "+ overlayctl app-define web rogue --domain vm1 --address 10.2.0.9   # refused: outside web's space"
"$overlayctl" -c "$sock" app-define web rogue --domain vm1 --address 10.2.0.9 || echo "  (exit $?)"
ctl credentials-rotate web --grace 60
ctl group-info web
ctl domain-config vm1
