#!/usr/bin/env bash
# Builds the two Debian packages of OverlayKvm with dpkg-deb (no debhelper, no network beyond NuGet restore):
#
#   overlaykvm-host_VERSION_amd64.deb   overlayd (self-contained single file), overlayctl and overlay-hook
#                                       (Native AOT), overlayd.service, /etc/overlaykvm/overlayd.json, the hook
#                                       link in /etc/libvirt/hooks/qemu.d/, sysusers/tmpfiles entries
#   overlay-agent_VERSION_amd64.deb     overlay-agent (Native AOT) with its libsodium.so, overlay-agent.service, its udev rule,
#                                       systemd generator and /etc/overlay-agent/apps.d/
#
#   packaging/deb/build.sh [--version V] [--out DIR] [--cache DIR]
#
# --version  package version (default: packaging/deb/VERSION)
# --out      where the .deb files go (default: $CACHE/out/VERSION-STAMP); their paths are printed, one a line
# --cache    default /var/cache/overlaykvm/deb (env OVERLAYKVM_DEB_CACHE)
#
# Every publish is cached by the hash of its inputs (its project's and core's sources, the build props), so an
# unchanged tree publishes nothing; the agent shares the VM tests' cache (/var/cache/overlaykvm/guest/agent-aot,
# same hash as tests/OverlayKvm.Integration.Tests/Vm/AotAgent.cs and scripts/demo-guest-build.sh). The packages
# themselves are cached by those hashes, the packaging files, the two READMEs they carry and the version.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
CACHE="${OVERLAYKVM_DEB_CACHE:-/var/cache/overlaykvm/deb}"
AGENT_CACHE="${OVERLAYKVM_GUEST_CACHE:-/var/cache/overlaykvm/guest}/agent-aot"
VERSION="$(cat "$SCRIPT_DIR/VERSION")"
OUT=""

die() { echo "deb: error: $*" >&2; exit 1; }
say() { echo "deb: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --version) [ $# -ge 2 ] || die "--version needs a value"; VERSION="$2"; shift 2 ;;
        --out) [ $# -ge 2 ] || die "--out needs a directory"; OUT="$2"; shift 2 ;;
        --cache) [ $# -ge 2 ] || die "--cache needs a directory"; CACHE="$2"; shift 2 ;;
        -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done
[[ "$VERSION" =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "--version '$VERSION' is not a Debian version"
for tool in dpkg-deb dotnet gzip md5sum strip; do command -v "$tool" >/dev/null || die "$tool is missing (scripts/setup.sh installs it)"; done
mkdir -p "$CACHE" "$AGENT_CACHE"
exec 9>"$CACHE/.lock"
flock 9   # one builder at a time: parallel test runs share the publishes

# The hash of a tree's inputs: every file under the given folders outside bin/ and obj/, plus the build props;
# path, newline, content, in ordinal order (the VM tests' AotAgent.InputHash does the same for the agent).
input_hash() {
    (cd "$REPO" && { find "$@" -type f | grep -v -e '/bin/' -e '/obj/'; echo Directory.Build.props; echo Directory.Packages.props; } |
        LC_ALL=C sort | while IFS= read -r rel; do [ -f "$rel" ] || continue; printf '%s\n' "$rel"; cat "$rel"; done |
        sha256sum | cut -c1-16)
}

# publish NAME PROJECT DEST-DIR ARGS...: dotnet publish into DEST-DIR unless it is already there.
publish() {
    local name="$1" project="$2" dest="$3"; shift 3
    if [ -f "$dest/.complete" ]; then say "$name up to date ($dest)"; return; fi
    local staging; staging="$(mktemp -d "$(dirname "$dest")/publish-XXXXXX")"
    say "publishing $name (cached afterwards in $dest)"
    local started=$SECONDS
    if ! dotnet publish "$REPO/$project" -c Release -r linux-x64 -p:DebugType=none -o "$staging" -nologo -v q -clp:NoSummary "$@" \
        >"$staging.log" 2>&1; then
        tail -n 40 "$staging.log" >&2; rm -rf "$staging" "$staging.log"; die "dotnet publish $project failed"
    fi
    rm -f "$staging.log" "$staging"/*.dbg "$staging"/*.pdb
    touch "$staging/.complete"
    rm -rf "$dest"; mv "$staging" "$dest"
    say "published $name in $((SECONDS - started)) s"
}

H_DAEMON="$(input_hash hostd core)"
H_CLI="$(input_hash cli core)"
H_HOOK="$(input_hash qemu-hooks core)"
H_AGENT="$(input_hash guest-agent core)"
mkdir -p "$CACHE/publish"

DAEMON_DIR="$CACHE/publish/overlayd-$H_DAEMON"
CLI_DIR="$CACHE/publish/overlayctl-$H_CLI"
HOOK_DIR="$CACHE/publish/overlay-hook-$H_HOOK"
AGENT_DIR="$AGENT_CACHE/$H_AGENT"
# overlayd: self-contained single file (no .NET on the host); ASP.NET Core and SQLite are not Native AOT-ready
# here. Its native SQLite library stays a file beside it.
publish overlayd hostd/OverlayKvm.HostDaemon.csproj "$DAEMON_DIR" --self-contained -p:PublishSingleFile=true
publish overlayctl cli/OverlayKvm.Cli.csproj "$CLI_DIR" -p:PublishAot=true
publish overlay-hook qemu-hooks/OverlayKvm.QemuHook.csproj "$HOOK_DIR" -p:PublishAot=true
# The agent comes with libsodium.so (AEGIS-256 groups; Debian 12's 1.0.18 lacks AEGIS): a cache directory is
# complete only with both, and the binary is moved in last, so readers that check the binary see the library too.
if [ -x "$AGENT_DIR/overlay-agent" ] && [ -f "$AGENT_DIR/libsodium.so" ]; then
    say "overlay-agent up to date ($AGENT_DIR, shared with the VM tests)"
else
    mkdir -p "$AGENT_CACHE/staging"
    rm -f "$AGENT_CACHE/staging/$H_AGENT/.complete"   # a staging dir left by an interrupted build is republished
    publish overlay-agent guest-agent/OverlayKvm.GuestAgent.csproj "$AGENT_CACHE/staging/$H_AGENT" -p:PublishAot=true
    [ -f "$AGENT_CACHE/staging/$H_AGENT/libsodium.so" ] || die "the agent's publish has no libsodium.so (core's NuGet libsodium package)"
    mkdir -p "$AGENT_DIR"
    mv "$AGENT_CACHE/staging/$H_AGENT/libsodium.so" "$AGENT_DIR/libsodium.so.tmp"
    mv "$AGENT_DIR/libsodium.so.tmp" "$AGENT_DIR/libsodium.so"
    mv "$AGENT_CACHE/staging/$H_AGENT/overlay-agent" "$AGENT_DIR/overlay-agent.tmp"
    mv "$AGENT_DIR/overlay-agent.tmp" "$AGENT_DIR/overlay-agent"
    rm -rf "$AGENT_CACHE/staging/$H_AGENT"
fi

# --- the packages: cached by everything that goes into them ------------------------------------------------
STAMP="$( { echo "$VERSION $H_DAEMON $H_CLI $H_HOOK $H_AGENT"; (cd "$SCRIPT_DIR" && find . -type f | LC_ALL=C sort | xargs sha256sum);
             sha256sum "$REPO/docs/packaging.md" "$REPO/docs/guest-agent.md" | cut -d' ' -f1; } |
    sha256sum | cut -c1-12)"
OUT="${OUT:-$CACHE/out/$VERSION-$STAMP}"
mkdir -p "$OUT"
HOST_DEB="$OUT/overlaykvm-host_${VERSION}_amd64.deb"
GUEST_DEB="$OUT/overlay-agent_${VERSION}_amd64.deb"
if [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$STAMP" ] && [ -f "$HOST_DEB" ] && [ -f "$GUEST_DEB" ]; then
    say "packages up to date ($OUT)"
    echo "$HOST_DEB"; echo "$GUEST_DEB"; exit 0
fi

# Reproducible timestamps: the last commit's time.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || date +%s)}"
WORK="$(mktemp -d "$CACHE/stage.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# Maintainer scripts stand alone (postrm runs after our files are gone): shared shell functions are pasted in.
expand_script() { # SRC DEST
    awk -v reload="$SCRIPT_DIR/common/reload-libvirt-hooks.sh" -v nosd="$SCRIPT_DIR/common/overlayd-without-systemd.sh" '
        /^#RELOAD_LIBVIRT_HOOKS#$/ { while ((getline l < reload) > 0) print l; close(reload); next }
        /^#OVERLAYD_WITHOUT_SYSTEMD#$/ { while ((getline l < nosd) > 0) print l; close(nosd); next }
        { print }' "$1" > "$2"
    chmod 0755 "$2"
}

doc() { # PACKAGE ROOT README: copyright, changelog, README.md
    local pkg="$1" root="$2" d="$2/usr/share/doc/$1"
    install -d -m 0755 "$d"
    install -m 0644 "$3" "$d/README.md"
    install -m 0644 "$SCRIPT_DIR/common/copyright" "$d/copyright"
    {
        echo "$pkg ($VERSION) unstable; urgency=medium"
        echo
        echo "  * Built from the OverlayKvm repository by packaging/deb/build.sh."
        echo
        echo " -- OverlayKvm maintainers <overlaykvm@example.org>  $(date -R -u -d "@$SOURCE_DATE_EPOCH")"
    } | gzip -9n > "$d/changelog.gz"
    chmod 0644 "$d/changelog.gz"
}

finish() { # PKGDIR ROOT DEB: control, md5sums, dpkg-deb
    local src="$1" root="$2" deb="$3"
    install -d -m 0755 "$root/DEBIAN"
    local size; size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
    sed -e "s/@VERSION@/$VERSION/" -e "s/@INSTALLED_SIZE@/$size/" "$src/control.in" > "$root/DEBIAN/control"
    [ -f "$src/conffiles" ] && install -m 0644 "$src/conffiles" "$root/DEBIAN/conffiles"
    for s in postinst prerm postrm; do expand_script "$src/$s" "$root/DEBIAN/$s"; done
    (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
    chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
    find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    # gzip, not xz: overlayd is ~80 MB and xz -6 takes a minute of the test run's budget on two cores.
    dpkg-deb --root-owner-group -Zgzip -z6 --build "$root" "$deb.tmp" >/dev/null
    mv -f "$deb.tmp" "$deb"
    say "built $deb ($(stat -c %s "$deb") bytes, installed $size KiB)"
}

umask 0022
H="$WORK/host"
install -d -m 0755 "$H/usr/lib/overlaykvm" "$H/usr/bin" "$H/usr/sbin" "$H/etc/overlaykvm" "$H/etc/libvirt/hooks/qemu.d" \
    "$H/usr/lib/systemd/system" "$H/usr/lib/sysusers.d" "$H/usr/lib/tmpfiles.d"
install -m 0755 "$DAEMON_DIR/overlayd" "$H/usr/lib/overlaykvm/overlayd"
for lib in "$DAEMON_DIR"/*.so; do
    [ -e "$lib" ] || continue
    install -m 0644 "$lib" "$H/usr/lib/overlaykvm/"
    # NuGet ships it with symbols; Debian policy wants shipped objects stripped (the debug data is not ours to keep).
    strip --strip-unneeded --remove-section=.comment --remove-section=.note "$H/usr/lib/overlaykvm/$(basename "$lib")"
done
install -m 0755 "$CLI_DIR/overlayctl" "$H/usr/bin/overlayctl"
install -m 0755 "$HOOK_DIR/overlay-hook" "$H/usr/lib/overlaykvm/overlay-hook"
ln -s ../lib/overlaykvm/overlayd "$H/usr/sbin/overlayd"
# A link, not a copy: files under /etc are conffiles, a binary is not configuration. libvirt follows it.
ln -s /usr/lib/overlaykvm/overlay-hook "$H/etc/libvirt/hooks/qemu.d/overlaykvm"
install -m 0644 "$SCRIPT_DIR/host/overlayd.json" "$H/etc/overlaykvm/overlayd.json"
install -m 0644 "$SCRIPT_DIR/host/overlayd.service" "$H/usr/lib/systemd/system/overlayd.service"
install -m 0644 "$SCRIPT_DIR/host/overlaykvm.sysusers" "$H/usr/lib/sysusers.d/overlaykvm.conf"
install -m 0644 "$SCRIPT_DIR/host/overlaykvm.tmpfiles" "$H/usr/lib/tmpfiles.d/overlaykvm.conf"
install -d -m 0755 "$H/usr/share/lintian/overrides"
install -m 0644 "$SCRIPT_DIR/host/lintian-overrides" "$H/usr/share/lintian/overrides/overlaykvm-host"
doc overlaykvm-host "$H" "$REPO/docs/packaging.md"
finish "$SCRIPT_DIR/host" "$H" "$HOST_DEB"

G="$WORK/guest"
install -d -m 0755 "$G/usr/bin" "$G/usr/lib/overlay-agent" "$G/usr/lib/systemd/system" "$G/usr/lib/systemd/system-generators" \
    "$G/usr/lib/udev/rules.d" "$G/etc/overlay-agent/apps.d"
# The agent and its libsodium.so side by side in /usr/lib/overlay-agent/: Native AOT looks for a library in the
# directory of the resolved executable (AppContext.BaseDirectory), so /usr/bin/overlay-agent is a link to it.
install -m 0755 "$AGENT_DIR/overlay-agent" "$G/usr/lib/overlay-agent/overlay-agent"
install -m 0644 "$AGENT_DIR/libsodium.so" "$G/usr/lib/overlay-agent/libsodium.so"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$G/usr/lib/overlay-agent/libsodium.so"
ln -s ../lib/overlay-agent/overlay-agent "$G/usr/bin/overlay-agent"
install -m 0644 "$SCRIPT_DIR/guest/overlay-agent.service" "$G/usr/lib/systemd/system/overlay-agent.service"
install -m 0755 "$SCRIPT_DIR/guest/overlay-agent-generator" "$G/usr/lib/systemd/system-generators/overlay-agent-generator"
install -m 0644 "$SCRIPT_DIR/guest/60-overlay-agent.rules" "$G/usr/lib/udev/rules.d/60-overlay-agent.rules"
doc overlay-agent "$G" "$REPO/docs/guest-agent.md"
finish "$SCRIPT_DIR/guest" "$G" "$GUEST_DEB"

echo "$STAMP" > "$OUT/.stamp"
# Builds of other inputs untouched for a day go (~60 MB each); not sooner: parallel test runs may be using theirs.
find "$CACHE/out" "$CACHE/publish" -mindepth 1 -maxdepth 1 -type d -mtime +0 -exec rm -rf {} + 2>/dev/null || true
echo "$HOST_DEB"
echo "$GUEST_DEB"
