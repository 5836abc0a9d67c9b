#!/usr/bin/env bash
# Real faults under a real process: (1) strace -e inject fails each write-path
# syscall of one write, one occurrence at a time: the write fails or succeeds
# as reported, the previous revision stays intact, verify passes, and the next
# write succeeds; (2) a 1 MiB tmpfs gives real ENOSPC: writes fail as
# unavailable, the previous revision stays readable, and writes work again
# once space is freed. Each case that cannot run here says why and is skipped.
# Usage: faults_test.sh DRIVER
set -euo pipefail
source "$(dirname "$0")/lib.sh"
driver=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/nexu-faults-XXXXXX")
mounted=
cleanup() {
    if [ -n "$mounted" ]; then umount "$mounted" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
key=$work/master.key
write_test_key "$key"

if command -v strace > /dev/null && strace -f -o /dev/null true 2> /dev/null; then
    cases=0
    for syscall in openat write fsync link rename close unlink; do
        for when in 1 2 3 4 5 6 8 10; do
            data=$work/s-$syscall-$when
            common=(--data "$data" --state "$work/state-$syscall-$when" --key "$key")
            "$driver" step "${common[@]}" --value v1 --result "$data.first"
            # The n-th call of the syscall fails with EIO (opening the store
            # or the write itself); the step records what it acknowledged.
            strace -f -o /dev/null -e trace="$syscall" -e inject="$syscall":error=EIO:when="$when" \
                "$driver" step "${common[@]}" --value v2 --result "$data.outcome" 2> /dev/null || true
            # Whatever the injection hit, the store must read back a revision
            # consistent with what was acknowledged, verify clean, and take a write.
            after=$("$driver" step "${common[@]}" --value v3 --expect-after "$data.outcome" 2>&1 | tail -1)
            cases=$((cases + 1))
            if [ "$after" != "ok" ]; then
                echo "strace $syscall when=$when: $after (step said: $(cat "$data.outcome" 2>/dev/null))"
                exit 1
            fi
        done
    done
    echo "strace injection: $cases cases passed"
else
    echo "strace cannot trace here (ptrace not permitted): skipping the strace cases"
fi

mkdir -p "$work/tmpfs"
if mount -t tmpfs -o size=1m tmpfs "$work/tmpfs" 2> "$work/mount.err"; then
    mounted=$work/tmpfs
    "$driver" enospc --data "$work/tmpfs/db" --state "$work/state-tmpfs" --key "$key" --fill "$work/tmpfs/filler"
    echo "tmpfs ENOSPC: passed"
else
    echo "cannot mount a tmpfs here ($(cat "$work/mount.err")): skipping the real ENOSPC case"
fi
