#!/usr/bin/env bash
# The namespace demo (scripts/demo.sh --namespaces; the main job before real VMs): on the embedded default (SQLite, this host only): installs what is missing, builds, starts
# overlayd on a fresh state directory, declares a group with two apps in two "VMs" (network namespaces, each
# running the real guest agent), and shows the apps talking over the overlay: overlayd pushes each agent its
# configuration over the host channel, the agents bring up the adapters when the apps start, and the traffic
# crosses the underlay sealed. Leaves nothing running (Ctrl-C included); state and logs stay in $DEMO_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces and TUN devices)" >&2; exit 1; }
scripts/setup.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build OverlayKvm.sln -c Debug -nologo -v q -clp:NoSummary >/dev/null

DEMO_DIR=${DEMO_DIR:-/tmp/overlaykvm-demo}
bin=$PWD/artifacts/bin
overlayd=$bin/OverlayKvm.HostDaemon/debug/overlayd
overlayctl=$bin/OverlayKvm.Cli/debug/overlayctl
agent=$bin/OverlayKvm.GuestAgent/debug/overlay-agent
sock=$DEMO_DIR/overlayd.sock
vms=(vm1 vm2)
declare -A underlay=([vm1]=10.77.0.1 [vm2]=10.77.0.2)
pids=()

cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  # Whatever still runs inside the demo's namespaces (agents, apps) is ours too: stop it before removing them.
  for vm in "${vms[@]}"; do ip netns pids "okvm-demo-$vm" 2>/dev/null | xargs -r kill 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  sleep 0.5
  for vm in "${vms[@]}"; do ip netns pids "okvm-demo-$vm" 2>/dev/null | xargs -r kill -9 2>/dev/null; ip netns del "okvm-demo-$vm" 2>/dev/null; done
  echo "demo: stopped overlayd and the agents, removed the namespaces; state and logs in $DEMO_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for vm in "${vms[@]}"; do
  ip netns pids "okvm-demo-$vm" 2>/dev/null | xargs -r kill -9 2>/dev/null || true   # left by an interrupted run
  ip netns del "okvm-demo-$vm" 2>/dev/null || true
done
rm -rf "$DEMO_DIR" && mkdir -p "$DEMO_DIR/channels"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ctl() { echo "+ overlayctl $*"; "$overlayctl" -c "$sock" "$@"; }
in_vm() { local vm=$1; shift; ip netns exec "okvm-demo-$vm" "$@"; }

step "Two VMs (network namespaces) on an underlay: vm1 ${underlay[vm1]}, vm2 ${underlay[vm2]}"
ip netns add okvm-demo-vm1; ip netns add okvm-demo-vm2
ip -n okvm-demo-vm1 link add eth0 type veth peer name eth0 netns okvm-demo-vm2
for vm in "${vms[@]}"; do
  ip -n "okvm-demo-$vm" addr add "${underlay[$vm]}/24" dev eth0
  ip -n "okvm-demo-$vm" link set eth0 up; ip -n "okvm-demo-$vm" link set lo up
done

step "overlayd on the embedded SQLite store ($DEMO_DIR/state)"
# The namespace demo has no libvirt domains: keep overlayd's libvirt event service off, and its engine regions (which
# no namespace maps: there is no ivshmem device) in the demo's folder rather than the host's /dev/shm.
mkdir -p "$DEMO_DIR/shm"
OVERLAYKVM_LIBVIRT__EVENTSERVICEENABLED=false OVERLAYKVM_ENGINE__DIRECTORY="$DEMO_DIR/shm" "$overlayd" --socket "$sock" --state-dir "$DEMO_DIR/state" --channel-dir "$DEMO_DIR/channels" \
  --host-name demo-host --host-address 10.77.0.254 >"$DEMO_DIR/overlayd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do "$overlayctl" -c "$sock" version >/dev/null 2>&1 && break; sleep 0.1; done
ctl version

step "Declare the group, the VMs and the apps"
ctl group-define web --cidr 10.1.0.0/16
ctl domain-define vm1 --address "${underlay[vm1]}"
ctl domain-define vm2 --address "${underlay[vm2]}"
ctl app-define web frontend --domain vm1 --address 10.1.0.1
ctl app-define web backend --domain vm2 --address 10.1.0.2
echo "+ overlayctl app-define web rogue --domain vm1 --address 10.2.0.9    # refused: outside the group's space"
"$overlayctl" -c "$sock" app-define web rogue --domain vm1 --address 10.2.0.9 || echo "  (exit $?)"
ctl app-list

step "Start the guest agents; overlayd connects to their host channels and pushes their configuration"
for vm in "${vms[@]}"; do
  mkdir -p "$DEMO_DIR/$vm"
  ip netns exec "okvm-demo-$vm" "$agent" serve --channel-socket "$DEMO_DIR/channels/$vm.agent.sock" --control "$DEMO_DIR/$vm/control.sock" \
    --state-dir "$DEMO_DIR/$vm/state" >"$DEMO_DIR/$vm/agent.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 100); do
  [ "$("$overlayctl" -c "$sock" --json channel-list | grep -oE '"acknowledgedVersion": ?[1-9]' | wc -l)" = 2 ] && break; sleep 0.2
done
ctl channel-list

step "Start the apps with 'overlay-agent run': the adapter comes up with the first app of the group"
ip netns exec okvm-demo-vm2 "$agent" run --app backend --control "$DEMO_DIR/vm2/control.sock" -- \
  socat TCP-LISTEN:7000,bind=10.1.0.2,reuseaddr,fork SYSTEM:'sha256sum | cut -c1-16' >"$DEMO_DIR/vm2/backend.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do in_vm vm2 ss -ltn 2>/dev/null | grep -q 10.1.0.2:7000 && break; sleep 0.1; done
echo "vm2 routing for the app (ip rule / adapter):"
in_vm vm2 ip rule | grep 10.1.0.2 | sed 's/^/  /'
in_vm vm2 ip -brief addr | grep -v -E '^(lo|eth0)' | sed 's/^/  /'

step "frontend (vm1, 10.1.0.1) sends 8 MiB to backend (vm2, 10.1.0.2) while tcpdump watches the underlay"
in_vm vm1 timeout 20 tcpdump -ni eth0 -c 4 -q udp 2>/dev/null | sed 's/^/  underlay: /' &
dump=$!
sleep 1
head -c 8388608 /dev/urandom >"$DEMO_DIR/payload"
sent=$(sha256sum <"$DEMO_DIR/payload" | cut -c1-16)
got=$(in_vm vm1 "$agent" run --app frontend --control "$DEMO_DIR/vm1/control.sock" -- \
  socat -t 5 - TCP:10.1.0.2:7000,bind=10.1.0.1 <"$DEMO_DIR/payload")
wait "$dump" 2>/dev/null || true
echo "sha256 sent by frontend:        $sent"
echo "sha256 computed by backend:     $got"
[ "$sent" = "$got" ] && echo "=> identical: the apps talked over the overlay, sealed on the wire" || { echo "=> MISMATCH" >&2; exit 1; }

step "Counters of the agents (per group and path; drops by reason)"
for vm in "${vms[@]}"; do echo "-- $vm"; "$agent" stat --control "$DEMO_DIR/$vm/control.sock"; done

step "Rotate the group's key: a new configuration version reaches both agents; the apps are untouched"
ctl credentials-rotate web --grace 60
sleep 1
ctl channel-list
