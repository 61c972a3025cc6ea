#!/bin/sh
# kola's external platform test: "provisions" a machine by starting a local
# QEMU from the test image, as a lab's script would power on a server.
# The machine is reachable at its own loopback address (127.77.0.N) on port
# 22, and on a private L2 segment (a QEMU multicast socket) at 192.168.77.N.
# Needs EXTERNAL_STATE (a directory), EXTERNAL_MCAST (group:port), NODE and
# KOLA_TEST_IMAGE/KERNEL/INITRD; gets USERDATA_FILE from kola.
set -eu
state="$EXTERNAL_STATE"
n=$(flock "$state/.lock" sh -c 'n=$(cat "$1/count" 2>/dev/null || echo 0); echo $((n + 1)) >"$1/count"; echo "$n"' sh "$state")
ip="127.77.0.$((n + 10))"
priv="192.168.77.$((n + 10))"
mac=$(printf '52:54:00:77:00:%02x' "$n")
dir="$state/$ip"
mkdir -p "$dir"
# The lab's own network setup: the private address, as a networkd file in the config.
"$NODE" -e '
  const fs = require("node:fs")
  const [file, mac, ip] = process.argv.slice(1)
  const config = JSON.parse(fs.readFileSync(file, "utf8"))
  const text = `[Match]\nMACAddress=${mac}\n\n[Network]\nAddress=${ip}/24\nLinkLocalAddressing=no\n`
  config.storage ??= {}
  config.storage.files = [...(config.storage.files ?? []), {path: "/etc/systemd/network/10-lab-private.network", mode: 420, contents: {source: "data:," + encodeURIComponent(text)}}]
  process.stdout.write(JSON.stringify(config))
' "$USERDATA_FILE" "$mac" "$priv" >"$dir/config.ign"
qemu-img create -q -f qcow2 -b "$KOLA_TEST_IMAGE" -F raw "$dir/disk.qcow2"
qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -display none -nodefaults -no-user-config \
  -kernel "$KOLA_TEST_KERNEL" -initrd "$KOLA_TEST_INITRD" -append 'root=/dev/vda console=ttyS0 systemd.show_status=0 loglevel=5 no_timer_check' \
  -drive "if=none,id=d0,file=$dir/disk.qcow2,format=qcow2,cache=unsafe" -device virtio-blk-pci,drive=d0 \
  -netdev "user,id=n0,restrict=yes,hostfwd=tcp:$ip:22-:22" -device virtio-net-pci,netdev=n0 \
  -netdev "socket,id=p0,mcast=$EXTERNAL_MCAST,localaddr=127.0.0.1" -device "virtio-net-pci,netdev=p0,mac=$mac" \
  -object rng-random,filename=/dev/urandom,id=rng0 -device virtio-rng-pci,rng=rng0 \
  -fw_cfg "name=opt/com.coreos/config,file=$dir/config.ign" \
  -serial "file:$dir/serial.log" -daemonize -pidfile "$dir/qemu.pid" >"$dir/qemu.log" 2>&1
echo "provisioned $ip" >&2
echo "$ip $priv"
