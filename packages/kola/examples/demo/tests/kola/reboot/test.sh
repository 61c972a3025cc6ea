#!/bin/bash
## kola:
##   description: Reboots twice through autopkgtest's interface; the boot id changes each time
##   tags: reboot
##   timeoutMin: 15
# The only executable of its directory, named test.sh: the test is ext.demo.reboot.
set -xeuo pipefail
boot_id=$(cat /proc/sys/kernel/random/boot_id)
case "${AUTOPKGTEST_REBOOT_MARK:-}" in
  "") echo "test beginning"; echo "$boot_id" > /var/lib/kola-boot-0; /tmp/autopkgtest-reboot mark1 ;;
  mark1) echo "test in mark1"; test "$boot_id" != "$(cat /var/lib/kola-boot-0)"; echo "$boot_id" > /var/lib/kola-boot-1; /tmp/autopkgtest-reboot mark2 ;;
  mark2) echo "test in mark2"; test "$boot_id" != "$(cat /var/lib/kola-boot-1)" ;;
  *) echo "unexpected mark: ${AUTOPKGTEST_REBOOT_MARK}"; exit 1 ;;
esac
echo "ok autopkgtest rebooting"
