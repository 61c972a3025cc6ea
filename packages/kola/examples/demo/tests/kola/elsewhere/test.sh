#!/bin/bash
# kola: {"platforms": "aws gcp", "description": "Runs only on clouds: skipped on qemu with that reason"}
exit 1
