#!/usr/bin/env bash
# Runs every OverlayKvm test (unit, network-namespace integration, libvirt end-to-end), installing what is
# missing first. Ends with one line: "N passed, N failed[, N skipped]". Exit status 0 only if nothing failed.
# Usage: scripts/test.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Store]
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh || exit 1

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
if ! dotnet build OverlayKvm.sln -c Debug -nologo -v q -clp:NoSummary -warnaserror; then
  echo "0 passed, 1 failed (build failed)"
  exit 1
fi

results=artifacts/test-results
rm -rf "$results"
mkdir -p "$results"
# One TRX per test assembly; a test host that crashes leaves no TRX and is counted as a failure below.
dotnet test OverlayKvm.sln -c Debug --no-build -nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" "$@"
test_rc=$?

projects=$(ls tests/*/*.Tests.csproj | wc -l)
trx_count=$(ls "$results"/*.trx 2>/dev/null | wc -l)
read -r passed failed skipped < <(
  cat "$results"/*.trx 2>/dev/null | grep -o '<Counters [^>]*>' | awk '
    { for (i = 1; i <= NF; i++) { split($i, kv, "=\""); v = kv[2]; sub(/".*/, "", v);
        if (kv[1] == "passed") p += v; if (kv[1] == "failed") f += v; if (kv[1] == "error") f += v;
        if (kv[1] == "notExecuted") s += v; } }
    END { printf "%d %d %d\n", p, f, s }')
if [ "$trx_count" -lt "$projects" ]; then
  echo "test: $((projects - trx_count)) test assembly(ies) produced no results (crashed test host?)" >&2
  failed=$((failed + projects - trx_count))
fi
if [ "$test_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "test: dotnet test exited $test_rc with no failed test recorded" >&2
  failed=1
fi
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
