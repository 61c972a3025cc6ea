#!/bin/bash
# kola: {"requiredTag": "special", "exclusive": false, "description": "Runs only with --tag special"}
echo "asked for by tag"
