#!/bin/bash
# kola: {"description": "Fails on purpose: kola's own tests log in to the kept machine"}
echo "about to fail"
touch /var/lib/kola-failed-here
exit 1
