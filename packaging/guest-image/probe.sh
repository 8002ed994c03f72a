#!/bin/sh
# overlaykvm-probe: stands in for the guest agent in images built without one. It proves the two paths the
# agent uses — the virtio-serial host channel and the ivshmem engine region — with a line protocol the
# end-to-end tests drive from the host side of the channel's unix socket.
#
# On start it writes one line to the port (the write blocks until the host connects):
#   hello uptime=SECONDS region=PATH|none ldso=VERSION|missing ssl=ok|missing
# then answers one line per command:
#   echo TEXT             -> "echoed TEXT"; also prints "overlaykvm-probe: echo TEXT" on the serial console
#   shm-read OFF LEN      -> "shm-data HEX" (LEN <= 256 bytes of BAR2 at OFF)
#   shm-write OFF HEX     -> "shm-written N"
#   net                   -> "net ADDRS" (eth0's IPv4 addresses, or "net none")
#   exit [RC]             -> "bye", then exits with RC (default 0); init powers the guest off
#   anything else         -> "error unknown command: WORD"
# It exits when the host closes the channel (read returns end of file).

PORT="${OVERLAYKVM_AGENT_PORT:-/dev/virtio-ports/org.overlaykvm.agent.0}"
say() { echo "overlaykvm-probe: $*" > /dev/console; }

[ -e "$PORT" ] || { say "no agent port at $PORT"; exit 2; }
exec 3<>"$PORT" || { say "cannot open $PORT"; exit 2; }

# BAR2 is memory-mapped I/O: sysfs 'resource2' only supports mmap and /dev/mem's read() stops at the end
# of RAM, so bytes go through busybox devmem (mmap of /dev/mem at the BAR's physical address).
REGION_BASE="${OVERLAYKVM_ENGINE_REGION_PHYS:-}"
REGION_SIZE=0
if [ -n "${OVERLAYKVM_ENGINE_REGION:-}" ]; then
    bar2="$(sed -n 3p "${OVERLAYKVM_ENGINE_REGION%/resource2}/resource")"
    # shellcheck disable=SC2086 # split "start end flags" into fields
    set -- $bar2
    REGION_SIZE=$(($2 - $1 + 1))
fi

reply() { echo "$*" >&3; }

shm_read() { # OFF LEN
    off="$1"; len="$2"
    case "$off$len" in *[!0-9]*|'') reply "error shm-read needs decimal OFF LEN"; return ;; esac
    [ -n "$REGION_BASE" ] || { reply "error no engine region"; return; }
    if [ "$len" -gt 256 ] || [ $((off + len)) -gt "$REGION_SIZE" ]; then
        reply "error shm-read $off $len outside region of $REGION_SIZE bytes (max 256)"; return
    fi
    hex=""; i=0
    while [ $i -lt "$len" ]; do
        b="$(devmem $((REGION_BASE + off + i)) 8)" || { reply "error devmem read at $((off + i)) failed"; return; }
        hex="$hex$(printf '%02x' "$b")"
        i=$((i + 1))
    done
    reply "shm-data $hex"
}

shm_write() { # OFF HEX
    off="$1"; hex="$2"
    case "$off" in *[!0-9]*|'') reply "error shm-write needs decimal OFF"; return ;; esac
    case "$hex" in *[!0-9a-fA-F]*|'') reply "error shm-write needs HEX bytes"; return ;; esac
    [ $((${#hex} % 2)) -eq 0 ] || { reply "error shm-write HEX has an odd length"; return; }
    [ -n "$REGION_BASE" ] || { reply "error no engine region"; return; }
    n=$((${#hex} / 2))
    if [ "$n" -gt 256 ] || [ $((off + n)) -gt "$REGION_SIZE" ]; then
        reply "error shm-write $off +$n outside region of $REGION_SIZE bytes (max 256)"; return
    fi
    i=0; rest="$hex"
    while [ -n "$rest" ]; do
        byte="${rest%"${rest#??}"}"; rest="${rest#??}"
        devmem $((REGION_BASE + off + i)) 8 "0x$byte" || { reply "error devmem write at $((off + i)) failed"; return; }
        i=$((i + 1))
    done
    reply "shm-written $n"
}

ldso="$(/lib64/ld-linux-x86-64.so.2 --version 2>/dev/null | head -n1 | sed 's/.* version //; s/[^0-9.].*//; s/[.]$//')"
# ld.so --list resolves libssl's own dependencies (libcrypto, libc) inside the image.
if /lib64/ld-linux-x86-64.so.2 --list /lib/x86_64-linux-gnu/libssl.so.3 2>/dev/null | grep -q libcrypto.so.3; then
    ssl=ok
else
    ssl=missing
fi
reply "hello uptime=$(cut -d' ' -f1 /proc/uptime) region=${OVERLAYKVM_ENGINE_REGION:-none} ldso=${ldso:-missing} ssl=$ssl"
say "hello sent on $PORT"

while IFS= read -r line <&3; do
    set -f
    # shellcheck disable=SC2086 # split the command into words; globbing is off
    set -- $line
    set +f
    cmd="${1:-}"
    [ $# -gt 0 ] && shift
    case "$cmd" in
        echo) say "echo $*"; reply "echoed $*" ;;
        shm-read) shm_read "${1:-}" "${2:-}" ;;
        shm-write) shm_write "${1:-}" "${2:-}" ;;
        net)
            addrs="$(ip -o -4 addr show dev eth0 2>/dev/null | awk '{ print $4 }' | tr '\n' ' ')"
            reply "net ${addrs:-none}" ;;
        exit) reply "bye"; say "exit ${1:-0}"; exit "${1:-0}" ;;
        '') ;;
        *) reply "error unknown command: $cmd" ;;
    esac
done
say "host closed the channel"
exit 0
