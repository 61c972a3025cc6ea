#!/bin/sh
# kola's external platform test: the machine's serial console, followed.
exec tail -n +1 -F "$EXTERNAL_STATE/$IPADDR/serial.log" 2>/dev/null
