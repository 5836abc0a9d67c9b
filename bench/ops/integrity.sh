#!/usr/bin/env bash
# The integrity job over COUNT (100,000) documents: alone, then while W1 (GET
# by id) runs, against W1 without it. Targets (issue 9): the run under 30 s
# on 2 cores, W1 at most 20% slower while it runs. Server pinned to CPU 1,
# drivers to CPU 0, every process stopped by its pid.
# Env: COUNT (100000) DURATION (15) CONNS (64) BENCH_NEXU_BIN (build/release/app)
set -euo pipefail
source "$(dirname "$0")/../lib/bench.sh"
count="${COUNT:-100000}"; duration="${DURATION:-15}"; conns="${CONNS:-64}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
results="$BENCH_OUT/integrity-$stamp.jsonl"
work="$(mktemp -d)"; pids=()
cleanup() { for pid in "${pids[@]}"; do stop_pid "$pid"; done; rm -rf "$work"; }
trap cleanup EXIT
docs="$BENCH_OUT/docs-$count.jsonl"
[ -f "$docs" ] || node "$PEERS/drivers/gen-docs.js" --count "$count" --out "$docs" > /dev/null

port="$(free_port)"; base="http://127.0.0.1:$port"
admin_password="bench admin passphrase $RANDOM$RANDOM"
off=()
for job in INTEGRITY REINDEX LOG_ROTATION TEMP_CLEANUP BACKUP KEY_ROTATION; do
    off+=("NEXU_JOB_${job}_SCHEDULE=off")
done
start() {
    pid="$(start_nexu "$work/nexu" "$port" NEXU_ADMIN_USERNAME=bench-admin \
        NEXU_ADMIN_PASSWORD="$admin_password" NEXU_RATE_API_PER_ADDRESS=10000000/1s \
        NEXU_RATE_AUTH_PER_ADDRESS=100000/1s "${off[@]}")"; pids+=("$pid")
    wait_http "$base/health"
    token="$(node "$PEERS/drivers/login.js" "$base" bench-admin "$admin_password")"
}
api() {  # METHOD PATH [BODY]
    curl -fsS -X "$1" "$base$2" -H "authorization: Bearer $token" \
        -H 'content-type: application/json' ${3:+-d "$3"}
}
start
api PUT /api/v1/collections/bench '{"rules":{"read":"authenticated","write":"authenticated"}}' > /dev/null
node "$PEERS/drivers/load-docs.js" --base "$base" --token "$token" --ids-out "$work/ids.txt" \
    --count "$count" --concurrency "${LOAD_CONCURRENCY:-32}" >> "$results"

runs_of() {  # JOB: its finished runs
    api GET /api/v1/system/jobs | /usr/bin/python3 -c \
        'import json,sys; j={x["name"]:x for x in json.load(sys.stdin)["items"]}[sys.argv[1]]; print(j["runs"] if not j["running"] else -1)' "$1"
}
run_and_wait() {  # JOB: starts it and waits for it to finish
    local before; before="$(runs_of "$1")"
    api POST "/api/v1/system/jobs/$1/run" > /dev/null
    until [ "$(runs_of "$1")" -gt "$before" ]; do sleep 0.2; done
}
job_figure() {  # JOB LABEL: one JSON line with the last run
    api GET /api/v1/system/jobs | /usr/bin/python3 -c '
import json, sys
job = {x["name"]: x for x in json.load(sys.stdin)["items"]}[sys.argv[1]]
print(json.dumps({"label": sys.argv[2], "job": job["name"], "seconds": job["last_duration_s"],
                  "result": job["last_result"], "summary": job["last_summary"]}))' "$1" "$2"
}
w1() {  # LABEL
    "$PEERS/drivers/http-bench.sh" --label "$1" --server-pid "$pid" --duration "$duration" \
        --conns "$conns" --threads 2 --cpu 0 --base "$base" --token "$token" --workload W1 \
        --ids "$work/ids.txt" >> "$results" 2> "$work/http.err" || { cat "$work/http.err" >&2; return 1; }
}

run_and_wait reindex  # a checkpoint, as the store would have written by now in production
job_figure reindex reindex >> "$results"
run_and_wait integrity
job_figure integrity integrity-alone >> "$results"
w1 w1-baseline
# The integrity job started a second into a W1 run, repeated until W1 ends.
(
    sleep 1
    end=$((SECONDS + duration - 2))
    while [ "$SECONDS" -lt "$end" ]; do run_and_wait integrity; done
) & loop=$!
w1 w1-during-integrity
wait "$loop"
job_figure integrity integrity-under-w1 >> "$results"

/usr/bin/python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
rps = {}
for r in rows:
    if "rps" in r:
        rps[r["label"]] = r["rps"]
        print(f"{r['label']}: {r['rps']:,.0f} req/s p50 {r.get('p50_ms')} ms p99 {r.get('p99_ms')} ms "
              f"non-2xx {r.get('non2xx')}")
    elif "job" in r:
        print(f"{r['label']}: {r['seconds']:.2f} s {r['result']} ({r['summary']})")
if "w1-baseline" in rps and "w1-during-integrity" in rps:
    drop = 100 * (1 - rps["w1-during-integrity"] / rps["w1-baseline"])
    print(f"W1 throughput drop while integrity runs: {drop:.1f}% (target <= 20%)")
print(f"raw results: {sys.argv[1]}")
PY
