#!/usr/bin/env bash
# Long fuzzing run of one target (or all, one after another) and its figures: executions per second and paths found.
# Usage: bench/fuzz.sh TARGET|all MINUTES
#   targets: sealed-frame negotiation channel-host channel-agent engine-region ring hook-xml api-json (docs/fuzzing.md)
# Findings stay in artifacts/fuzz/findings/TARGET (crashes/ and hangs/ inside); replay one with
#   dotnet artifacts/bin/OverlayKvm.Fuzz/debug/OverlayKvm.Fuzz.dll TARGET --replay FILE
# and, once fixed, commit it under tests/OverlayKvm.Fuzz/Crashes/TARGET/. New paths worth keeping as seeds are in
# artifacts/fuzz/findings/TARGET/default/queue/.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: bench/fuzz.sh TARGET|all MINUTES}
minutes=${2:?usage: bench/fuzz.sh TARGET|all MINUTES}
scripts/setup.sh
dotnet build tests/OverlayKvm.Fuzz/OverlayKvm.Fuzz.csproj -c Debug -nologo -v q -clp:NoSummary >/dev/null
if [ "$target" = all ]; then
  targets=(sealed-frame negotiation channel-host channel-agent engine-region ring hook-xml api-json)
else
  targets=("$target")
fi
status=0
for t in "${targets[@]}"; do
  tests/OverlayKvm.Fuzz/afl-run.sh "$t" $((minutes * 60)) "artifacts/fuzz/findings/$t" || status=1
done
exit "$status"
