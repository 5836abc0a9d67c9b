#!/usr/bin/env bash
# Accounts: token check cost and Argon2id cost (auth_bench), logins per second
# through the server with the default Argon2id parameters, then p99 of
# GET /health and of an authenticated GET /api/v1/auth/me during a login
# flood at twice that rate. nexu on CPU 1, the drivers on CPU 0.
# Env: DURATION (10)
set -euo pipefail
source "$(dirname "$0")/../lib/bench.sh"
duration="${DURATION:-10}"
work="$(mktemp -d -p "$BENCH_OUT")"; pids=()
cleanup() { for pid in "${pids[@]}"; do stop_pid "$pid"; done; rm -rf "$work"; }
trap cleanup EXIT
load="/usr/bin/python3 $(dirname "$0")/login_load.py"

echo "### Token check and Argon2id cost (auth_bench, defaults: opslimit 2, 19 MiB)"
"$BENCH_NEXU_BIN/../bench/auth/nexu_auth_bench" "$work/micro"

port="$(free_port)"
user=bench-admin; password="bench admin passphrase"
pid="$(start_nexu "$work/nexu" "$port" NEXU_ADMIN_USERNAME="$user" NEXU_ADMIN_PASSWORD="$password" \
    NEXU_RATE_AUTH_PER_ADDRESS=1000000/1s NEXU_RATE_API_PER_ADDRESS=1000000/1s)"; pids+=("$pid")
base="http://127.0.0.1:$port"
wait_http "$base/health"
threads="$(grep -c ^processor /proc/cpuinfo)"

closed="$(taskset -c 0 $load "$base" "$user" "$password" closed "$duration" 8)"
rate="$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["logins_per_s"])' "$closed")"
echo
echo "### Logins through the server (8 clients, ${duration}s; password threads: half of $threads cores, queue 64)"
echo "$closed"

token="$(curl -fsS "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"$password\"}" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
flood_rate="$(/usr/bin/python3 -c "print(round(2 * $rate, 1))")"
echo
echo "### During a login flood at ${flood_rate}/s (twice the rate above)"
taskset -c 0 $load "$base" "$user" "$password" open "$((duration * 2 + 4))" "$flood_rate" > "$work/flood.json" &
flood=$!; pids+=("$flood")
sleep 2
echo "| request | req/s | p50 | p99 | target p99 |"
echo "|---|---|---|---|---|"
for target in health me; do
    if [ "$target" = health ]; then url="$base/health"; header=(); else url="$base/api/v1/auth/me"; header=(-H "Authorization: Bearer $token"); fi
    out="$(taskset -c 0 wrk -t1 -c16 -d"${duration}s" --latency "${header[@]}" "$url")"
    rps="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
    p50="$(echo "$out" | awk '$1=="50%" {print $2}')"; p99="$(echo "$out" | awk '$1=="99%" {print $2}')"
    echo "| GET ${url#$base} | $rps | $p50 | $p99 | < 10 ms |"
done
wait "$flood" || true
echo
echo "flood answers: $(cat "$work/flood.json")"
