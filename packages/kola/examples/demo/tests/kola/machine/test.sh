#!/bin/bash
## kola:
##   description: The machine has what the test asked for
##   minMemory: 1536
##   minDisk: 3
##   additionalDisks: ["1G", "512M"]
##   additionalNics: 1
##   appendKernelArgs: kola.demo=yes
##   creationDate: 2025-01-15
set -xeuo pipefail
grep -w kola.demo=yes /proc/cmdline
mem_kib=$(awk '/MemTotal/{print $2}' /proc/meminfo)
test "$mem_kib" -gt $((1400 * 1024))
test "$(( $(cat /sys/block/vda/size) * 512 ))" -ge $((3 * 1024 * 1024 * 1024))
test "$(( $(cat /sys/block/vdb/size) * 512 ))" -eq $((1024 * 1024 * 1024))
test "$(( $(cat /sys/block/vdc/size) * 512 ))" -eq $((512 * 1024 * 1024))
# The user network, the cluster's private network, and the one asked for.
test "$(ls /sys/class/net | grep -vc '^lo$')" -ge 3
