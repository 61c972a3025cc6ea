#!/bin/bash
# kola: {"description": "Crashes the kernel through sysrq: the console check fails it at once, not its timeout", "timeoutMin": 10}
echo "crashing the kernel"
sync
echo 1 > /proc/sys/kernel/sysrq
echo c > /proc/sysrq-trigger
sleep 600
