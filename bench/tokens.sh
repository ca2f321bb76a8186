#!/bin/sh
# CPU per HS256 verification, 10,000 distinct tokens (token-cache misses),
# on the Release build (make build -> build/). Usage: bench/tokens.sh [rounds]
# BENCH_CALLGRIND=1: one round under callgrind instead (into $BUILD/tokens.callgrind).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
[ -f "$BUILD/libagentos_lib.a" ] || make build >/dev/null
out="$BUILD/tokens_bench"
# shellcheck disable=SC2046
cc -O2 -g -std=c11 -D_GNU_SOURCE -Isrc bench/tokens_bench.c "$BUILD/libagentos_lib.a" \
    $(pkg-config --cflags --libs libh2o libuv libcurl jansson librhonabwy hiredis yaml-0.1 libpq \
      sqlite3 openssl) -lpthread -lm -o "$out"
if [ "${BENCH_CALLGRIND:-0}" = 1 ]; then
    valgrind --tool=callgrind --callgrind-out-file="$BUILD"/tokens.callgrind "$out" 1
    callgrind_annotate --inclusive=yes "$BUILD"/tokens.callgrind | head -40
else
    "$out" "${1:-5}"
fi
