#!/usr/bin/env bash
# The docker-compose topology as plain processes on 127.0.0.1, for machines
# without a Docker engine and for multi-instance tests: nginx in front of N
# nexu processes sharing one data directory, plus redis-server. Every process
# is started here and stopped by the pid recorded at start, never by name.
#
#   deploy/cluster.sh run   [options]   start, wait for Ctrl-C or SIGTERM, stop (make cluster)
#   deploy/cluster.sh start [options]   start and return once nginx answers /health
#   deploy/cluster.sh stop  [--dir DIR] stop everything started in DIR
# options: --dir DIR (build/cluster) --port P (8080; instances P+1.., redis P+9)
#          --instances N (3, at most 8) --bin DIR (build/release/app)
# NEXU_* variables in the caller's environment reach every instance (the
# bench raises the rate limits that way); the per-instance ones are set here.
# Prometheus scrapes the instances on their own ports (deploy/prometheus.yml);
# nginx does not publish /metrics.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
action="${1:-run}"; shift || true
dir="$here/build/cluster"; port=8080; instances=3; bin="$here/build/release/app"
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir="$2";; --port) port="$2";; --instances) instances="$2";; --bin) bin="$2";;
        *) echo "cluster.sh: unknown option $1" >&2; exit 2;;
    esac
    shift 2
done
case "$instances" in [1-8]) ;; *) echo "cluster.sh: --instances must be 1 to 8" >&2; exit 2;; esac
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
pids="$dir/pids"

stop_all() {
    [ -d "$pids" ] || return 0
    for file in "$pids"/*.pid; do
        [ -e "$file" ] || continue
        pid="$(cat "$file")"
        case "$(basename "$file")" in
            nginx.pid) kill -QUIT "$pid" 2>/dev/null || true;;
            *) kill -TERM "$pid" 2>/dev/null || true;;
        esac
    done
    for file in "$pids"/*.pid; do
        [ -e "$file" ] || continue
        pid="$(cat "$file")"
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$file"
    done
    echo "cluster in $dir stopped"
}

wait_for() {  # URL
    for _ in $(seq 1 300); do
        curl -fsS --max-time 2 -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "cluster.sh: $1 did not answer" >&2
    return 1
}

start_all() {
    [ -x "$bin/nexu" ] || { echo "cluster.sh: no nexu in $bin (make build)" >&2; exit 1; }
    mkdir -p "$pids" "$dir/data" "$dir/logs" "$dir/redis" "$dir/nginx/logs" "$dir/nginx/tmp"
    [ -e "$dir/master.key" ] || "$bin/nexuctl" keygen --key-file "$dir/master.key" >/dev/null

    local redis_port=$((port + 9))
    redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
        --dir "$dir/redis" --logfile "$dir/redis/redis.log" --daemonize no \
        > "$dir/redis/redis.out" 2>&1 < /dev/null &
    echo $! > "$pids/redis.pid"

    local upstreams=""
    for i in $(seq 1 "$instances"); do
        local instance_port=$((port + i))
        NEXU_PORT="$instance_port" NEXU_INSTANCE_ID="nexu-$i" NEXU_DATA_DIR="$dir/data" \
        NEXU_STATE_DIR="$dir/state-$i" NEXU_LOGS_DIR="$dir/logs" NEXU_LOG_FILE="app-{instance}.log" \
        NEXU_LOG_CONSOLE=false NEXU_KEY_FILE="$dir/master.key" \
        NEXU_REDIS_URL="redis://127.0.0.1:$redis_port" NEXU_TRUSTED_PROXIES=127.0.0.1 \
            "$bin/nexu" > "$dir/logs/nexu-$i.out" 2>&1 < /dev/null &
        echo $! > "$pids/nexu-$i.pid"
        upstreams+="        server 127.0.0.1:$instance_port max_fails=1 fail_timeout=2s;"$'\n'
    done

    cat > "$dir/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid logs/nginx.pid;
error_log logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fcgi;
    uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
    map \$http_upgrade \$connection_upgrade { default upgrade; '' ''; }
    upstream nexu {
$upstreams        keepalive 64;
    }
    server {
        listen 127.0.0.1:$port;
        client_max_body_size 64m;
        location = /metrics { return 404; }
        location / {
            proxy_pass http://nexu;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 3;
            proxy_next_upstream_timeout 10s;
            proxy_connect_timeout 2s;
            proxy_read_timeout 75s;
        }
    }
}
CONF
    nginx -p "$dir/nginx" -c nginx.conf -e logs/error.log > "$dir/nginx/logs/nginx.out" 2>&1 \
        < /dev/null &
    echo $! > "$pids/nginx.pid"

    for i in $(seq 1 "$instances"); do
        wait_for "http://127.0.0.1:$((port + i))/ready" || return 1
    done
    wait_for "http://127.0.0.1:$port/health" || return 1
    echo "cluster up: nginx http://127.0.0.1:$port -> $instances nexu instances" \
         "(ports $((port + 1))-$((port + instances))), redis 127.0.0.1:$redis_port, data $dir/data"
}

case "$action" in
    start) start_all || { stop_all; exit 1; } ;;
    stop) stop_all ;;
    run)
        trap 'stop_all; exit 0' INT TERM
        if ! start_all; then stop_all; exit 1; fi
        echo "Ctrl-C stops the cluster"
        while true; do sleep 1; done
        ;;
    *) echo "usage: cluster.sh run|start|stop [options]" >&2; exit 2 ;;
esac
