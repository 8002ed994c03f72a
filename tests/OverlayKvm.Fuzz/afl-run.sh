#!/usr/bin/env bash
# Runs one fuzz target under afl-fuzz for a bounded time and prints one summary line:
#   afl-run: TARGET: N s, execs=E, execs/s=R, paths=P, crashes=C, hangs=H, findings=DIR
# Usage: tests/OverlayKvm.Fuzz/afl-run.sh TARGET SECONDS FINDINGS_DIR
# Needs a Debug build of tests/OverlayKvm.Fuzz (artifacts/bin/OverlayKvm.Fuzz/debug), afl-fuzz (Debian afl++) and the
# sharpfuzz tool (`dotnet tool restore`; scripts/setup.sh does both). The assemblies under test are instrumented on a
# copy of the build output (artifacts/fuzz/instrumented), redone only when the build is newer, so ordinary builds
# and tests never see instrumented code. The seeds are tests/OverlayKvm.Fuzz/Corpus/TARGET. Exit 3: a prerequisite is
# missing (the message names it); otherwise afl-fuzz's status.
# AFL_RUN_PREFIX (optional): a command line put before afl-fuzz, e.g. strace holding it at a chosen system call
# (AflStartupRaceTests uses it to write the first seed late).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
target=${1:?usage: afl-run.sh TARGET SECONDS FINDINGS_DIR}
seconds=${2:?usage: afl-run.sh TARGET SECONDS FINDINGS_DIR}
findings=${3:?usage: afl-run.sh TARGET SECONDS FINDINGS_DIR}
build=$repo/artifacts/bin/OverlayKvm.Fuzz/debug
instrumented=$repo/artifacts/fuzz/instrumented
corpus=$repo/tests/OverlayKvm.Fuzz/Corpus/$target

command -v afl-fuzz >/dev/null || { echo "afl-run: afl-fuzz is missing: install the Debian package afl++ (scripts/setup.sh does)" >&2; exit 3; }
[ -f "$build/OverlayKvm.Fuzz.dll" ] || { echo "afl-run: $build/OverlayKvm.Fuzz.dll is missing: dotnet build tests/OverlayKvm.Fuzz first" >&2; exit 3; }
[ -d "$corpus" ] && [ -n "$(ls -A "$corpus")" ] || { echo "afl-run: no seeds in $corpus (unknown target '$target'?)" >&2; exit 3; }
(cd "$repo" && dotnet tool run sharpfuzz >/dev/null 2>&1) || { echo "afl-run: the sharpfuzz tool is missing: run 'dotnet tool restore' in $repo (scripts/setup.sh does)" >&2; exit 3; }

if [ ! -f "$instrumented/.stamp" ] || [ -n "$(find "$build" -name '*.dll' -newer "$instrumented/.stamp" | head -n 1)" ]; then
  rm -rf "$instrumented"
  mkdir -p "$instrumented"
  cp -a "$build/." "$instrumented/"
  # Only OverlayKvm's own code: the framework and packages are not the parsers under test. Two at a time: most of
  # each sharpfuzz run is the tool's own start-up.
  pids=()
  for dll in overlayd.dll overlay-agent.dll OverlayKvm.Core.dll overlay-hook.dll; do
    (cd "$repo" && dotnet tool run sharpfuzz "$instrumented/$dll" >"$instrumented/$dll.sharpfuzz.log" 2>&1) &
    pids+=($!)
    if [ ${#pids[@]} -eq 2 ]; then
      for p in "${pids[@]}"; do wait "$p" || { echo "afl-run: sharpfuzz failed (see $instrumented/*.sharpfuzz.log)" >&2; exit 1; }; done
      pids=()
    fi
  done
  touch "$instrumented/.stamp"
fi

rm -rf "$findings"
mkdir -p "$findings"
# afl-fuzz kills the target at the end, so its fixtures never clean up: give them a directory removed here.
scratch=$(mktemp -d /dev/shm/fz-afl-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
export OVERLAYKVM_FUZZ_SCRATCH=$scratch
# No binary check (the target is dotnet, instrumented in IL), no UI, no CPU pinning (the machine is shared), quick
# calibration; the fixtures are built before SharpFuzz answers the fork-server handshake, hence the long init timeout.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_FAST_CAL=1 \
  AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_FORKSRV_INIT_TMOUT=60000 DOTNET_CLI_TELEMETRY_OPTOUT=1
# AFL_RUN_SEED: a fixed seed for afl's mutations (the test command sets one, so a run explores the same inputs each
# time and a failure there is a finding to fix, not luck); unset for long runs (bench/fuzz.sh).
set +e
${AFL_RUN_PREFIX:-} afl-fuzz -i "$corpus" -o "$findings" ${AFL_RUN_SEED:+-s "$AFL_RUN_SEED"} -V "$seconds" -t 10000 -m none -- dotnet "$instrumented/OverlayKvm.Fuzz.dll" "$target" \
  >"$findings/afl.log" 2>&1
rc=$?
set -e
stats=$findings/default/fuzzer_stats
if [ ! -f "$stats" ]; then
  echo "afl-run: $target: afl-fuzz produced no statistics (exit $rc); last lines of $findings/afl.log:" >&2
  tail -n 15 "$findings/afl.log" >&2
  exit $(( rc == 0 ? 1 : rc ))
fi
stat() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
echo "afl-run: $target: $seconds s, execs=$(stat execs_done), execs/s=$(stat execs_per_sec), paths=$(stat corpus_count), crashes=$(stat saved_crashes), hangs=$(stat saved_hangs), findings=$findings"
exit "$rc"
