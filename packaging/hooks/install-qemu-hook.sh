#!/usr/bin/env bash
# Installs overlay-hook as libvirt's qemu hook /etc/libvirt/hooks/qemu.d/overlaykvm and makes the running
# libvirtd see it (libvirt reads hook directories at start and on SIGHUP).
# Usage: install-qemu-hook.sh [PATH-TO-overlay-hook]   (default: the Native AOT build next to this script)
#        install-qemu-hook.sh --uninstall
# Environment: HOOKS_DIR (default /etc/libvirt/hooks) to install elsewhere; NO_SIGNAL=1 to skip the SIGHUP
# (image builds, tests).
set -euo pipefail

hooks_dir="${HOOKS_DIR:-/etc/libvirt/hooks}"
target="$hooks_dir/qemu.d/overlaykvm"

signal_libvirtd() {
  if [ "${NO_SIGNAL:-0}" = 1 ]; then
    echo "install-qemu-hook: NO_SIGNAL=1: not signalling libvirtd"
    return
  fi
  # Only HUP the libvirtd that is running (by PID); it is fine if none runs: it reads the hooks when it starts.
  local pids
  pids=$(pidof libvirtd || true)
  if [ -n "$pids" ]; then
    for pid in $pids; do kill -HUP "$pid"; done
    echo "install-qemu-hook: sent SIGHUP to libvirtd ($pids)"
  else
    echo "install-qemu-hook: libvirtd is not running; it will load the hook when it starts"
  fi
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
