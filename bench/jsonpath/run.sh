#!/usr/bin/env bash
# JSONPath benchmark: Nexu's engine beside the npm engines jsonpath-rfc9535
# and json-p3, in the same run, over the 10,000 generated 1 KiB documents of
# ../shared/peers held as one object keyed by id. Every engine is pinned to
# CPU 1; each repeat runs ours then the npm engines, and the report takes the
# median over repeats of each engine's per-repeat median.
# Usage: bench/jsonpath/run.sh [BUILD_DIR]   (default build/release, which
# `make bench` builds; the bench binary is built there if missing)
# Env: RUNS (timed evaluations per repeat, default 30), REPEATS (default 5).
# Writes build/jsonpath-bench/{ours,npm}.jsonl and prints a Markdown table.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build/release}" && pwd)
shared=${NEXU_SHARED_DIR:-$root/../shared}
work=$root/build/jsonpath-bench
runs=${RUNS:-30}
repeats=${REPEATS:-5}
mkdir -p "$work"

if [[ ! -s $work/docs.jsonl ]]; then
    node "$shared/peers/drivers/gen-docs.js" --out "$work/docs.jsonl" >&2
fi
if [[ ! -d $work/node_modules/json-p3 || ! -d $work/node_modules/jsonpath-rfc9535 ]]; then
    cp "$here/package.json" "$work/package.json"
    (cd "$work" && npm install --no-audit --no-fund >&2)
fi
bench=$build/bench/jsonpath/nexu_jsonpath_bench
if [[ ! -x $bench ]]; then
    cmake --build "$build" --target nexu_jsonpath_bench >&2
fi

: > "$work/ours.jsonl"
: > "$work/npm.jsonl"
for ((i = 1; i <= repeats; i++)); do
    echo "repeat $i/$repeats" >&2
    taskset -c 1 "$bench" "$work/docs.jsonl" "$here/queries.json" "$runs" >> "$work/ours.jsonl"
    NODE_PATH=$work/node_modules taskset -c 1 node "$here/npm_engines.js" \
        "$work/docs.jsonl" "$here/queries.json" "$runs" >> "$work/npm.jsonl"
done
node "$here/report.js" "$work/ours.jsonl" "$work/npm.jsonl"
