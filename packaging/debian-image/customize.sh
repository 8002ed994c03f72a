#!/bin/sh
# mmdebstrap --customize-hook for the Debian VM image: $1 is the root directory (before it is packed).
# What makes it a test-drivable VM that boots fast under TCG, and nothing OverlayKvm-specific.
set -eu
root="$1"

echo debian-vm > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 debian-vm\n' > "$root/etc/hosts"
# The initramfs mounts the root read-write; pass 0: no fsck at boot (the disk is a fresh overlay every time).
printf '/dev/vda / ext4 rw,noatime 0 0\n' > "$root/etc/fstab"

# Driven over the serial console (no ssh): root logged in on ttyS0 (console=ttyS0 makes systemd start
# serial-getty@ttyS0). Whoever holds the host's libvirt connection has this console anyway.
mkdir -p "$root/etc/systemd/system/serial-getty@ttyS0.service.d"
cat > "$root/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'UNIT'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,57600,38400,9600 - $TERM
UNIT

# The service is the app: started on demand (systemctl start), not at boot.
chroot "$root" systemctl disable redis-server.service
# Units that only cost boot time under emulation in a throw-away VM (no VGA console, no periodic upkeep).
for unit in getty@tty1.service apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
    e2scrub_reap.service fstrim.timer logrotate.timer systemd-timesyncd.service; do
    if [ -e "$root/lib/systemd/system/$unit" ]; then chroot "$root" systemctl mask "$unit"; fi
done
