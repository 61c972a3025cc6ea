#!/usr/bin/env bash
# Installs the Debian packages the test suite and the main job need on a fresh
# Debian 12 machine: QEMU for kola, dockerd and podman for cork, Ceph radosgw
# for the S3 emulator, Java-free GCS and Azure emulators come from npm instead.
set -euo pipefail
pkgs=(
  qemu-system-x86 qemu-utils            # kola's QEMU platform, VHD conversion for ore azure
  ovmf systemd-boot-efi dosfstools mtools fdisk  # kola's UEFI firmware; the test image's whole UEFI disk
  debootstrap e2fsprogs busybox-static dropbear-bin cpio xz-utils zstd  # the test image builder
  docker.io podman bzip2                # cork against a real engine; bzip2 packs the test SDK tarballs
  radosgw ceph-mon ceph-osd ceph-common  # S3 emulator
  rclone gnupg curl                     # benchmarks' reference tools
  prometheus                            # kola metrics test
  etcd-server containerd containernetworking-plugins golang-go dpkg-dev unzip gcc libc6-dev  # kola kube's local cluster (scripts/services/kube.sh)
  git ca-certificates openssh-client
  openssh-server                        # a real sshd as the jump host of kola --openstack-host (openstack.test.ts)
  chromium                              # kola's report.html, read in headless Chromium by its test
  zsh                                   # the zsh completion test (bash's is tested too)
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "system-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
