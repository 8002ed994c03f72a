#!/usr/bin/env bash
# The main job, on real VMs: installs what is missing, builds (overlayd, overlayctl; the guest agent with Native
# AOT and the guest image, both cached under /var/cache/overlaykvm/guest), starts virtlogd/libvirtd if they are not
# running, starts overlayd on the embedded SQLite store, declares group "web" with app "client" in VM 1 and app
# "server" in VM 2, defines the two tiny VMs (TCG, direct kernel boot) with only our metadata — overlayd's libvirt
# event service equips them (the group's ivshmem region, the agent's virtio-serial channel, the anti-spoofing
# nwfilter) — boots them and shows the apps exchanging data: first
# through the hypervisor's shared-memory back channel (the engine: ivshmem rings, never on a network), then — the
# engine switched off for the group — sealed over the VMs' virtio-net, then plain for scale; same SHA-256 at both
# ends each time; overlayctl's counters (channel-list, engine-stat) and the client agent's own. On exit or Ctrl-C it
# destroys and undefines the VMs, removes the network, the engine region and the runtime files, and stops every
# process it started (by PID). State and logs stay in $DEMO_DIR. Idempotent; a second run reuses the caches.
#
#   scripts/demo.sh               the real-VM demo (this file)
#   scripts/demo.sh --namespaces  the earlier demo: network namespaces stand in for the VMs (scripts/demo-namespaces.sh)
#   scripts/demo.sh --cluster     etcd + two hosts (namespaces) with a group spanning them (scripts/demo-cluster.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  --namespaces) exec scripts/demo-namespaces.sh ;;
  --cluster) exec scripts/demo-cluster.sh ;;
  "") ;;
  *) echo "usage: scripts/demo.sh [--namespaces|--cluster]" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it starts libvirtd and VMs)" >&2; exit 1; }

ROOT=$PWD
DEMO_DIR=${DEMO_DIR:-/tmp/overlaykvm-vmdemo}
CACHE=${OVERLAYKVM_GUEST_CACHE:-/var/cache/overlaykvm/guest}
URI=qemu:///system
GROUP=web
VMS=(okvm-demo-vm1 okvm-demo-vm2)
NET=okvm-demo-net
BRIDGE=okvmdemobr0
REGION=/dev/shm/overlaykvm-$GROUP
SIZE=${DEMO_BYTES:-4194304}
SCENARIO=$ROOT/packaging/guest-image/scenarios/two-apps.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
bin=$ROOT/artifacts/bin
overlayd=$bin/OverlayKvm.HostDaemon/debug/overlayd
overlayctl=$bin/OverlayKvm.Cli/debug/overlayctl
sock=$DEMO_DIR/overlayd.sock
pids=()            # processes this run started (overlayd, tcpdump, libvirtd, virtlogd), stopped by PID on exit
started_daemons=() # "name:pid" of virtlogd/libvirtd this run started
libvirt_mask=""

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; phase_start=$(date +%s%N); }
took() { printf '   (%s took %.1f s)\n' "$1" "$(( $(date +%s%N) - phase_start ))e-9"; }
ctl() { echo "+ overlayctl $*"; "$overlayctl" -c "$sock" "$@"; }
virsh_q() { virsh -q -c "$URI" "$@"; }
serial() { echo "$DEMO_DIR/$1/serial.log"; }
# Waits (≤ $3 s) until the serial log of VM $1 has a line containing $2; prints that line.
wait_line() {
  local deadline=$(( $(date +%s) + $3 ))
  until grep -a -m1 -- "$2" "$(serial "$1")" 2>/dev/null; do
    [ "$(date +%s)" -lt $deadline ] || { echo "demo: $1 printed no '$2' within $3 s; its console ends with:" >&2; tail -n 25 "$(serial "$1")" >&2; return 1; }
    pause 0.5
  done
}
# A value for a sed replacement inside XML text: &, | and \ escaped for sed, double quotes as &quot;.
xml_sed_escape() { printf '%s' "$1" | sed -e 's/[&|\\]/\\&/g' -e 's/"/\\\&quot;/g'; }
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# Removes what a demo run creates (also what an interrupted earlier run left): VMs, network, region, runtime files.
remove_demo_objects() {
  for vm in "${VMS[@]}"; do
    virsh_q domstate "$vm" >/dev/null 2>&1 || continue
    virsh_q destroy "$vm" >/dev/null 2>&1 || true
    virsh_q undefine "$vm" >/dev/null 2>&1 || true
  done
  if virsh_q net-info "$NET" >/dev/null 2>&1; then
    virsh_q net-destroy "$NET" >/dev/null 2>&1 || true
    virsh_q net-undefine "$NET" >/dev/null 2>&1 || true
  fi
  rm -f "$REGION"
}

cleanup() {
  local rc=$?
  set +e
  # The trap may fire inside a command whose output is redirected (wait_line ... >/dev/null): back to the terminal.
  exec 1>&"$out_fd" 2>&"$err_fd"
  # A second Ctrl-C must not cut the cleanup short (VMs and daemons would be left behind).
  trap - EXIT
  trap '' INT TERM
  step "Cleaning up"
  if [ -n "${libvirt_up:-}" ]; then remove_demo_objects; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  # libvirtd before virtlogd (the domains' consoles went through it).
  for ((i = ${#started_daemons[@]} - 1; i >= 0; i--)); do
    name=${started_daemons[$i]%%:*}; pid=${started_daemons[$i]#*:}
    kill "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "stopped $name (pid $pid)"
  done
  [ -z "$libvirt_mask" ] || rm -rf "$libvirt_mask"
  rm -rf "$DEMO_DIR/channels" "$DEMO_DIR/run"
  rm -f "$sock"
  took cleanup
  echo "demo: VMs, network, engine region and processes removed; state and logs in $DEMO_DIR"
  exit $rc
}
exec {out_fd}>&1 {err_fd}>&2
# Ctrl-C reaches the terminal's foreground process group: the daemons run in sessions of their own (setsid), so
# they are still there for the cleanup to use (libvirtd to destroy the VMs) and are then stopped by PID.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Waits that a signal interrupts at once (a foreground sleep would delay the trap).
pause() { sleep "$1" & wait $! || true; }

step "Prerequisites (scripts/setup.sh: Debian packages, .NET SDK)"
scripts/setup.sh
took prerequisites

step "Build overlayd and overlayctl"
dotnet build hostd/OverlayKvm.HostDaemon.csproj -c Debug -nologo -v q -clp:NoSummary >/dev/null
dotnet build cli/OverlayKvm.Cli.csproj -c Debug -nologo -v q -clp:NoSummary >/dev/null
took build

step "Guest agent (Native AOT, cached by the hash of its sources) and guest image (cached by its inputs)"
scripts/demo-guest-build.sh "$SCENARIO" "$CACHE/demo-image"
KERNEL=$(sed -n 's/^KERNEL=//p' "$CACHE/demo-image/image.env")
INITRD=$(sed -n 's/^INITRD=//p' "$CACHE/demo-image/image.env")
took "agent + image"

step "libvirtd ($URI)"
mkdir -p "$DEMO_DIR"
if virsh -c "$URI" list >/dev/null 2>&1; then
  echo "libvirtd already answers"
else
  # Started the way the tests' LibvirtdFixture does (docs/libvirt.md): where /dev/kvm is root-only, libvirt 9.0
  # re-probes QEMU on almost every call (define takes seconds to minutes); a private mount namespace with
  # /dev/kvm masked keeps its capability cache valid. Our domains are TCG, so nothing is lost.
  if ! pgrep -x virtlogd >/dev/null; then
    setsid virtlogd >>"$DEMO_DIR/virtlogd.log" 2>&1 & pids+=($!); started_daemons+=("virtlogd:$!")
  fi
  if [ -e /dev/kvm ] && [ "$(( $(stat -c '0%a' /dev/kvm) & 066 ))" = 0 ]; then
    libvirt_mask=$(mktemp -d /run/overlaykvm-demo-XXXXXX)
    : >"$libvirt_mask/kvm"; chmod 600 "$libvirt_mask/kvm"
    { cat /etc/libvirt/qemu.conf; printf '\n# overlaykvm demo: see scripts/demo.sh\nnamespaces = [ ]\n'; } >"$libvirt_mask/qemu.conf"
    setsid unshare --mount --propagation private -- /bin/sh -c \
      'mount --bind "$0" /dev/kvm && mount --bind "$1" /etc/libvirt/qemu.conf && exec /usr/sbin/libvirtd' \
      "$libvirt_mask/kvm" "$libvirt_mask/qemu.conf" >>"$DEMO_DIR/libvirtd.log" 2>&1 &
  else
    setsid /usr/sbin/libvirtd >>"$DEMO_DIR/libvirtd.log" 2>&1 &
  fi
  pids+=($!); started_daemons+=("libvirtd:$!")
  for _ in $(seq 180); do virsh -c "$URI" list >/dev/null 2>&1 && break; sleep 0.25; done
  virsh -c "$URI" list >/dev/null || { echo "demo: libvirtd did not answer within 45 s" >&2; exit 1; }
  echo "started ${started_daemons[*]} (log: $DEMO_DIR/libvirtd.log)"
fi
libvirt_up=1
remove_demo_objects   # left by an interrupted run
took libvirtd

step "overlayd on the embedded SQLite store ($DEMO_DIR/state)"
rm -rf "$DEMO_DIR/state" "$DEMO_DIR/channels" "${VMS[@]/#/$DEMO_DIR/}"
mkdir -p "$DEMO_DIR/channels"
# QEMU (user libvirt-qemu) binds the agents' channel sockets in overlayd's channel directory.
chmod 711 "$DEMO_DIR"; chmod 755 "$DEMO_DIR/channels"
# overlayd's libvirt event service watches $URI: a domain defined with our metadata is equipped by overlayd itself.
setsid "$overlayd" --socket "$sock" --state-dir "$DEMO_DIR/state" \
  --channel-dir "$DEMO_DIR/channels" --host-name demo-host --host-address 192.168.124.1 >"$DEMO_DIR/overlayd.log" 2>&1 &
pids+=($!)
for _ in $(seq 150); do "$overlayctl" -c "$sock" group-list >/dev/null 2>&1 && break; sleep 0.1; done
ctl version
took overlayd

step "Declare group $GROUP, the two VMs and their apps; overlayd lays out the group's engine region"
ctl group-define "$GROUP" --cidr 10.1.0.0/16
ctl domain-define "${VMS[0]}" --address 192.168.124.11
ctl domain-define "${VMS[1]}" --address 192.168.124.12
ctl app-define "$GROUP" client --domain "${VMS[0]}" --address 10.1.0.1
ctl app-define "$GROUP" server --domain "${VMS[1]}" --address 10.1.0.2
for _ in $(seq 100); do [ -e "$REGION" ] && break; sleep 0.1; done
echo "region before any VM starts: $(stat -c '%n %U %a %s bytes' "$REGION")"
took declare

step "Define and boot the VMs (isolated libvirt network $NET, bridge $BRIDGE)"
printf "<network><name>%s</name><bridge name='%s' stp='off' delay='0'/></network>\n" "$NET" "$BRIDGE" >"$DEMO_DIR/network.xml"
virsh_q net-define "$DEMO_DIR/network.xml" >/dev/null
virsh_q net-start "$NET" >/dev/null
# The phase marks (SYNs to ports 9981..9986) give the transfers' durations on the host clock.
setsid tcpdump -i "$BRIDGE" -n -tt -l 'tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0 and dst portrange 9981-9986' \
  >"$DEMO_DIR/marks.txt" 2>/dev/null & pids+=($!)
declare -A role=([okvm-demo-vm1]=client [okvm-demo-vm2]=server) ip=([okvm-demo-vm1]=192.168.124.11 [okvm-demo-vm2]=192.168.124.12)
declare -A appip=([okvm-demo-vm1]=10.1.0.1 [okvm-demo-vm2]=10.1.0.2)
for vm in "${VMS[@]}"; do
  peer=${VMS[0]}; [ "$vm" = "$peer" ] && peer=${VMS[1]}
  mkdir -p "$DEMO_DIR/$vm"; chmod 755 "$DEMO_DIR/$vm"; rm -f "$(serial "$vm")"
  cmdline="console=ttyS0 panic=-1 quiet no_timer_check overlaykvm.ip=${ip[$vm]}/24 overlaykvm.agent=\"serve --control /run/oa.sock --state-dir /tmp/oa\""
  cmdline+=" overlaykvm.test=/bin/two-apps overlaykvm.role=${role[$vm]} overlaykvm.app=${role[$vm]} overlaykvm.appip=${appip[$vm]}"
  cmdline+=" overlaykvm.peerapp=${appip[$peer]} overlaykvm.peerip=${ip[$peer]} overlaykvm.group=$GROUP overlaykvm.size=$SIZE"
  # Only our metadata (group and app), no OverlayKvm device: overlayd adds those when libvirt reports the definition.
  sed -e "s|@NAME@|$vm|" -e "s|@MEMORY_MIB@|384|" -e "s|@KERNEL@|$KERNEL|" -e "s|@INITRD@|$INITRD|" \
      -e "s|@CMDLINE@|$(xml_sed_escape "$cmdline")|" -e "s|@SERIAL_LOG@|$(serial "$vm")|" \
      -e "s|@GROUP@|$GROUP|" -e "s|@APP@|${role[$vm]}|" \
      -e "s|@INTERFACE@|    <interface type='network'><source network='$NET'/><model type='virtio'/></interface>|" \
      xml-templates/e2e/demo-domain.xml >"$DEMO_DIR/$vm/domain.xml"
  virsh_q define "$DEMO_DIR/$vm/domain.xml" >/dev/null
done
for vm in "${VMS[@]}"; do
  for _ in $(seq 100); do
    virsh_q dumpxml --inactive "$vm" | grep -q "org.overlaykvm.agent.0" && break
    pause 0.1
  done
  equipped=$(virsh_q dumpxml --inactive "$vm")
  grep -q "org.overlaykvm.agent.0" <<<"$equipped" || { echo "demo: overlayd did not equip $vm within 10 s (see $DEMO_DIR/overlayd.log)" >&2; exit 1; }
  echo "$vm equipped by overlayd: $(grep -o "<shmem name='[^']*'" <<<"$equipped" | sed "s/<shmem name=/shmem /"), channel org.overlaykvm.agent.0," \
    "$(grep -o "<filterref filter='[^']*'" <<<"$equipped" | sed "s/<filterref filter=/nwfilter /") on its interface"
done
declare -A started_at
for vm in "${VMS[1]}" "${VMS[0]}"; do
  started_at[$vm]=$(date +%s%N)
  virsh_q start "$vm" >/dev/null
  echo "started $vm"
done
for vm in "${VMS[@]}"; do
  wait_line "$vm" "overlaykvm-init: up " 120 >/dev/null
  printf '%s: kernel to /init %.1f s after virsh start\n' "$vm" "$(( $(date +%s%N) - started_at[$vm] ))e-9"
done
took boot

step "The agents connect over virtio-serial, take their configuration and register their apps with the engine"
deadline=$(( $(date +%s) + 120 ))
until [ "$("$overlayctl" -c "$sock" --json engine-stat | grep -oE '"domain": ?"okvm-demo-vm[12]"' | sort -u | wc -l)" = 2 ]; do
  [ "$(date +%s)" -lt $deadline ] || { echo "demo: the agents did not register within 120 s (see $DEMO_DIR/*/serial.log)" >&2; exit 1; }
  for vm in "${VMS[@]}"; do
    [ "$(virsh_q domstate "$vm" 2>/dev/null)" != "shut off" ] ||
      { echo "demo: $vm powered off (its agent exited); its console ends with:" >&2; tail -n 15 "$(serial "$vm")" >&2; exit 1; }
  done
  pause 0.3
done
printf 'both apps registered %.1f s after the first virsh start\n' "$(( $(date +%s%N) - started_at[${VMS[1]}] ))e-9"
ctl channel-list
ctl engine-stat
took registration

step "client (VM 1, 10.1.0.1) fetches $SIZE bytes from server (VM 2, 10.1.0.2) through the engine"
wait_line "${VMS[1]}" "vm-scenario: payload " 120 | sed 's/^/  VM 2: /'
wait_line "${VMS[0]}" "vm-scenario: engine done" 180 >/dev/null
sent=$(field "$(grep -a -m1 'vm-scenario: payload ' "$(serial "${VMS[1]}")")" sha256)
engine=$(grep -a -m1 'vm-scenario: engine rc=' "$(serial "${VMS[0]}")")
echo "  VM 1: $engine"
[ "$(field "$engine" sha256)" = "$sent" ] && echo "=> identical: the apps talked through the hypervisor's back channel" || { echo "=> MISMATCH" >&2; exit 1; }
ctl engine-stat
took "engine transfer"

step "Engine off for group $GROUP: the same fetch goes sealed over virtio-net, then plain for scale"
ctl engine-disable "$GROUP"
wait_line "${VMS[0]}" "vm-scenario: client done" 180 >/dev/null
for path in sealed plain; do
  line=$(grep -a -m1 "vm-scenario: $path rc=" "$(serial "${VMS[0]}")")
  echo "  VM 1: $line"
  [ "$(field "$line" sha256)" = "$sent" ] || { echo "=> $path: MISMATCH" >&2; exit 1; }
done
echo "=> identical on every path"
took "sealed + plain transfers"

step "Counters"
ctl channel-list
ctl engine-stat
echo "client agent (VM 1), overlay-agent stat --json at the end:"
grep -a -m1 'vm-scenario: final stat ' "$(serial "${VMS[0]}")" | sed 's/^.*final stat /  /'
echo "throughput (host clock between the phase marks on $BRIDGE; TCG, so for scale only):"
awk -v size="$SIZE" '{ n = split($5, a, "."); port = a[n]; sub(":", "", port); if (!(port in t)) t[port] = $1 }
  END { n = split("engine 9981 9982 sealed 9983 9984 plain 9985 9986", p, " ");
        for (i = 1; i <= n; i += 3) if ((p[i+1] in t) && (p[i+2] in t)) { s = t[p[i+2]] - t[p[i+1]];
          printf "  %-7s %7.2f MB/s  (%.3f s)\n", p[i], size / 1e6 / s, s } }' "$DEMO_DIR/marks.txt"
took counters
