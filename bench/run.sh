#!/usr/bin/env bash
# Runs OverlayKvm's benchmarks and prints their figures. Installs the comparison tools the tests don't need.
# Usage: bench/run.sh [all|api|throughput|policy|cluster|path|idle|aead|micro]   (default: all)
#   cluster: change propagation across two hosts on a 3-member etcd (p50/p99 over 200 changes) and documents
#            recomputed per change at 10,000 apps on 3 hosts
#   path: whole engine path vs sealed path vs veth (two agents + overlayd in two namespaces; see bench/README.md),
#         once per TUN offload mode in PATH_OFFLOADS (default "on,off"); PATH_SECONDS, PATH_ROUNDS as before;
#         PATH_CIPHER=aegis-256 defines the group with that cipher (default chacha20-poly1305)
#   idle: the same set-up, only the agents' idle CPU over 10 s (per agent and per thread)
#   aead: OpenSSL vs libsodium (NSec) ChaCha20-Poly1305 and AEGIS-256, seal/open GB/s at 64 and 1,400 bytes
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
extra=(iperf3 wireguard-go wireguard-tools nebula iputils-ping)
missing=()
for p in "${extra[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
dotnet build OverlayKvm.sln -c Release -nologo -v q -clp:NoSummary >/dev/null
bench=artifacts/bin/OverlayKvm.Bench/release/OverlayKvm.Bench
# The namespace harness runs the agent as guests do: Native AOT (no tiered JIT at idle or under load).
aot_agent() {
  local out=artifacts/publish/overlay-agent-aot
  dotnet publish guest-agent -c Release -r linux-x64 -p:PublishAot=true -o "$out" -nologo -v q -clp:NoSummary >/dev/null
  echo "$out/overlay-agent"
}
what=${1:-all}
case "$what" in all|api) "$bench" api-throughput 2000 ;; esac
case "$what" in all|throughput) "$bench" throughput 10 artifacts/bin/OverlayKvm.GuestAgent/release/overlay-agent ;; esac
case "$what" in all|policy) "$bench" policy-cost 10000 ;; esac
case "$what" in all|cluster) "$bench" change-propagation 200 release; "$bench" document-recompute 20 ;; esac
case "$what" in all|path) "$bench" engine-path "${PATH_SECONDS:-10}" "${PATH_ROUNDS:-2}" release "$(aot_agent)" "${PATH_OFFLOADS:-on,off}" ;; esac
case "$what" in idle) "$bench" engine-path 0 0 release "$(aot_agent)" "${PATH_OFFLOADS:-on}" ;; esac
case "$what" in all|aead) "$bench" aead-compare 1 5 ;; esac
case "$what" in all|micro) "$bench" --filter '*' --job short --memory ;; esac
