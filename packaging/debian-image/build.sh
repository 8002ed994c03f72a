#!/bin/bash
# Builds a Debian 12 VM image with systemd, as an operator's VM image would be: a root filesystem made by
# mmdebstrap from the Debian archive (systemd, udev, dbus, iproute2, redis-server), written into a raw ext4 disk
# image, plus the Debian kernel and a small initramfs that loads the virtio/ext4/tun modules and switches to the
# disk's systemd. The kernel extraction and module resolution are packaging/guest-image/build.sh's (--init,
# --modules). No OverlayKvm package is in the image: a test copies overlay-agent.deb in and installs it.
#
#   packaging/debian-image/build.sh [--out DIR] [--cache DIR]
#
# Outputs in DIR (default $CACHE/image):
#   kernel, initrd.gz  from the guest-image builder (boot/ under DIR)
#   rootfs.img         the root disk: raw ext4, sparse, 2 GiB; boot it through a copy-on-write overlay
#                      (qemu-img create -f qcow2 -F raw -b rootfs.img) so it stays pristine
#   image.env          KERNEL=, INITRD=, ROOTFS=, KERNEL_VERSION=, STAMP= (shell-sourceable)
#
# Cached by its inputs (default cache /var/cache/overlaykvm/debian, env OVERLAYKVM_DEBIAN_CACHE): the candidate
# versions of the packages in apt's lists, this folder's files and the guest-image builder's stamp. Unchanged
# inputs: a few seconds (apt-cache and the boot image's stamp check). Runs as root (mmdebstrap, mke2fs -d).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
CACHE_DIR="${OVERLAYKVM_DEBIAN_CACHE:-/var/cache/overlaykvm/debian}"
OUT_DIR=""
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
SECURITY=http://deb.debian.org/debian-security
# What an ordinary systemd VM image running a service has; the agent's package needs nothing beyond libc and
# (for its crypto) libssl3. dbus: the agent follows systemd units over the system bus.
PACKAGES=(systemd systemd-sysv udev dbus iproute2 redis-server libssl3 kmod)
DISK_SIZE=2G

die() { echo "debian-image: error: $*" >&2; exit 1; }
say() { echo "debian-image: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --out) [ $# -ge 2 ] || die "--out needs a directory"; OUT_DIR="$2"; shift 2 ;;
        --cache) [ $# -ge 2 ] || die "--cache needs a directory"; CACHE_DIR="$2"; shift 2 ;;
        -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done
[ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap, mke2fs -d, $CACHE_DIR)"
OUT_DIR="${OUT_DIR:-$CACHE_DIR/image}"
mkdir -p "$CACHE_DIR" "$OUT_DIR"
CACHE_DIR="$(readlink -f "$CACHE_DIR")"
OUT_DIR="$(readlink -f "$OUT_DIR")"
exec 9>"$CACHE_DIR/.lock"
flock 9   # one builder per cache: parallel test runs share the image

need_pkgs=()
command -v mmdebstrap >/dev/null || need_pkgs+=(mmdebstrap)
command -v mke2fs >/dev/null || need_pkgs+=(e2fsprogs)
command -v qemu-img >/dev/null || need_pkgs+=(qemu-utils)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    say "installing host tools: ${need_pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${need_pkgs[@]}" >&2 \
        || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${need_pkgs[@]}" >&2; } \
        || die "could not install ${need_pkgs[*]}"
fi

# --- boot: kernel + initramfs from the guest-image builder (its own cache and stamp) -----------------
BOOT_ENV="$("$REPO/packaging/guest-image/build.sh" --init "$SCRIPT_DIR/init" --modules "$SCRIPT_DIR/modules.list" \
    --out "$OUT_DIR/boot")" || die "packaging/guest-image/build.sh failed"
boot_value() { printf '%s\n' "$BOOT_ENV" | sed -n "s/^$1=//p" | tail -n 1; }
KERNEL="$(boot_value KERNEL)"; INITRD="$(boot_value INITRD)"; KERNEL_VERSION="$(boot_value KERNEL_VERSION)"
[ -n "$KERNEL" ] && [ -n "$INITRD" ] || die "the guest-image builder printed no KERNEL=/INITRD="

# --- the root filesystem's stamp: package versions (apt's local lists) and this folder's files --------
# apt's lists on this host point at the same archive mmdebstrap uses; a new upload changes a candidate version.
VERSIONS="$(apt-cache policy "${PACKAGES[@]}" 2>/dev/null \
    | awk '/^[^ ]/ { p = $1; sub(/:$/, "", p) } /Candidate:/ { print p, $2 }')"
if printf '%s\n' "$VERSIONS" | grep -q '(none)' || [ "$(printf '%s\n' "$VERSIONS" | grep -c .)" -ne ${#PACKAGES[@]} ]; then
    say "apt's lists lack some of ${PACKAGES[*]}; running apt-get update"
    apt-get update >&2 || die "apt-get update failed"
    VERSIONS="$(apt-cache policy "${PACKAGES[@]}" 2>/dev/null \
        | awk '/^[^ ]/ { p = $1; sub(/:$/, "", p) } /Candidate:/ { print p, $2 }')"
fi
STAMP="$( { echo "$SUITE $MIRROR $SECURITY $DISK_SIZE"; printf '%s\n' "$VERSIONS";
            sha256sum "$SCRIPT_DIR/build.sh" "$SCRIPT_DIR/customize.sh" | cut -d' ' -f1; } | sha256sum | cut -c1-16)"

write_env() {
    {
        echo "KERNEL=$KERNEL"
        echo "INITRD=$INITRD"
        echo "ROOTFS=$OUT_DIR/rootfs.img"
        echo "KERNEL_VERSION=$KERNEL_VERSION"
        echo "STAMP=$STAMP"
    } > "$OUT_DIR/image.env.tmp"
    mv -f "$OUT_DIR/image.env.tmp" "$OUT_DIR/image.env"
    cat "$OUT_DIR/image.env"
}
if [ -f "$OUT_DIR/rootfs.img" ] && [ -f "$OUT_DIR/rootfs.stamp" ] && [ "$(cat "$OUT_DIR/rootfs.stamp")" = "$STAMP" ]; then
    say "root filesystem up to date ($OUT_DIR/rootfs.img, stamp $STAMP)"
    write_env
    exit 0
fi

# --- mmdebstrap into a directory, then an ext4 image made from it (mke2fs -d: no loop device, no mount) ---
WORK="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
started=$SECONDS
say "mmdebstrap $SUITE (${PACKAGES[*]})"
include="$(IFS=,; echo "${PACKAGES[*]}")"
mmdebstrap --mode=root --variant=minbase --include="$include" \
    --customize-hook="$SCRIPT_DIR/customize.sh \"\$1\"" \
    "$SUITE" "$WORK/root" \
    "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY $SUITE-security main" >&2 \
    || die "mmdebstrap failed"
say "root filesystem built in $((SECONDS - started)) s ($(du -sm "$WORK/root" | cut -f1) MB)"
truncate -s "$DISK_SIZE" "$WORK/rootfs.img"
mke2fs -q -t ext4 -L debian-root -E root_owner=0:0 -d "$WORK/root" "$WORK/rootfs.img" >&2 || die "mke2fs -d failed"
# Readable by QEMU through the overlay's backing chain (libvirt labels it read-only for the domain).
chmod 0644 "$WORK/rootfs.img"
mv -f "$WORK/rootfs.img" "$OUT_DIR/rootfs.img"
echo "$STAMP" > "$OUT_DIR/rootfs.stamp"
say "built $OUT_DIR/rootfs.img in $((SECONDS - started)) s ($(du -m "$OUT_DIR/rootfs.img" | cut -f1) MB allocated of $DISK_SIZE)"
write_env
