#!/usr/bin/env bash
# Installs overlay-hook as libvirt's qemu hook /etc/libvirt/hooks/qemu.d/overlaykvm and makes the
# running libvirtd or virtqemud see it (libvirt reads hook directories at start and on SIGHUP). The Debian
# package (packaging/deb) does the same on install; this script is for hosts running from a source tree.
# Usage: install-qemu-hook.sh [PATH-TO-overlay-hook]   (default: the Native AOT build next to this script)
#        install-qemu-hook.sh --uninstall
# Environment: HOOKS_DIR (default /etc/libvirt/hooks) to install elsewhere; NO_SIGNAL=1 to skip the SIGHUP
# (image builds, tests).
set -euo pipefail

hooks_dir="${HOOKS_DIR:-/etc/libvirt/hooks}"
target="$hooks_dir/qemu.d/overlaykvm"

signal_libvirtd() {
  if [ "${NO_SIGNAL:-0}" = 1 ]; then
    echo "install-qemu-hook: NO_SIGNAL=1: not signalling libvirt"
    return
  fi
  # The same reload as the Debian package's maintainer scripts: libvirtd or virtqemud, systemd or by pid file.
  # shellcheck source=../deb/common/reload-libvirt-hooks.sh
  . "$(dirname "$0")/../deb/common/reload-libvirt-hooks.sh"
  overlaykvm_reload_libvirt_hooks
}

if [ "${1:-}" = "--uninstall" ]; then
  rm -f "$target"
  echo "install-qemu-hook: removed $target"
  signal_libvirtd
  exit 0
fi

source="${1:-$(dirname "$0")/overlay-hook}"
if [ ! -x "$source" ]; then
  echo "install-qemu-hook: $source is not an executable file (publish it: dotnet publish qemu-hooks -c Release -p:PublishAot=true -r linux-x64 -o DIR)" >&2
  exit 1
fi

install -d -m 0755 "$hooks_dir/qemu.d"
# Copy to a temporary name and rename, so libvirtd never runs a half-written hook.
tmp="$(mktemp "$hooks_dir/qemu.d/.overlaykvm.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
install -m 0755 "$source" "$tmp"
mv -f "$tmp" "$target"
trap - EXIT
echo "install-qemu-hook: installed $target"
signal_libvirtd
