#!/usr/bin/env bash
# Storage benchmarks (docs/storage.md, BENCHMARKS.md): durable
# writes against SQLite (WAL, synchronous=FULL) and the original design, reads,
# scans, startup and memory, on the disk holding build/. QUICK=1 for a short run.
set -euo pipefail
source "$(dirname "$0")/../lib/bench.sh"
bench="$BENCH_ROOT/build/release/bench/storage/nexu_storage_bench"
[ -x "$bench" ] || { echo "bench/storage: $bench is missing (make bench builds it; needs libsqlite3-dev)" >&2; exit 1; }
dir="$BENCH_OUT/storage"
mkdir -p "$dir"
args=("$dir")
[ "${QUICK:-0}" = 1 ] && args+=(--quick)
taskset -c 1 "$bench" "${args[@]}"
