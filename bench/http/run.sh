#!/usr/bin/env bash
# GET /health (W4): nexu with all its middleware (request id, security headers,
# access log line, metrics) against beast-hello, the bare Beast server of
# ../shared/peers, in the same run: each server pinned to CPU 1, wrk to CPU 0,
# ROUNDS rounds alternating, medians reported.
# Env: ROUNDS (3) DURATION (10) CONNS (64)
set -euo pipefail
source "$(dirname "$0")/../lib/bench.sh"
rounds="${ROUNDS:-3}"; duration="${DURATION:-10}"; conns="${CONNS:-64}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
results="$BENCH_OUT/http-$stamp.jsonl"
beast_hello="$(build_beast_hello)"
work="$(mktemp -d)"; pids=()
cleanup() { for pid in "${pids[@]}"; do stop_pid "$pid"; done; rm -rf "$work"; }
trap cleanup EXIT

measure() {  # LABEL PORT PID
    "$PEERS/drivers/http-bench.sh" --base "http://127.0.0.1:$2" --workload W4 --label "$1" \
        --server-pid "$3" --duration "$duration" --conns "$conns" --threads 2 --cpu 0 \
        >> "$results" 2> "$work/$1.err" || { cat "$work/$1.err" >&2; return 1; }
}

for round in $(seq 1 "$rounds"); do
    for threads in 1 2; do
        port="$(free_port)"
        taskset -c 1 "$beast_hello" "$port" "$threads" > /dev/null 2>&1 & pid=$!; pids+=("$pid")
        wait_http "http://127.0.0.1:$port/health"
        measure "beast-hello-${threads}t" "$port" "$pid"
        stop_pid "$pid"
    done
    port="$(free_port)"
    pid="$(start_nexu "$work/nexu-$round" "$port")"; pids+=("$pid")
    wait_http "http://127.0.0.1:$port/health"
    measure nexu "$port" "$pid"
    stop_pid "$pid"
    echo "round $round done" >&2
done

/usr/bin/python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
by = {}
for row in rows:
    by.setdefault(row["label"], []).append(row)
print("| server | req/s (median) | req/s over rounds | p50 ms | p99 ms | server CPU | non-2xx |")
print("|---|---|---|---|---|---|---|")
medians = {}
for label in ("beast-hello-1t", "beast-hello-2t", "nexu"):
    runs = sorted(by.get(label, []), key=lambda r: r["rps"])
    if not runs:
        continue
    mid = runs[len(runs) // 2]
    medians[label] = mid["rps"]
    print(f"| {label} | {mid['rps']:,.0f} | {runs[0]['rps']:,.0f}-{runs[-1]['rps']:,.0f} | "
          f"{mid['p50_ms']:.2f} | {mid['p99_ms']:.2f} | {mid['server_cpu_util']} | {mid['non2xx']} |")
best = max(medians.get("beast-hello-1t", 0), medians.get("beast-hello-2t", 0))
if best and "nexu" in medians:
    print(f"\nnexu / best beast-hello: {medians['nexu'] / best:.0%} (target >= 80%)")
print(f"\nraw results: {sys.argv[1]}")
PY
