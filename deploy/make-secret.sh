#!/usr/bin/env bash
# Writes secrets/master.key (64 hex characters, mode 0600) for docker compose,
# unless it exists. Back this file up apart from the data: without it the
# data cannot be read.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p secrets && chmod 700 secrets
if [ -e secrets/master.key ]; then echo "secrets/master.key exists; keeping it"; exit 0; fi
umask 077
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > secrets/master.key
echo >> secrets/master.key
echo "wrote secrets/master.key"
