#!/usr/bin/env bash
# Builds kola's test OS image from Debian packages only: Debian bookworm with
# systemd, journald, OpenSSH and Debian's real Ignition, which applies the
# config QEMU passes through fw_cfg (opt/com.coreos/config) on first boot.
#
# Output, in ${XDG_CACHE_HOME:-$HOME/.cache}/mantle-ts/images/<hash>/:
#   disk.img     raw ext4 root file system (machines boot qcow2 overlays of it)
#   vmlinux      the uncompressed kernel: QEMU's PVH entry boots it ~2x faster
#   vmlinuz      the same kernel, compressed
#   initrd.img   busybox initramfs: modules for the root, first-boot Ignition
#   initrd-flatcar.img  the same initramfs in a variant whose Ignition reads its
#                config from Flatcar's fw_cfg name (opt/org.flatcar-linux/config)
#                and nothing else: kola's --distro flatcar is tested against it
#   disk-uefi.img  a whole disk: GPT, an EFI system partition with systemd-boot,
#                the kernel and initrd.img, then the root file system as
#                partition 2; OVMF boots it without direct kernel boot
#   image.env    KOLA_TEST_IMAGE=... lines for the test suite
# The hash covers this directory's files, the package list and the kernel
# version, so the image is rebuilt only when one of them changes. Prints the
# image.env lines on stdout; everything else goes to stderr.
#
# Known shortcut: openssh-server's install generates the host keys inside the
# image, so every machine has the same host keys. Fine for throwaway test VMs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
log() { echo "test-image: $*" >&2; }

suite=bookworm
mirror="${KOLA_IMAGE_MIRROR:-http://deb.debian.org/debian}"
packages=systemd-sysv,udev,kmod,dbus,openssh-server,sudo,ignition,iproute2,ca-certificates,iputils-ping,procps
# Modules the machines need, with their dependencies resolved by kmod at build time.
# virtio_net is in the initramfs too: Ignition fetches remote resources (http sources) from there.
root_modules=(virtio_pci virtio_blk crc32c_generic ext4 qemu_fw_cfg virtio_net)
extra_modules=(virtio_rng virtio_console autofs4)
masked_units=(
  getty@tty1.service serial-getty@ttyS0.service systemd-pstore.service
  modprobe@configfs.service modprobe@drm.service modprobe@efi_pstore.service modprobe@fuse.service
  modprobe@loop.service modprobe@dm_mod.service
  sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount sys-fs-fuse-connections.mount
  apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer
  dpkg-db-backup.timer systemd-firstboot.service systemd-networkd-wait-online.service
  systemd-hwdb-update.service ldconfig.service systemd-journal-catalog-update.service
)

kernel_meta() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}'; }
kernel_pkg="${KOLA_IMAGE_KERNEL_PKG:-$(kernel_meta)}"
if [ -z "$kernel_pkg" ]; then
  # A fresh machine may have no apt lists yet.
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || true
  kernel_pkg="$(kernel_meta)"
fi
if [ -z "$kernel_pkg" ]; then
  log "no linux-image-amd64 in the apt lists (run apt-get update)"
  exit 3
fi
kernel_ver="${kernel_pkg#linux-image-}"
kernel_deb_ver="$(apt-cache policy "$kernel_pkg" | awk '/Candidate:/{print $2}')"

hash="$(
  {
    printf '%s\n' "$suite" "$packages" "${root_modules[*]}" "${extra_modules[*]}" "${masked_units[*]}" "$kernel_pkg" "$kernel_deb_ver"
    cd "$here" && find . -type f | LC_ALL=C sort | while read -r f; do printf '%s %s\n' "$f" "$(stat -c %a "$f")"; cat "$f"; done
  } | sha256sum | cut -c1-16
)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/mantle-ts/images"
out="$cache/$hash"
mkdir -p "$cache"

emit() { cat "$out/image.env"; }
if [ -f "$out/image.env" ]; then
  log "reusing $out"
  emit
  exit 0
fi

# One build at a time per cache; a second caller waits, then reuses.
exec 9>"$cache/.build.lock"
flock 9
if [ -f "$out/image.env" ]; then
  emit
  exit 0
fi

work="$(mktemp -d "$cache/.build-$hash.XXXXXX")"
cleanup() {
  for m in proc sys dev; do umount "$work/root/$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
root="$work/root"
started=$SECONDS

# The debootstrap result is cached on its own: changing the configuration
# below then rebuilds in seconds instead of minutes.
base="$cache/debootstrap-$(printf '%s\n' "$suite" "$packages" "$mirror" | sha256sum | cut -c1-16).tar"
if [ -f "$base" ]; then
  log "reusing $base"
  mkdir -p "$root"
  tar -C "$root" --xattrs --xattrs-include="*" -xpf "$base"
else
  log "debootstrap $suite (minbase + ${packages//,/ })"
  debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2
    exit 3
  }
  tar -C "$root" --xattrs --xattrs-include="*" -cpf "$base.tmp" . && mv "$base.tmp" "$base"
fi

log "kernel $kernel_pkg $kernel_deb_ver"
(cd "$work" && apt-get download "$kernel_pkg" >/dev/null 2>&1) || {
  log "cannot download $kernel_pkg"
  exit 3
}
mkdir -p "$root/tmp/kernel"
dpkg-deb -x "$work"/"$kernel_pkg"_*.deb "$root/tmp/kernel"
kdir="$root/tmp/kernel/lib/modules/$kernel_ver"
chroot "$root" depmod -b /tmp/kernel "$kernel_ver"
deps() { chroot "$root" modprobe -d /tmp/kernel -S "$kernel_ver" --show-depends "$@" | awk '$1=="insmod"{print $2}'; }
: >"$work/modules.list"
for m in "${root_modules[@]}"; do deps "$m" >>"$work/modules.list"; done
awk '!seen[$0]++' "$work/modules.list" >"$work/modules.initrd"
: >"$work/modules.all"
for m in "${root_modules[@]}" "${extra_modules[@]}"; do deps "$m" >>"$work/modules.all"; done
mkdir -p "$root/lib/modules/$kernel_ver"
cp "$kdir"/modules.order "$kdir"/modules.builtin* "$root/lib/modules/$kernel_ver/"
sort -u "$work/modules.all" | while read -r ko; do
  rel="${ko#/tmp/kernel/}"
  mkdir -p "$root/$(dirname "$rel")"
  cp "$root$ko" "$root/$rel"
done
chroot "$root" depmod "$kernel_ver"

log "initramfs"
ird="$work/initrd"
mkdir -p "$ird"/{bin,dev,proc,sys,newroot,tmp/kernel}
cp /bin/busybox "$ird/bin/busybox"
cp "$here/init" "$ird/init"
cp "$here/udhcpc.script" "$ird/udhcpc.script"
chmod 0755 "$ird/init" "$ird/udhcpc.script"
mknod -m 600 "$ird/dev/console" c 5 1
mknod -m 666 "$ird/dev/null" c 1 3
while read -r ko; do
  mkdir -p "$ird$(dirname "$ko")"
  cp "$root$ko" "$ird$ko"
done <"$work/modules.initrd"
sed 's|^/||' "$work/modules.initrd" >"$ird/modules.list"
(cd "$ird" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.img"
# The Flatcar-flavoured variant differs in one file: the fw_cfg name init reads.
echo opt/org.flatcar-linux/config >"$ird/fwcfg-name"
(cd "$ird" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$work/initrd-flatcar.img"

cp "$root/tmp/kernel/boot/vmlinuz-$kernel_ver" "$work/vmlinuz"
# The bzImage wraps an xz-compressed ELF vmlinux; QEMU boots the ELF directly
# through its PVH note, skipping the in-guest decompression.
offset="$(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$work/vmlinuz" | head -1 | cut -d: -f1)"
tail -c +"$((offset + 1))" "$work/vmlinuz" | xz -dc >"$work/vmlinux" 2>/dev/null || true
if ! head -c 4 "$work/vmlinux" | grep -q 'ELF'; then
  log "could not extract vmlinux from vmlinuz"
  exit 3
fi
rm -rf "$root/tmp/kernel"

log "configuring the root"
cp -a "$here/rootfs/." "$root/"
chroot "$root" useradd --create-home --shell /bin/bash --groups sudo,systemd-journal,adm core
chroot "$root" passwd --lock core >/dev/null
chroot "$root" systemctl enable systemd-networkd.service kola-ignition-disks.service >/dev/null 2>&1
chroot "$root" systemctl mask "${masked_units[@]}" >/dev/null 2>&1
chroot "$root" systemd-hwdb update
echo kola >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 kola\n' >"$root/etc/hosts"
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
# Less to copy and a smaller image: no docs, manuals, locales, apt lists.
rm -rf "$root"/usr/share/{doc,man,info,locale,lintian} "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
mkdir -p "$root/usr/share/locale"

log "disk image"
mke2fs -q -t ext4 -L root -d "$root" "$work/disk.img" 1G >&2
rm -rf "$root"

log "whole disk for UEFI"
# GPT: 1 MiB, the EFI system partition (64 MiB, FAT), the root (the ext4
# image), 1 MiB for the backup table. No loop device or mount: mtools fills
# the FAT image, dd places both images in the disk.
esp="$work/esp.img"
mkfs.vfat -C -n KOLA-ESP "$esp" $((64 * 1024)) >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
mcopy -i "$esp" /usr/lib/systemd/boot/efi/systemd-bootx64.efi ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$esp" "$work/vmlinuz" ::/vmlinuz
mcopy -i "$esp" "$work/initrd.img" ::/initrd.img
printf 'default kola.conf\ntimeout 0\n' >"$work/loader.conf"
printf 'title kola test image\nlinux /vmlinuz\ninitrd /initrd.img\noptions root=/dev/vda2 console=ttyS0 systemd.show_status=0 loglevel=5\n' >"$work/kola.conf"
mcopy -i "$esp" "$work/loader.conf" ::/loader/loader.conf
mcopy -i "$esp" "$work/kola.conf" ::/loader/entries/kola.conf
root_mib=$(($(stat -c %s "$work/disk.img") / 1048576))
truncate -s $((1 + 64 + root_mib + 1))M "$work/disk-uefi.img"
printf 'label: gpt\nstart=1MiB, size=64MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp\nstart=65MiB, size=%sMiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root\n' "$root_mib" |
  sfdisk -q "$work/disk-uefi.img" >&2
dd if="$esp" of="$work/disk-uefi.img" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$work/disk.img" of="$work/disk-uefi.img" bs=1M seek=65 conv=notrunc,sparse status=none
rm -f "$esp" "$work/loader.conf" "$work/kola.conf"

cat >"$work/image.env" <<EOF
KOLA_TEST_IMAGE=$out/disk.img
KOLA_TEST_KERNEL=$out/vmlinux
KOLA_TEST_INITRD=$out/initrd.img
KOLA_TEST_KERNEL_VERSION=$kernel_ver
KOLA_TEST_FLATCAR_INITRD=$out/initrd-flatcar.img
KOLA_TEST_UEFI_DISK=$out/disk-uefi.img
EOF
rm -rf "$ird" "$work"/*.deb "$work"/modules.*
chmod 0755 "$work"
mv "$work" "$out"
trap - EXIT
log "built $out in $((SECONDS - started)) s"
# Keep the three newest images; older ones only fill the disk (~220 MB each).
ls -1dt "$cache"/[0-9a-f]*[0-9a-f] 2>/dev/null | grep -E '/[0-9a-f]{16}$' | tail -n +4 | xargs -r rm -rf
emit
