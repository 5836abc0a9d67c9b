#!/usr/bin/env bash
# W1 (GET a document by id) and W2 (POST 1 KiB) through nginx in front of 1, 2
# and 3 nexu instances on one data directory (deploy/cluster.sh), plus W1 and W2
# straight to the single instance to show what nginx costs. The cluster (nginx,
# every nexu, redis) is pinned to CPU 1 and wrk to CPU 0, as in the other HTTP
# benches, so every instance competes for the same core: the figures show the
# cost of spreading over instances, not the gain of more hardware (see
# BENCHMARKS.md for what they predict on separate hosts). Every process is
# started by cluster.sh and stopped by the pid it recorded.
# Env: DURATION (10) CONNS (64) COUNT (2000 documents for W1) SIZES ("1 2 3")
set -euo pipefail
source "$(dirname "$0")/../lib/bench.sh"
duration="${DURATION:-10}"; conns="${CONNS:-64}"; count="${COUNT:-2000}"; sizes="${SIZES:-1 2 3}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
results="$BENCH_OUT/cluster-$stamp.jsonl"
work="$(mktemp -d)"; running=""
cleanup() {
    [ -n "$running" ] && "$BENCH_ROOT/deploy/cluster.sh" stop --dir "$running" > /dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
docs="$BENCH_OUT/docs-$count.jsonl"
[ -f "$docs" ] || node "$PEERS/drivers/gen-docs.js" --count "$count" --out "$docs" > /dev/null

port_block() {  # a base port with base..base+9 free (nginx, instances, redis at +9)
    /usr/bin/python3 - <<'PY'
import random, socket
for _ in range(200):
    base = random.randrange(20000, 31990)
    held = []
    try:
        for port in range(base, base + 10):
            s = socket.socket(); held.append(s); s.bind(("127.0.0.1", port))
        print(base); break
    except OSError:
        pass
    finally:
        for s in held: s.close()
PY
}

cpu_seconds() {  # total utime+stime of the cluster's processes and their children (nginx workers)
    local total=0 pid
    for pid in $(cat "$running"/pids/*.pid) $(for p in $(cat "$running"/pids/*.pid); do
                                                ps -o pid= --ppid "$p"; done); do
        [ -r "/proc/$pid/stat" ] || continue
        total="$(sed 's/.*) //' "/proc/$pid/stat" | awk -v t="$total" '{printf "%.2f", t + ($12 + $13) / 100}')"
    done
    echo "$total"
}

http() {  # LABEL BASE ARGS...: one run; adds the whole cluster's CPU use to the result
    local label="$1" base="$2"; shift 2
    local c0 c1 t0 t1
    c0="$(cpu_seconds)"; t0="$(date +%s.%N)"
    "$PEERS/drivers/http-bench.sh" --label "$label" --base "$base" --duration "$duration" \
        --conns "$conns" --threads 2 --cpu 0 "$@" > "$work/row.json" 2> "$work/http.err" \
        || { cat "$work/http.err" >&2; return 1; }
    c1="$(cpu_seconds)"; t1="$(date +%s.%N)"
    /usr/bin/python3 - "$work/row.json" "$c0" "$c1" "$t0" "$t1" >> "$results" <<'PY'
import json, sys
row = json.loads(open(sys.argv[1]).read())
c0, c1, t0, t1 = map(float, sys.argv[2:6])
row["cluster_cpu_util"] = round((c1 - c0) / (t1 - t0), 2)
print(json.dumps(row))
PY
}

admin_password="bench admin passphrase $RANDOM$RANDOM"
for n in $sizes; do
    port="$(port_block)"; running="$work/cluster-$n"; nginx="http://127.0.0.1:$port"
    env NEXU_ADMIN_USERNAME=bench-admin NEXU_ADMIN_PASSWORD="$admin_password" \
        NEXU_RATE_API_PER_ADDRESS=10000000/1s NEXU_RATE_AUTH_PER_ADDRESS=100000/1s \
        taskset -c 1 "$BENCH_ROOT/deploy/cluster.sh" start --dir "$running" --port "$port" \
        --instances "$n" --bin "$BENCH_NEXU_BIN" > "$work/start.log" 2>&1 \
        || { cat "$work/start.log" >&2; exit 1; }
    token="$(node "$PEERS/drivers/login.js" "$nginx" bench-admin "$admin_password")"
    curl -fsS -o /dev/null -X PUT "$nginx/api/v1/collections/bench" -H "authorization: Bearer $token" \
        -H 'content-type: application/json' \
        -d '{"rules":{"read":"authenticated","write":"authenticated"}}'
    node "$PEERS/drivers/load-docs.js" --base "$nginx" --token "$token" --ids-out "$work/ids-$n.txt" \
        --count "$count" --concurrency 8 > /dev/null
    sleep 1  # every instance past its sync interval: W1 reads are cache hits after the first
    if [ "$n" = 1 ]; then
        http "direct-1" "http://127.0.0.1:$((port + 1))" --token "$token" --workload W1 --ids "$work/ids-$n.txt"
    fi
    http "nginx-$n" "$nginx" --token "$token" --workload W1 --ids "$work/ids-$n.txt"
    if [ "$n" = 1 ]; then
        http "direct-1" "http://127.0.0.1:$((port + 1))" --token "$token" --workload W2
    fi
    http "nginx-$n" "$nginx" --token "$token" --workload W2
    "$BENCH_ROOT/deploy/cluster.sh" stop --dir "$running" > /dev/null
    running=""
    echo "$n instance(s) done" >&2
done

/usr/bin/python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print("| target | workload | req/s | p50 ms | p99 ms | non-2xx | CPU busy (cluster, of 2 cores) |")
print("|---|---|---|---|---|---|---|")
for r in sorted(rows, key=lambda r: (r["workload"], r["label"])):
    print(f"| {r['label']} | {r['workload']} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
          f"{r['non2xx']} | {r['cluster_cpu_util']} |")
print(f"\nraw results: {sys.argv[1]}")
PY
