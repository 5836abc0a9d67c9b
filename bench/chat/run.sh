#!/usr/bin/env bash
# Chat (issue 8): ../shared/peers/drivers/chat-bench.js against ws-node (the
# same protocol on Node's ws, rooms in memory, no persistence) and Nexu in one
# run, each server pinned to CPU 1, the driver to CPU 0:
#   ws-node          c100, c1000, max
#   nexu             the same (NEXU_WS_WRITE_BATCH default: frames batched per socket write)
#   nexu-batch1      the same with NEXU_WS_WRITE_BATCH=1 (one write per frame): before/after
#   nexu-q64k        the same with NEXU_WS_MAX_QUEUED_FRAMES=65536: in `max` the driver reads
#                    more slowly than Nexu fans out, so with the default bound (1024 frames)
#                    Nexu disconnects its clients as slow readers; ws-node has no bound
#   nexu-cluster     c1000 through nginx to two instances with Redis (deploy/cluster.sh),
#                    the whole cluster (nginx, both instances, redis) pinned to CPU 1
# Every Nexu message is stored encrypted and fsynced before its ack. Nexu's own
# per-connection send limit is raised for the run (NEXU_WS_SENDS_PER_SECOND).
# Env: BENCH_NEXU_BIN (build/release/app, needs nexu and nexuctl), BENCH_SERVERS
# (default "ws-node nexu nexu-batch1 nexu-cluster"), BENCH_SCENARIOS ("c100 c1000 max").
set -euo pipefail
source "$(dirname "$0")/../lib/bench.sh"
servers="${BENCH_SERVERS:-ws-node nexu nexu-batch1 nexu-cluster}"
scenarios="${BENCH_SCENARIOS:-c100 c1000 max}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
results="$BENCH_OUT/chat-$stamp.jsonl"
work="$(mktemp -d)"; pids=(); cluster_dir=""
cleanup() {
    for pid in "${pids[@]}"; do stop_pid "$pid"; done
    [ -n "$cluster_dir" ] && "$BENCH_ROOT/deploy/cluster.sh" stop --dir "$cluster_dir" > /dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
[ -d "$PEERS/node/node_modules/ws" ] || (cd "$PEERS/node" && npm install --no-audit --no-fund)
ulimit -n "$(ulimit -Hn)"

password="bench-chat-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
nexu_env=(NEXU_ADMIN_USERNAME=bench-admin NEXU_ADMIN_PASSWORD="$password"
          NEXU_RATE_API_PER_ADDRESS=10000000/1s NEXU_RATE_AUTH_PER_ADDRESS=100000/1s
          NEXU_WS_SENDS_PER_SECOND=100000 NEXU_WS_SEND_BURST=100000 NEXU_MAX_CONNECTIONS=20000
          NEXU_LOG_LEVEL=warning)

args_of() {
    case "$1" in
        c100) echo "--clients 100 --senders 10 --messages 200 --rate 20";;
        c1000) echo "--clients 1000 --senders 10 --messages 30 --rate 3";;
        max) echo "--clients 100 --senders 10 --messages 1200 --rate 400";;
        *) echo "bench: unknown scenario $1" >&2; return 1;;
    esac
}

measure() {  # LABEL BASE PID SCENARIO [login]
    local label="$1" base="$2" pid="$3" scenario="$4" login="${5:-bench:bench-password-1}"
    # shellcheck disable=SC2046
    taskset -c 0 node "$PEERS/drivers/chat-bench.js" --proto nexu --base "$base" --login "$login" \
        --create-room --server-pid "$pid" --label "$label" --scenario "$scenario" \
        $(args_of "$scenario") >> "$results" 2> "$work/$label-$scenario.err" \
        || { cat "$work/$label-$scenario.err" >&2; return 1; }
    echo "$label $scenario: $(tail -n 1 "$results" | head -c 400)" >&2
}

for server in $servers; do
    case "$server" in
        ws-node)
            port="$(free_port)"
            taskset -c 1 "$PEERS/ws-node/start.sh" "$port" > "$work/ws-node.out" 2>&1 < /dev/null &
            pid=$!; pids+=("$pid")
            wait_http "http://127.0.0.1:$port/health"
            for s in $scenarios; do measure ws-node "http://127.0.0.1:$port" "$pid" "$s"; done
            stop_pid "$pid";;
        nexu|nexu-batch1|nexu-q64k)
            extra=(); [ "$server" = nexu-batch1 ] && extra=(NEXU_WS_WRITE_BATCH=1)
            [ "$server" = nexu-q64k ] && extra=(NEXU_WS_MAX_QUEUED_FRAMES=65536)
            port="$(free_port)"
            pid="$(start_nexu "$work/$server" "$port" "${nexu_env[@]}" "${extra[@]}")"; pids+=("$pid")
            wait_http "http://127.0.0.1:$port/ready"
            for s in $scenarios; do
                measure "$server" "http://127.0.0.1:$port" "$pid" "$s" "bench-admin:$password"
            done
            stop_pid "$pid";;
        nexu-cluster)
            cluster_dir="$work/cluster"; port="$(free_port)"
            # cluster.sh uses PORT..PORT+9: find a free run of ports near a free one.
            env "${nexu_env[@]}" taskset -c 1 "$BENCH_ROOT/deploy/cluster.sh" start --dir "$cluster_dir" \
                --port "$port" --instances 2 --bin "$BENCH_NEXU_BIN" > "$work/cluster.out" 2>&1 \
                || { cat "$work/cluster.out" >&2; exit 1; }
            # The CPU of the first instance (half the servers): the driver reports one pid.
            pid="$(cat "$cluster_dir/pids/nexu-1.pid")"
            measure nexu-cluster "http://127.0.0.1:$port" "$pid" c1000 "bench-admin:$password"
            "$BENCH_ROOT/deploy/cluster.sh" stop --dir "$cluster_dir" > /dev/null; cluster_dir="";;
        *) echo "bench: unknown server $server" >&2; exit 2;;
    esac
done

/usr/bin/python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print("| scenario | server | delivered/s | lost | dup | out of order | p50 ms | p99 ms | server CPU | deliveries per server CPU-s |")
print("|---|---|---|---|---|---|---|---|---|---|")
for row in sorted(rows, key=lambda r: (r.get("scenario", ""), r.get("label", ""))):
    g = row.get
    cpu = g("server_cpu_util") or 0
    rate = g("delivered_per_s") or 0
    per_cpu = f"{rate / cpu:,.0f}" if cpu else "-"
    print(f"| {g('scenario')} | {g('label')} | {rate:,.0f} | {g('lost')} | {g('duplicates')} | "
          f"{g('out_of_order')} | {g('latency_p50_ms')} | {g('latency_p99_ms')} | {cpu} | {per_cpu} |")
print(f"\nraw results: {sys.argv[1]}")
PY
