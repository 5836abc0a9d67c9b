#!/usr/bin/env bash
# Backup and restore MB/s on ~200 MB of data (20,000 1 KiB documents plus
# 18 files of 10 MiB), and key-rotation documents/s while a light writer
# (about 20 writes/s) keeps going. One nexu server, stopped by pid.
# Env: BENCH_NEXU_BIN, BENCH_NEXUCTL_BIN (default build/release/app, else
# build/dev/app), BENCH_DOCS (20000), BENCH_FILES (18), BENCH_FILE_MIB (10).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin_dir="$root/build/release/app"
[ -x "$bin_dir/nexu" ] || bin_dir="$root/build/dev/app"
export BENCH_NEXU_BIN="${BENCH_NEXU_BIN:-$bin_dir/nexu}"
export BENCH_NEXUCTL_BIN="${BENCH_NEXUCTL_BIN:-$bin_dir/nexuctl}"
exec /usr/bin/python3 "$here/backup_bench.py"
