#!/usr/bin/env bash
# The data API workloads of ../shared/peers (W1 GET by id, W3 the filter query
# without and with a declared index on `age`, one W3 query at a time, W2 POST
# 1 KiB, run last since it grows the collection) on nexu, authenticated,
# beside json-server's field filter and beast-hello's /health (W1's yardstick:
# W1 is to reach half of it) in the same run. Servers pinned to CPU 1,
# drivers to CPU 0, stopped by pid.
# Env: DURATION (10) CONNS (64) COUNT (10000) BENCH_NO_JSON_SERVER (unset)
# json-server is installed once with npm into $BENCH_OUT/node (shared/ stays untouched).
set -euo pipefail
source "$(dirname "$0")/../lib/bench.sh"
duration="${DURATION:-10}"; conns="${CONNS:-64}"; count="${COUNT:-10000}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
results="$BENCH_OUT/data-$stamp.jsonl"
work="$(mktemp -d)"; pids=()
cleanup() { for pid in "${pids[@]}"; do stop_pid "$pid"; done; rm -rf "$work"; }
trap cleanup EXIT
docs="$BENCH_OUT/docs-$count.jsonl"
[ -f "$docs" ] || node "$PEERS/drivers/gen-docs.js" --count "$count" --out "$docs" > /dev/null

http() {  # LABEL PID ARGS...
    local label="$1" pid="$2"; shift 2
    "$PEERS/drivers/http-bench.sh" --label "$label" --server-pid "$pid" --duration "$duration" \
        --conns "$conns" --threads 2 --cpu 0 "$@" >> "$results" 2> "$work/http.err" \
        || { cat "$work/http.err" >&2; return 1; }
}
single() {  # LABEL ARGS...: one query at a time
    local label="$1"; shift
    taskset -c 0 node "$PEERS/drivers/query-bench.js" --engines none --runs 20 --label "$label" \
        --docs "$docs" "$@" >> "$results" 2> "$work/query.err" || { cat "$work/query.err" >&2; return 1; }
}

# ---- json-server: W3 as its field filter --------------------------------------
if [ -z "${BENCH_NO_JSON_SERVER:-}" ]; then
    js="$BENCH_OUT/node/node_modules/json-server/lib/cli/bin.js"
    [ -f "$js" ] || npm install --silent --prefix "$BENCH_OUT/node" json-server@0.17.4 > /dev/null
    mkdir -p "$work/json-server"
    printf '{"bench":[],"health":{"status":"ok"}}\n' > "$work/json-server/db.json"
    node "$PEERS/json-server/seed.js" "$work/json-server" "$docs" "$work/json-server-ids.txt" > /dev/null
    port="$(free_port)"
    taskset -c 1 node "$js" --host 127.0.0.1 --port "$port" --quiet "$work/json-server/db.json" \
        > "$work/json-server.log" 2>&1 & pid=$!; pids+=("$pid")
    wait_http "http://127.0.0.1:$port/health"
    http json-server "$pid" --base "http://127.0.0.1:$port" --workload W3 --query-method GET \
        --query-path '/bench?age_gte=91&active=true'
    single json-server --base "http://127.0.0.1:$port" --query-method GET \
        --query-path '/bench?age_gte=91&active=true'
    stop_pid "$pid"
fi

# ---- beast-hello: /health, the bare HTTP ceiling W1 is measured against -----------
beast_hello="$(build_beast_hello)"
for threads in 1 2; do
    port="$(free_port)"
    taskset -c 1 "$beast_hello" "$port" "$threads" > /dev/null 2>&1 & pid=$!; pids+=("$pid")
    wait_http "http://127.0.0.1:$port/health"
    http "beast-hello-${threads}t" "$pid" --base "http://127.0.0.1:$port" --workload W4
    stop_pid "$pid"
done

# ---- nexu -------------------------------------------------------------------------
port="$(free_port)"; base="http://127.0.0.1:$port"
admin_password="bench admin passphrase $RANDOM$RANDOM"
pid="$(start_nexu "$work/nexu" "$port" NEXU_ADMIN_USERNAME=bench-admin \
    NEXU_ADMIN_PASSWORD="$admin_password" NEXU_RATE_API_PER_ADDRESS=10000000/1s \
    NEXU_RATE_AUTH_PER_ADDRESS=100000/1s)"; pids+=("$pid")
wait_http "$base/health"
token="$(node "$PEERS/drivers/login.js" "$base" bench-admin "$admin_password")"
put_collection() {  # BODY
    curl -fsS -o /dev/null -X PUT "$base/api/v1/collections/bench" -H "authorization: Bearer $token" \
        -H 'content-type: application/json' -d "$1"
}
put_collection '{"rules":{"read":"authenticated","write":"authenticated"}}'
node "$PEERS/drivers/load-docs.js" --base "$base" --token "$token" --ids-out "$work/nexu-ids.txt" \
    --count "$count" --concurrency 8 >> "$results"
http nexu "$pid" --base "$base" --token "$token" --workload W1 --ids "$work/nexu-ids.txt"
http nexu-noindex "$pid" --base "$base" --token "$token" --workload W3
single nexu-noindex --base "$base" --token "$token"
put_collection '{"rules":{"read":"authenticated","write":"authenticated"},"indexes":["age"]}'
http nexu-index-age "$pid" --base "$base" --token "$token" --workload W3
single nexu-index-age --base "$base" --token "$token"
http nexu "$pid" --base "$base" --token "$token" --workload W2
stop_pid "$pid"

/usr/bin/python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
print("| target | workload | req/s | p50 ms | p99 ms | non-2xx | server CPU |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    if "rps" in r:
        print(f"| {r.get('label')} | {r.get('workload')} | {r['rps']:,.0f} | {r.get('p50_ms')} | "
              f"{r.get('p99_ms')} | {r.get('non2xx')} | {r.get('server_cpu_util')} |")
print()
for r in rows:
    if "rps" not in r:
        print(json.dumps(r))
print(f"\nraw results: {sys.argv[1]}")
PY
