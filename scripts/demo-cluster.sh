#!/usr/bin/env bash
# The cluster demo (scripts/demo.sh --cluster): a 3-member etcd on loopback and two "hosts" on one machine, each a
# network namespace with its own overlayd on the etcd store, its "VMs" namespaces behind it running the real guest
# agent, the hosts joined by an underlay bridge. One group spans both hosts: vm-a1 → vm-b crosses the underlay
# sealed, vm-a1 → vm-a2 stays on host A through its engine; then host B's overlayd is killed (host-list shows it
# down, host A's agent counts no-route) and started again (traffic resumes). Leaves nothing running (Ctrl-C
# included): processes stopped by PID, namespaces removed; state and logs stay in $DEMO_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces and TUN devices)" >&2; exit 1; }
scripts/setup.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build OverlayKvm.sln -c Debug -nologo -v q -clp:NoSummary >/dev/null

DEMO_DIR=${DEMO_DIR:-/tmp/overlaykvm-cluster-demo}
TTL=${DEMO_LEASE_TTL:-4}
bin=$PWD/artifacts/bin
overlayd=$bin/OverlayKvm.HostDaemon/debug/overlayd
overlayctl=$bin/OverlayKvm.Cli/debug/overlayctl
agent=$bin/OverlayKvm.GuestAgent/debug/overlay-agent
endpoints=http://127.0.0.1:33391,http://127.0.0.1:33392,http://127.0.0.1:33393
namespaces=(okvm-cl-under okvm-cl-ha okvm-cl-hb okvm-cl-a1 okvm-cl-a2 okvm-cl-b)
declare -A vm_host=([a1]=ha [a2]=ha [b]=hb) vm_addr=([a1]=10.77.1.11 [a2]=10.77.1.12 [b]=10.77.2.21)
declare -A host_name=([ha]=hA [hb]=hB) host_addr=([ha]=192.168.77.1 [hb]=192.168.77.2)
pids=()
declare -A daemon_pid=()

cleanup() {
  set +e
  for ns in "${namespaces[@]}"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null; done
  for p in "${pids[@]}" "${daemon_pid[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}" "${daemon_pid[@]}"; do wait "$p" 2>/dev/null; done
  for ns in "${namespaces[@]}"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null; ip netns del "$ns" 2>/dev/null; done
  echo "demo: stopped etcd, both overlayd, the agents; removed the namespaces; state and logs in $DEMO_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for ns in "${namespaces[@]}"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; done
rm -rf "$DEMO_DIR" && mkdir -p "$DEMO_DIR"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ctl() { local h=$1; shift; echo "+ [${host_name[$h]}] overlayctl $*"; "$overlayctl" -c "$DEMO_DIR/$h/overlayd.sock" "$@"; }
in_ns() { local ns=$1; shift; ip netns exec "okvm-cl-$ns" "$@"; }

step "etcd: 3 members on loopback ($endpoints)"
cluster=m1=http://127.0.0.1:33491,m2=http://127.0.0.1:33492,m3=http://127.0.0.1:33493
for i in 1 2 3; do
  etcd --name "m$i" --data-dir "$DEMO_DIR/etcd/m$i" --listen-client-urls "http://127.0.0.1:3339$i" --advertise-client-urls "http://127.0.0.1:3339$i" \
    --listen-peer-urls "http://127.0.0.1:3349$i" --initial-advertise-peer-urls "http://127.0.0.1:3349$i" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token okvm-demo >"$DEMO_DIR/etcd-m$i.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 100); do ETCDCTL_API=3 etcdctl --endpoints "$endpoints" endpoint health >/dev/null 2>&1 && break; sleep 0.2; done
ETCDCTL_API=3 etcdctl --endpoints "$endpoints" endpoint health

step "Underlay bridge, two hosts (hA ${host_addr[ha]}, hB ${host_addr[hb]}), VMs behind them"
for ns in "${namespaces[@]}"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip -n okvm-cl-under link add clbr0 type bridge; ip -n okvm-cl-under link set clbr0 up
for h in ha hb; do
  ip -n okvm-cl-under link add "ul$h" type veth peer name ul netns "okvm-cl-$h"
  ip -n okvm-cl-under link set "ul$h" master clbr0; ip -n okvm-cl-under link set "ul$h" up
  ip -n "okvm-cl-$h" addr add "${host_addr[$h]}/24" dev ul; ip -n "okvm-cl-$h" link set ul up
  in_ns "${h}" sysctl -qw net.ipv4.ip_forward=1
done
declare -A host_gw=([ha]=10.77.1.1 [hb]=10.77.2.1)
for h in ha hb; do ip -n "okvm-cl-$h" link add vms type bridge; ip -n "okvm-cl-$h" addr add "${host_gw[$h]}/24" dev vms; ip -n "okvm-cl-$h" link set vms up; done
for vm in a1 a2 b; do
  h=${vm_host[$vm]}
  ip -n "okvm-cl-$h" link add "p$vm" type veth peer name eth0 netns "okvm-cl-$vm"
  ip -n "okvm-cl-$h" link set "p$vm" master vms; ip -n "okvm-cl-$h" link set "p$vm" up
  ip -n "okvm-cl-$vm" addr add "${vm_addr[$vm]}/24" dev eth0; ip -n "okvm-cl-$vm" link set eth0 up
  ip -n "okvm-cl-$vm" route add default via "${host_gw[$h]}"
done
ip -n okvm-cl-ha route add 10.77.2.0/24 via "${host_addr[hb]}"
ip -n okvm-cl-hb route add 10.77.1.0/24 via "${host_addr[ha]}"

step "overlayd on each host, one etcd store, one cluster key (lease TTL $TTL s)"
head -c 32 /dev/urandom >"$DEMO_DIR/cluster.key"; chmod 0600 "$DEMO_DIR/cluster.key"
start_daemon() {
  local h=$1
  mkdir -p "$DEMO_DIR/$h/channels" "$DEMO_DIR/$h/shm"
  # overlayd itself stays in the root namespace: etcd listens on loopback and the agents' channels are unix sockets.
  OVERLAYKVM_LIBVIRT__EVENTSERVICEENABLED=false OVERLAYKVM_ENGINE__DIRECTORY="$DEMO_DIR/$h/shm" "$overlayd" \
    --socket "$DEMO_DIR/$h/overlayd.sock" --state-dir "$DEMO_DIR/$h/state" --channel-dir "$DEMO_DIR/$h/channels" \
    --host-name "${host_name[$h]}" --host-address "${host_addr[$h]}" --store etcd --etcd-endpoints "$endpoints" \
    --cluster-key "$DEMO_DIR/cluster.key" --lease-ttl "$TTL" >>"$DEMO_DIR/$h/overlayd.log" 2>&1 &
  daemon_pid[$h]=$!
  for _ in $(seq 100); do "$overlayctl" -c "$DEMO_DIR/$h/overlayd.sock" version >/dev/null 2>&1 && return; sleep 0.1; done
  echo "overlayd on ${host_name[$h]} did not start; see $DEMO_DIR/$h/overlayd.log" >&2; exit 1
}
start_daemon ha; start_daemon hb
ctl ha host-list

step "Group web across the hosts: client on vm-a1 and near on vm-a2 (host hA), server on vm-b (host hB)"
ctl ha group-define web --cidr 10.1.0.0/16
ctl ha domain-define vm-a1 --address "${vm_addr[a1]}" --host hA
ctl ha domain-define vm-a2 --address "${vm_addr[a2]}" --host hA
ctl hb domain-define vm-b --address "${vm_addr[b]}" --host hB
ctl ha app-define web client --domain vm-a1 --address 10.1.0.1
ctl ha app-define web near --domain vm-a2 --address 10.1.0.3
ctl hb app-define web server --domain vm-b --address 10.1.0.2
ctl hb directory-list

step "Guest agents; each host's overlayd pushes its own VMs' documents"
for vm in a1 a2 b; do
  h=${vm_host[$vm]}; mkdir -p "$DEMO_DIR/$vm"
  in_ns "$vm" "$agent" serve --channel-socket "$DEMO_DIR/$vm/channel.sock" --control "$DEMO_DIR/$vm/control.sock" \
    --state-dir "$DEMO_DIR/$vm/state" --engine-dir "$DEMO_DIR/$h/shm" >"$DEMO_DIR/$vm/agent.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [ -S "$DEMO_DIR/$vm/channel.sock" ] && break; sleep 0.1; done
  ln -sf "$DEMO_DIR/$vm/channel.sock" "$DEMO_DIR/$h/channels/vm-$vm.agent.sock"
done
sleep 2
ctl ha channel-list; ctl hb channel-list

step "Apps: server on vm-b and near on vm-a2 listen (socat, unmodified); each answers with the SHA-256 it received"
in_ns b "$agent" run --app server --control "$DEMO_DIR/b/control.sock" -- \
  socat TCP-LISTEN:7000,bind=10.1.0.2,reuseaddr,fork SYSTEM:'sha256sum | cut -c1-16' >"$DEMO_DIR/b/server.log" 2>&1 &
pids+=($!)
in_ns a2 "$agent" run --app near --control "$DEMO_DIR/a2/control.sock" -- \
  socat TCP-LISTEN:7000,bind=10.1.0.3,reuseaddr,fork SYSTEM:'sha256sum | cut -c1-16' >"$DEMO_DIR/a2/near.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do in_ns b ss -ltn 2>/dev/null | grep -q 10.1.0.2:7000 && in_ns a2 ss -ltn 2>/dev/null | grep -q 10.1.0.3:7000 && break; sleep 0.1; done
head -c 8388608 /dev/urandom >"$DEMO_DIR/payload"
sent=$(sha256sum <"$DEMO_DIR/payload" | cut -c1-16)
send() { in_ns a1 "$agent" run --app client --control "$DEMO_DIR/a1/control.sock" -- socat -t 5 - "TCP:$1:7000,bind=10.1.0.1" <"$DEMO_DIR/payload"; }

step "vm-a1 (hA) -> vm-b (hB): 8 MiB, sealed across the underlay (tcpdump on the underlay bridge)"
ctl ha route-explain web/client web/server
in_ns under timeout 20 tcpdump -ni clbr0 -c 4 -q ip 2>/dev/null | sed 's/^/  underlay: /' &
dump=$!; sleep 1
got=$(send 10.1.0.2); wait "$dump" 2>/dev/null || true
echo "sha256 sent $sent, received by server on hB $got"; [ "$sent" = "$got" ] || { echo "=> MISMATCH" >&2; exit 1; }

step "vm-a1 (hA) -> vm-a2 (hA): 8 MiB through host A's engine (nothing on the wire)"
ctl ha route-explain web/client web/near
got=$(send 10.1.0.3)
echo "sha256 sent $sent, received by near on hA $got"; [ "$sent" = "$got" ] || { echo "=> MISMATCH" >&2; exit 1; }
"$agent" stat --control "$DEMO_DIR/a1/control.sock"

step "Host B's overlayd killed (kill -9): within $TTL s + a poll its lease expires"
kill -9 "${daemon_pid[hb]}"; wait "${daemon_pid[hb]}" 2>/dev/null || true
sleep $((TTL + 2))
ctl ha host-list
ctl ha route-explain web/client web/server || true
in_ns a1 "$agent" run --app client --control "$DEMO_DIR/a1/control.sock" -- socat -T 2 - "UDP:10.1.0.2:9,bind=10.1.0.1" <<<"ping" || true
echo "vm-a1's drops (no-route counts what it did not send to host B):"
"$agent" stat --control "$DEMO_DIR/a1/control.sock" | grep -i -E 'no-route|drop' || true

step "Host B's overlayd back: it registers again and traffic resumes by itself"
start_daemon hb
sleep 2
ctl ha host-list
got=$(send 10.1.0.2)
echo "sha256 sent $sent, received by server on hB $got"; [ "$sent" = "$got" ] || { echo "=> MISMATCH" >&2; exit 1; }
echo "=> one group across two hosts: sealed between them, the engine within host A, and back after host B's restart"
