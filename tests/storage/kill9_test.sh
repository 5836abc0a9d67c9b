#!/usr/bin/env bash
# kill -9 loop: concurrent writers (storage_driver writers) are killed at a
# random moment, then a fresh process reopens the store and checks it against
# the writers' fsynced journals: 0 acknowledged writes lost, 0 undecryptable
# objects, and startup to ready (median) within 2 s at 10,000+ documents.
# Usage: kill9_test.sh DRIVER [CYCLES]. Stops processes by pid only.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
driver=$1
cycles=${2:-100}
work=$(mktemp -d "${TMPDIR:-/tmp}/nexu-kill9-XXXXXX")
writer_pid=
cleanup() {
    if [ -n "$writer_pid" ]; then kill -9 "$writer_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
key=$work/master.key
write_test_key "$key"
common=(--data "$work/db" --state "$work/state" --key "$key")

"$driver" populate "${common[@]}" --count 10000
ready=()
for ((cycle = 1; cycle <= cycles; cycle++)); do
    "$driver" writers "${common[@]}" --journal "$work/journal" --threads 4 --ids 300 \
        2> "$work/writers.err" &
    writer_pid=$!
    # A random moment: 50-650 ms into the run (first start includes recovery).
    sleep "0.$(printf '%03d' $((50 + RANDOM % 600)))"
    kill -9 "$writer_pid"
    wait "$writer_pid" 2>/dev/null || true
    writer_pid=
    if ! out=$(timeout 120 "$driver" check "${common[@]}" --journal "$work/journal" --threads 4 2> "$work/check.err"); then
        echo "cycle $cycle: check failed: $out"
        cat "$work/check.err"
        exit 1
    fi
    ready+=("$(sed -E 's/.*ready_ms=([0-9.]+).*/\1/' <<< "$out")")
    if ((cycle % 20 == 0 || cycle == 1)); then echo "cycle $cycle: $out"; fi
done
median=$(printf '%s\n' "${ready[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
max=$(printf '%s\n' "${ready[@]}" | sort -g | tail -1)
echo "kill-9 cycles: $cycles, startup to ready: median ${median} ms, max ${max} ms"
awk -v m="$median" 'BEGIN { exit !(m < 2000) }' || { echo "median startup ${median} ms >= 2000 ms"; exit 1; }
