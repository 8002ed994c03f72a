#!/usr/bin/env bash
# scripts/demo-guest-build.sh SCENARIO OUT_DIR: the guest agent published with Native AOT and the guest image
# holding it and SCENARIO (as /bin/two-apps, with the scenarios' shared helpers beside it as /bin/scenario-lib),
# both cached. The agent's cache key is the same hash of its inputs that the VM tests use
# (tests/OverlayKvm.Integration.Tests/Vm/AotAgent.cs: every file under guest-agent/ and core/ outside bin/ and obj/,
# plus the build props; path, newline, content, in ordinal order), so the demo and the tests
# share /var/cache/overlaykvm/guest/agent-aot/HASH/{overlay-agent,libsodium.so} and an unchanged agent is never
# published twice. The directory is complete only with both (AEGIS-256 groups need the bundled libsodium.so).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: scripts/demo-guest-build.sh SCENARIO OUT_DIR" >&2; exit 2; }
scenario=$1 out=$2
cache=${OVERLAYKVM_GUEST_CACHE:-/var/cache/overlaykvm/guest}

hash=$({ find guest-agent core -type f | grep -v -e '/bin/' -e '/obj/'; echo Directory.Build.props; echo Directory.Packages.props; } |
  LC_ALL=C sort | while IFS= read -r rel; do [ -f "$rel" ] || continue; printf '%s\n' "$rel"; cat "$rel"; done | sha256sum | cut -c1-16)
agent=$cache/agent-aot/$hash/overlay-agent
lib=$cache/agent-aot/$hash/libsodium.so
if [ -x "$agent" ] && [ -f "$lib" ]; then
  echo "Native AOT agent up to date ($agent)"
else
  echo "publishing the guest agent with Native AOT (about a minute; cached afterwards)"
  staging=$(mktemp -d "$cache/agent-aot/publish-XXXXXX" 2>/dev/null || { mkdir -p "$cache/agent-aot"; mktemp -d "$cache/agent-aot/publish-XXXXXX"; })
  trap 'rm -rf "$staging"' EXIT
  dotnet publish guest-agent/OverlayKvm.GuestAgent.csproj -c Release -r linux-x64 -p:PublishAot=true -o "$staging" -nologo -v q >"$staging.log" 2>&1 ||
    { echo "demo: Native AOT publish failed (needs gcc and the ILCompiler packages):" >&2; tail -n 30 "$staging.log" >&2; exit 1; }
  rm -f "$staging.log"
  [ -f "$staging/libsodium.so" ] || { echo "demo: the agent's publish has no libsodium.so (core's NuGet libsodium package)" >&2; exit 1; }
  mkdir -p "$(dirname "$agent")"
  # The library first, the binary last: a reader that finds both finds them whole.
  mv "$staging/libsodium.so" "$lib.tmp" && mv "$lib.tmp" "$lib"
  mv "$staging/overlay-agent" "$agent.tmp" && mv "$agent.tmp" "$agent"
fi
packaging/guest-image/build.sh --agent "$agent" --extra "$scenario:/bin/two-apps" \
  --extra "$(dirname "$scenario")/scenario-lib.sh:/bin/scenario-lib" --out "$out" >/dev/null
