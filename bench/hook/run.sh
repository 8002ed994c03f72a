#!/usr/bin/env bash
# Publishes overlay-hook with Native AOT (as packaged) and measures its latency; also measures the JIT build
# when it exists, for comparison. Usage: bench/hook/run.sh [N]   (default 100 invocations per case)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${TMPDIR:-/tmp}/overlaykvm-hook-aot"
dotnet publish qemu-hooks -c Release -p:PublishAot=true -r linux-x64 -o "$out" -nologo -v q -clp:NoSummary
echo "== Native AOT"
python3 bench/hook/measure_hook_latency.py "$out/overlay-hook" "${1:-100}"
jit=artifacts/bin/OverlayKvm.QemuHook/debug/overlay-hook
if [ -x "$jit" ]; then
  echo "== JIT (debug build, for comparison)"
  DOTNET_ROOT="$(dirname "$(readlink -f "$(command -v dotnet)")")" python3 bench/hook/measure_hook_latency.py "$jit" "${1:-100}"
fi
