#!/bin/bash
# Builds the OverlayKvm guest image: a Debian 12 kernel and a busybox initramfs that loads the virtio
# modules, finds the agent's virtio-serial port by name, enables the ivshmem BAR and starts the guest agent
# (or, without one, a small probe used by the end-to-end tests).
#
#   packaging/guest-image/build.sh [--agent PATH] [--extra SRC:DEST]... [--init PATH] [--modules PATH]
#                                  [--out DIR] [--cache DIR]
#
# --agent PATH is the overlay-agent for /bin; the libsodium.so its Native AOT publish writes beside it goes too.
# --extra copies file SRC to DEST (an absolute path) inside the initramfs, executable: e.g. a test scenario
# that init starts beside the agent when the kernel command line names it (overlaykvm.test=DEST).
# --init and --modules replace this folder's init and modules.list: another image kind reuses the kernel
# extraction and module resolution with its own /init (packaging/debian-image/ boots a disk this way).
#
# Outputs in DIR (default $CACHE/image):
#   kernel      the uncompressed vmlinux (PVH entry; boots faster under TCG) or, failing that, the vmlinuz
#   initrd.gz   the initramfs (cpio newc, gzip -1)
#   image.env   KERNEL=, INITRD=, KERNEL_VERSION=, KERNEL_FORMAT=, AGENT=, STAMP= (shell-sourceable)
#
# Everything downloaded or extracted lives under the cache directory (default /var/cache/overlaykvm/guest),
# never in the repository. A second run with the same inputs only recomputes the input stamp and exits.
# Runs as root (apt-get, dpkg -x with device-free packages, /var/cache).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
CACHE_DIR="${OVERLAYKVM_GUEST_CACHE:-/var/cache/overlaykvm/guest}"
OUT_DIR=""
AGENT=""
AGENT_LIB=""
EXTRAS=()
INIT="$SCRIPT_DIR/init"
MODULES_LIST="$SCRIPT_DIR/modules.list"

die() { echo "guest-image: error: $*" >&2; exit 1; }
say() { echo "guest-image: $*" >&2; }

usage() {
    sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case "$1" in
        --agent) [ $# -ge 2 ] || die "--agent needs a path"; AGENT="$2"; shift 2 ;;
        --extra) [ $# -ge 2 ] || die "--extra needs SRC:DEST"; EXTRAS+=("$2"); shift 2 ;;
        --init) [ $# -ge 2 ] || die "--init needs a path"; INIT="$2"; shift 2 ;;
        --modules) [ $# -ge 2 ] || die "--modules needs a path"; MODULES_LIST="$2"; shift 2 ;;
        --out) [ $# -ge 2 ] || die "--out needs a directory"; OUT_DIR="$2"; shift 2 ;;
        --cache) [ $# -ge 2 ] || die "--cache needs a directory"; CACHE_DIR="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done

[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get download, dpkg -x, $CACHE_DIR)"
if [ -n "$AGENT" ]; then
    [ -f "$AGENT" ] || die "--agent '$AGENT': no such file"
    [ -x "$AGENT" ] || die "--agent '$AGENT': not executable"
    AGENT="$(readlink -f "$AGENT")"
    # AEGIS-256 groups need the libsodium.so published beside the agent (Debian 12's 1.0.18 lacks AEGIS); the
    # agent finds it in its own directory, so both go to /bin. Optional: tests boot stand-in agents (scripts, a
    # small ELF) that have none; the agent caches (AotAgent.cs, demo-guest-build.sh) are complete only with it.
    if [ -f "$(dirname "$AGENT")/libsodium.so" ]; then AGENT_LIB="$(dirname "$AGENT")/libsodium.so"; fi
fi
[ -f "$INIT" ] || die "--init '$INIT': no such file"
[ -f "$MODULES_LIST" ] || die "--modules '$MODULES_LIST': no such file"
for extra in "${EXTRAS[@]}"; do
    src="${extra%%:*}"; dest="${extra#*:}"
    [ "$src" != "$extra" ] || die "--extra '$extra': expected SRC:DEST"
    [ -f "$src" ] || die "--extra '$extra': no such file '$src'"
    case "$dest" in /*) ;; *) die "--extra '$extra': DEST must be an absolute path" ;; esac
    case "$dest" in *..*) die "--extra '$extra': DEST must not contain '..'" ;; esac
done
OUT_DIR="${OUT_DIR:-$CACHE_DIR/image}"
mkdir -p "$CACHE_DIR" "$OUT_DIR"
CACHE_DIR="$(readlink -f "$CACHE_DIR")"
OUT_DIR="$(readlink -f "$OUT_DIR")"

# One builder at a time per cache: concurrent test runs share the downloads and extracted trees.
exec 9>"$CACHE_DIR/.lock"
flock 9

# --- host tools -------------------------------------------------------------------------------------
need_pkgs=()
command -v cpio >/dev/null || need_pkgs+=(cpio)
command -v xz >/dev/null || need_pkgs+=(xz-utils)
command -v gzip >/dev/null || need_pkgs+=(gzip)
command -v flock >/dev/null || need_pkgs+=(util-linux)
command -v sha256sum >/dev/null || need_pkgs+=(coreutils)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    say "installing host tools: ${need_pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_pkgs[@]}" >&2 \
        || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_pkgs[@]}" >&2; } \
        || die "could not install ${need_pkgs[*]}"
fi

# --- resolve package versions (cheap: apt's local lists) --------------------------------------------
# One apt-cache call per question: each costs ~0.5 s of cache loading.
candidates() { # prints "PACKAGE VERSION" for each argument that has a candidate
    apt-cache policy "$@" 2>/dev/null \
        | awk '/^[^ ]/ { p = $1; sub(/:$/, "", p) } /Candidate:/ && $2 != "(none)" { print p, $2 }'
}
KERNEL_PKG="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
if [ -z "$KERNEL_PKG" ]; then
    say "apt lists have no linux-image-amd64; running apt-get update"
    apt-get update >&2 || die "apt-get update failed"
    KERNEL_PKG="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
fi
[ -n "$KERNEL_PKG" ] || die "cannot resolve the kernel package that linux-image-amd64 depends on"
KERNEL_VERSION="${KERNEL_PKG#linux-image-}"
PACKAGES=("$KERNEL_PKG" busybox-static libc6 libssl3)
declare -A VERSION
while read -r p v; do VERSION[$p]="$v"; done < <(candidates "${PACKAGES[@]}")
for p in "${PACKAGES[@]}"; do
    [ -n "${VERSION[$p]:-}" ] || die "apt has no candidate version for $p"
done

# --- the stamp: every input that changes the image ---------------------------------------------------
stamp_inputs() {
    for p in "${PACKAGES[@]}"; do echo "pkg $p ${VERSION[$p]}"; done
    sha256sum "$SCRIPT_DIR/build.sh" "$INIT" "$SCRIPT_DIR/probe.sh" "$MODULES_LIST" \
        | awk '{ print "file", $1 }'
    if [ -n "$AGENT" ]; then echo "agent $(sha256sum < "$AGENT" | awk '{ print $1 }') libsodium ${AGENT_LIB:+$(sha256sum < "$AGENT_LIB" | awk '{ print $1 }')}"; else echo "agent none"; fi
    for extra in "${EXTRAS[@]}"; do echo "extra ${extra#*:} $(sha256sum < "${extra%%:*}" | awk '{ print $1 }')"; done
}
STAMP="$(stamp_inputs | sha256sum | awk '{ print $1 }')"
if [ -f "$OUT_DIR/image.env" ] && [ -f "$OUT_DIR/initrd.gz" ] && [ -f "$OUT_DIR/kernel" ] \
   && grep -qx "STAMP=$STAMP" "$OUT_DIR/image.env"; then
    say "up to date ($OUT_DIR, stamp ${STAMP:0:12})"
    cat "$OUT_DIR/image.env"
    exit 0
fi

# --- download and extract packages (each once per version) ------------------------------------------
DEB_DIR="$CACHE_DIR/debs"
mkdir -p "$DEB_DIR"
deb_path() { # the .deb of package $1 at its candidate version, downloading it if absent
    local p="$1" v="${VERSION[$1]}" f
    f="$(find "$DEB_DIR" -maxdepth 1 -name "${p}_*.deb" | while read -r d; do
            [ "$(dpkg-deb -f "$d" Version)" = "$v" ] && echo "$d"; done | head -n1)"
    if [ -z "$f" ]; then
        say "downloading $p $v"
        # apt drops privileges to _apt for downloads; let it write here.
        chown _apt "$DEB_DIR" 2>/dev/null || true
        (cd "$DEB_DIR" && apt-get download "$p=$v" >&2) || die "apt-get download $p=$v failed"
        f="$(find "$DEB_DIR" -maxdepth 1 -name "${p}_*.deb" | while read -r d; do
                [ "$(dpkg-deb -f "$d" Version)" = "$v" ] && echo "$d"; done | head -n1)"
        [ -n "$f" ] || die "apt-get download $p=$v produced no .deb in $DEB_DIR"
    fi
    echo "$f"
}
extracted() { # directory holding the extracted tree of package $1
    local p="$1" v="${VERSION[$1]}" d
    d="$CACHE_DIR/pkg/${p}_${v//[:~]/_}"
    if [ ! -f "$d/.extracted" ]; then
        local deb; deb="$(deb_path "$p")"
        say "extracting $(basename "$deb")"
        rm -rf "$d"; mkdir -p "$d"
        dpkg -x "$deb" "$d" || die "dpkg -x $deb failed"
        touch "$d/.extracted"
    fi
    echo "$d"
}

KTREE="$(extracted "$KERNEL_PKG")"
BBTREE="$(extracted busybox-static)"
LIBCTREE="$(extracted libc6)"
SSLTREE="$(extracted libssl3)"
# Drop trees and .debs of versions no longer current (a kernel update leaves ~450 MB behind otherwise).
# Images already built keep working: their kernel is a hard link or a copy, not a path into pkg/.
for d in "$CACHE_DIR"/pkg/*; do
    case "$d" in "$KTREE"|"$BBTREE"|"$LIBCTREE"|"$SSLTREE") ;; *) say "pruning $(basename "$d")"; rm -rf "$d" ;; esac
done
for f in "$DEB_DIR"/*.deb; do
    [ -e "$f" ] || continue
    keep=0
    for p in "${PACKAGES[@]}"; do
        case "$(basename "$f")" in "${p}_"*) [ "$(dpkg-deb -f "$f" Version)" = "${VERSION[$p]}" ] && keep=1 ;; esac
    done
    [ $keep -eq 1 ] || { say "pruning $(basename "$f")"; rm -f "$f"; }
done

MODDIR="$KTREE/lib/modules/$KERNEL_VERSION"
[ -d "$MODDIR" ] || die "$KERNEL_PKG has no lib/modules/$KERNEL_VERSION"

# --- kernel: prefer the uncompressed ELF (PVH entry) -------------------------------------------------
# Debian's bzImage carries an xz-compressed vmlinux; QEMU boots an ELF with a PVH note directly, which
# skips the real-mode setup and the in-guest decompression (slow under TCG).
VMLINUZ="$KTREE/boot/vmlinuz-$KERNEL_VERSION"
[ -f "$VMLINUZ" ] || die "$KERNEL_PKG has no boot/vmlinuz-$KERNEL_VERSION"
VMLINUX="$KTREE/boot/vmlinux-$KERNEL_VERSION"
KERNEL_FORMAT=vmlinux
if [ ! -f "$VMLINUX" ]; then
    say "extracting vmlinux from $(basename "$VMLINUZ")"
    offsets="$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$VMLINUZ" | cut -d: -f1 || true)"
    for off in $offsets; do
        # xz stops after one stream, so tail may die of SIGPIPE: only xz's status counts.
        tail -c +"$((off + 1))" "$VMLINUZ" 2>/dev/null | xz -dc --single-stream > "$VMLINUX.tmp" 2>/dev/null \
            && xz_status=0 || xz_status="${PIPESTATUS[1]}"
        if [ "$xz_status" -eq 0 ] && [ "$(head -c 4 "$VMLINUX.tmp" | od -An -tx1 | tr -d ' \n')" = "7f454c46" ]; then
            mv "$VMLINUX.tmp" "$VMLINUX"
            break
        fi
    done
    rm -f "$VMLINUX.tmp"
fi
if [ -f "$VMLINUX" ]; then KERNEL_SRC="$VMLINUX"; else
    say "warning: no uncompressed vmlinux could be extracted; using the bzImage (slower boot under TCG)"
    KERNEL_SRC="$VMLINUZ"; KERNEL_FORMAT=vmlinuz
fi

# --- modules: resolve dependencies from each .ko's modinfo -------------------------------------------
declare -A KO   # module name (dashes as underscores) -> path of its .ko
while IFS= read -r ko; do
    n="$(basename "$ko")"; n="${n%%.ko*}"; KO[${n//-/_}]="$ko"
done < <(find "$MODDIR/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst')
builtin_mod() { grep -q "/${1//_/[-_]}\.ko\$" "$MODDIR/modules.builtin"; }
ko_depends() { # the depends= list of a module file (NUL-separated .modinfo strings)
    local f="$1"
    case "$f" in
        *.xz) xz -dc "$f" ;; *.zst) zstd -dcq "$f" ;; *) cat "$f" ;;
    esac | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n1 | tr ',' ' '
}
declare -A SEEN
ORDER=()
visit() {
    local m="${1//-/_}"
    [ -n "${SEEN[$m]:-}" ] && return 0
    SEEN[$m]=1
    if [ -z "${KO[$m]:-}" ]; then
        builtin_mod "$m" && { say "module $m is built into $KERNEL_VERSION"; return 0; }
        die "module '$m' (modules.list) is neither in $KERNEL_PKG nor built in"
    fi
    local d
    for d in $(ko_depends "${KO[$m]}"); do visit "$d"; done
    ORDER+=("$m")
}
while IFS= read -r line; do
    line="${line%%#*}"; line="$(echo "$line" | tr -d '[:space:]')"
    [ -n "$line" ] && visit "$line"
done < "$MODULES_LIST"

# --- assemble the initramfs ---------------------------------------------------------------------------
WORK="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/root"
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc/overlaykvm,lib/modules,lib64,lib/x86_64-linux-gnu}
cp "$BBTREE/bin/busybox" "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"
for lib in libc.so.6 libm.so.6 ld-linux-x86-64.so.2; do
    cp -L "$LIBCTREE/lib/x86_64-linux-gnu/$lib" "$ROOT/lib/x86_64-linux-gnu/$lib" || die "libc6 lacks $lib"
done
for lib in libssl.so.3 libcrypto.so.3; do
    cp -L "$SSLTREE/usr/lib/x86_64-linux-gnu/$lib" "$ROOT/lib/x86_64-linux-gnu/$lib" || die "libssl3 lacks $lib"
done
ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$ROOT/lib64/ld-linux-x86-64.so.2"
: > "$ROOT/etc/overlaykvm/modules.order"
for m in "${ORDER[@]}"; do
    src="${KO[$m]}"; dst="$ROOT/lib/modules/$m.ko"
    case "$src" in   # busybox insmod takes plain ELF objects
        *.xz) xz -dc "$src" > "$dst" ;; *.zst) zstd -dcq "$src" > "$dst" ;; *) cp "$src" "$dst" ;;
    esac
    echo "$m" >> "$ROOT/etc/overlaykvm/modules.order"
done
install -m 0755 "$INIT" "$ROOT/init"
install -m 0755 "$SCRIPT_DIR/probe.sh" "$ROOT/bin/overlaykvm-probe"
if [ -n "$AGENT" ]; then
    install -m 0755 "$AGENT" "$ROOT/bin/overlay-agent"
    [ -z "$AGENT_LIB" ] || install -m 0644 "$AGENT_LIB" "$ROOT/bin/libsodium.so"
fi
for extra in "${EXTRAS[@]}"; do
    install -D -m 0755 "${extra%%:*}" "$ROOT${extra#*:}"
done
{
    echo "KERNEL_VERSION=$KERNEL_VERSION"
    echo "STAMP=$STAMP"
    for p in "${PACKAGES[@]}"; do echo "PACKAGE=$p ${VERSION[$p]}"; done
} > "$ROOT/etc/overlaykvm/image-info"

# gzip -1: the kernel unpacks it once per boot under TCG; a stronger level saves little and costs build time.
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible) | gzip -1 > "$WORK/initrd.gz" \
    || die "cpio/gzip of $ROOT failed"

# Publish atomically: a reader sees either the old image or the whole new one.
# A hard link when the cache and DIR share a filesystem: the vmlinux is ~64 MB and never changes in place.
if [ ! "$OUT_DIR/kernel" -ef "$KERNEL_SRC" ]; then   # mv refuses to replace a file by a link to itself
    ln -f "$KERNEL_SRC" "$WORK/kernel" 2>/dev/null || cp "$KERNEL_SRC" "$WORK/kernel"
    mv -f "$WORK/kernel" "$OUT_DIR/kernel"
fi
mv -f "$WORK/initrd.gz" "$OUT_DIR/initrd.gz"
chmod 0644 "$OUT_DIR/initrd.gz"
{
    echo "KERNEL=$OUT_DIR/kernel"
    echo "INITRD=$OUT_DIR/initrd.gz"
    echo "KERNEL_VERSION=$KERNEL_VERSION"
    echo "KERNEL_FORMAT=$KERNEL_FORMAT"
    echo "AGENT=${AGENT:-none}"
    echo "MODULES=${ORDER[*]}"
    echo "STAMP=$STAMP"
} > "$OUT_DIR/image.env.tmp"
mv -f "$OUT_DIR/image.env.tmp" "$OUT_DIR/image.env"
say "built $OUT_DIR (kernel $KERNEL_FORMAT $(stat -c %s "$OUT_DIR/kernel") bytes, initrd $(stat -c %s "$OUT_DIR/initrd.gz") bytes)"
cat "$OUT_DIR/image.env"
