#!/usr/bin/env bash
# `make bench`: every benchmark area in turn. Figures go to BENCHMARKS.md by hand,
# with the machine, the command and the peers' figures from the same run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for area in http storage jsonpath auth; do
    if [ -x "$here/$area/run.sh" ]; then
        echo "== bench/$area" >&2
        "$here/$area/run.sh"
    fi
done
