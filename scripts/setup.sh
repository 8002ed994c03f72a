#!/usr/bin/env bash
# Installs what OverlayKvm needs on a Debian 12 host, only what is missing (idempotent, fast when done).
# Used by scripts/demo.sh and scripts/test.sh; safe to run by hand.
set -euo pipefail

need_pkgs=(
  iproute2          # netns, veth, ip rule/route: the guest agent and the namespace tests
  tcpdump           # underlay captures in the integration tests
  libsodium23       # X25519 (libsodium.so.23)
  libvirt0          # libvirt.so.0: overlayd's own binding
  libvirt-clients   # virsh, used by tests and the demo to show what libvirt sees
  libvirt-daemon-system
  qemu-system-x86   # TCG guests for the end-to-end tier
  qemu-utils        # qemu-img: the Debian VM test boots from a qcow2 overlay of the cached image
  dnsmasq-base      # DHCP of libvirt networks: the domain-address test learns a guest's lease (issue 11)
  sqlite3           # inspecting the embedded store by hand
  socat             # the demo's unmodified client and server apps
  gcc               # Native AOT links the guest agent and the hook with it
  etcd-server       # the cluster store (overlayd --store etcd) and its 3-member test fixture
  etcd-client       # etcdctl: the secrets-at-rest test dumps the store with it
  lintian           # packaging/deb: the packaging tests check both .deb files with it
  afl++             # afl-fuzz: the fuzz targets' bounded runs (tests/OverlayKvm.Fuzz, docs/fuzzing.md)
  strace            # holds afl-fuzz after the fork-server handshake (AflStartupRaceTests, docs/fuzzing.md)
  dbus-daemon       # a private bus for the agent's systemd-unit follower tests (UnitFollowerServiceTests)
  prometheus        # promtool: DomainStatTests checks overlayd's /metrics text with `promtool check metrics`
)

missing=()
for p in "${need_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/overlaykvm-apt.log 2>&1; then
    apt-get update >>/tmp/overlaykvm-apt.log 2>&1
    apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/overlaykvm-apt.log 2>&1 || {
      echo "setup: apt-get install failed; see /tmp/overlaykvm-apt.log" >&2; tail -n 20 /tmp/overlaykvm-apt.log >&2; exit 1; }
  fi
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET 10 SDK is missing (dotnet not on PATH); install it from https://dot.net and run again" >&2
  exit 1
fi
sdk_major=$(dotnet --version | cut -d. -f1)
if [ "$sdk_major" -lt 10 ]; then
  echo "setup: .NET SDK $(dotnet --version) found, OverlayKvm needs 10 or later" >&2
  exit 1
fi

# Repository-local .NET tools (.config/dotnet-tools.json): sharpfuzz instruments the fuzz targets' assemblies.
if ! (cd "$(dirname "$0")/.." && dotnet tool restore >/tmp/overlaykvm-tools.log 2>&1); then
  echo "setup: dotnet tool restore failed; see /tmp/overlaykvm-tools.log" >&2
  tail -n 20 /tmp/overlaykvm-tools.log >&2
  exit 1
fi
