#!/usr/bin/env bash
# Runs the JSONPath fuzzer for SECONDS (make fuzz: long; ctest: a 60 s smoke),
# seeded from the compliance suite, which is extracted into the build dir.
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS
# Exits non-zero on any crash, leak, sanitizer report or timeout; the input
# that caused it is kept in BUILD_DIR/tests/fuzz/jsonpath/artifacts/.
set -euo pipefail
build_dir=$(cd "${1:?usage: run.sh BUILD_DIR SECONDS}" && pwd)
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
cts=${NEXU_JSONPATH_CTS:-$here/../../../shared/jsonpath-cts/cts.json}
fuzzer=$build_dir/tests/fuzz/nexu_fuzz_jsonpath
work=$build_dir/tests/fuzz/jsonpath
mkdir -p "$work/seeds" "$work/corpus" "$work/artifacts"
/usr/bin/python3 "$here/extract_seeds.py" "$cts" "$work/seeds"
# -timeout: one input taking 10 s is a bug (the evaluation budget should stop
# it long before); -rss_limit_mb catches unbounded memory the same way.
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$work/seeds"
