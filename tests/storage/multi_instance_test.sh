#!/usr/bin/env bash
# Two processes on one data directory, then two processes each on its own
# bindfs mount of one directory (short cache timeouts: behaves like two NFS
# clients). A compare-and-set counter incremented from both for SECONDS ends
# equal to the number of successful increments with no revision issued twice;
# the same new id created from both at once has exactly one winner, TRIALS
# times. Usage: multi_instance_test.sh DRIVER [SECONDS] [TRIALS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
driver=$1
seconds=${2:-20}
trials=${3:-1000}
work=$(mktemp -d "${TMPDIR:-/tmp}/nexu-multi-XXXXXX")
pids=()
mounts=()
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    for mount in "${mounts[@]}"; do fusermount -u "$mount" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
key=$work/master.key
write_test_key "$key"

# run_pair NAME DIR_A DIR_B: the counter and the create race on two dirs.
run_pair() {
    local name=$1 dir_a=$2 dir_b=$3
    local out=$work/$name
    mkdir -p "$out"
    # One instance creates the key check first, so both share it.
    "$driver" get --data "$dir_a" --state "$out/sa" --key "$key" --collection none --id none 2>/dev/null || true
    "$driver" counter --data "$dir_a" --state "$out/sa" --key "$key" --seconds "$seconds" --out "$out/revs.a" > "$out/a.txt" &
    pids=($!)
    "$driver" counter --data "$dir_b" --state "$out/sb" --key "$key" --seconds "$seconds" --out "$out/revs.b" > "$out/b.txt" &
    pids+=($!)
    for pid in "${pids[@]}"; do wait "$pid"; done
    pids=()
    local final successes duplicates
    final=$("$driver" get --data "$dir_a" --state "$out/sc" --key "$key" --collection counter --id c)
    successes=$(cat "$out/revs.a" "$out/revs.b" | wc -l)
    duplicates=$(cat "$out/revs.a" "$out/revs.b" | sort | uniq -d | wc -l)
    echo "$name counter: a: $(cat "$out/a.txt"), b: $(cat "$out/b.txt"), final value and rev: $final"
    [ "${final%% *}" -eq "$successes" ] || { echo "$name: counter ${final%% *} != successes $successes"; exit 1; }
    [ "$duplicates" -eq 0 ] || { echo "$name: $duplicates revisions issued twice"; exit 1; }
    [ "$successes" -gt 0 ] || { echo "$name: no increments at all"; exit 1; }

    "$driver" race --data "$dir_a" --state "$out/sa" --key "$key" --trials "$trials" --out "$out/won.a" --start "$out/go" &
    pids=($!)
    "$driver" race --data "$dir_b" --state "$out/sb" --key "$key" --trials "$trials" --out "$out/won.b" --start "$out/go" &
    pids+=($!)
    touch "$out/go"
    for pid in "${pids[@]}"; do wait "$pid"; done
    pids=()
    local winners double seqs
    winners=$(cat "$out/won.a" "$out/won.b" | awk '{print $1}' | sort -u | wc -l)
    double=$(cat "$out/won.a" "$out/won.b" | awk '{print $1}' | sort | uniq -d | wc -l)
    seqs=$(cat "$out/won.a" "$out/won.b" | awk '{print $2}' | sort | uniq -d | wc -l)
    echo "$name race: $trials ids, won by a: $(wc -l < "$out/won.a"), by b: $(wc -l < "$out/won.b")"
    [ "$winners" -eq "$trials" ] || { echo "$name: only $winners of $trials ids created"; exit 1; }
    [ "$double" -eq 0 ] || { echo "$name: $double ids created twice"; exit 1; }
    [ "$seqs" -eq 0 ] || { echo "$name: $seqs seqs issued twice"; exit 1; }
}

mkdir -p "$work/same"
run_pair same-dir "$work/same" "$work/same"

if ! command -v bindfs > /dev/null; then
    echo "bindfs not installed: skipping the two-mount case"
    exit 0
fi
mkdir -p "$work/shared" "$work/mA" "$work/mB"
opts=-oattr_timeout=0.1,entry_timeout=0.1,negative_timeout=0.1
if ! bindfs "$opts" "$work/shared" "$work/mA" 2> "$work/bindfs.err"; then
    echo "bindfs cannot mount here ($(cat "$work/bindfs.err")): skipping the two-mount case"
    exit 0
fi
mounts+=("$work/mA")
bindfs "$opts" "$work/shared" "$work/mB"
mounts+=("$work/mB")
run_pair bindfs "$work/mA" "$work/mB"
echo "multi-instance: ok"
