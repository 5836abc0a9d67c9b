# Shared helpers for the bench/*/run.sh scripts (sourced, not run).
# Servers run pinned to CPU 1, drivers to CPU 0; every process is stopped by its pid.
BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SHARED="${BENCH_SHARED:-$BENCH_ROOT/../shared}"
PEERS="$SHARED/peers"
BENCH_OUT="${BENCH_OUT:-$BENCH_ROOT/build/bench}"
BENCH_NEXU_BIN="${BENCH_NEXU_BIN:-$BENCH_ROOT/build/release/app}"
mkdir -p "$BENCH_OUT"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_http() {  # URL: waits up to 20 s for a 2xx
    for _ in $(seq 1 200); do curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "bench: $1 did not answer" >&2; return 1
}

stop_pid() {  # PID: SIGTERM, wait, SIGKILL if needed
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
}

# Builds the peers' bare Beast server (shared/ is read-only, so into build/).
build_beast_hello() {
    local out="$BENCH_OUT/beast-hello"
    if [ ! -x "$out" ] || [ "$PEERS/beast-hello/main.cpp" -nt "$out" ]; then
        g++ -std=c++20 -O2 -DNDEBUG -Wall -Wextra -Werror -pthread "$PEERS/beast-hello/main.cpp" -o "$out"
    fi
    echo "$out"
}

# Starts nexu pinned to CPU 1 with fresh folders under DIR; prints its pid. Extra
# NAME=VALUE settings may follow.
start_nexu() {  # DIR PORT [NAME=VALUE...]
    local dir="$1" port="$2"; shift 2
    mkdir -p "$dir"
    env NEXU_PORT="$port" NEXU_DATA_DIR="$dir/db" NEXU_LOGS_DIR="$dir/logs" NEXU_STATE_DIR="$dir/state" \
        NEXU_KEY_FILE="$dir/master.key" NEXU_CREATE_KEY=true NEXU_LOG_CONSOLE=false "$@" \
        taskset -c 1 "$BENCH_NEXU_BIN/nexu" > "$dir/nexu.out" 2>&1 < /dev/null &
    echo $!
}
