#!/usr/bin/env bash
# Installs the Debian 12 packages Nexu needs for a given purpose, only when
# one is missing, so `make run` and `make test` work on a fresh machine and
# cost nothing on a prepared one.
# Usage: scripts/install-deps.sh build|test|bench
set -euo pipefail

build_pkgs=(g++ cmake ninja-build pkg-config make libboost1.81-dev nlohmann-json3-dev
    libsodium-dev libspdlog-dev libfmt-dev catch2 libexpected-dev libre2-dev libhiredis-dev curl
    john-data)
test_pkgs=(clang libclang-rt-14-dev python3 python3-pytest python3-requests python3-websockets
    python3-yaml python3-jsonschema python3-prometheus-client redis-server nginx bindfs fuse3 strace)
bench_pkgs=(wrk libsqlite3-dev)
# node and npm (the OpenAPI validator test, the benchmark drivers): the
# machine's own when present, Debian's otherwise.

wanted=("${build_pkgs[@]}")
case "${1:-build}" in
    build) ;;
    test) wanted+=("${test_pkgs[@]}") ;;
    bench) wanted+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
    *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=()
if [ "${1:-build}" != build ] && ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
