#!/usr/bin/env bash
# Throughput and memory of the hot paths, beside the anchors in the design
# notes (2 cores, wrk beside the server, 64 connections):
#   bare h2o /health 120-130k req/s, nginx the same, the seed's Python 2.2k.
# Usage: bench/http.sh [seconds]   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)"; exit 1; }
make -s build >/dev/null
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
secret=$(openssl rand -hex 32)

run() { # label, log level, path, [header]
  BETTER_AUTH_SECRET=$secret PORT=$port HOST=127.0.0.1 LOG_LEVEL=$2 AGENTOS_ENV_FILE=/nonexistent \
    ./build/agentos 2>/dev/null &
  pid=$!
  for _ in $(seq 50); do curl -s "localhost:$port/health" >/dev/null && break; sleep 0.1; done
  args=(-t2 -c64 -d"${secs}s")
  [ -n "${4:-}" ] && args+=(-H "$4")
  rps=$(wrk "${args[@]}" "http://127.0.0.1:$port$3" | awk '/Requests\/sec/ {print int($2)}')
  rss=$(ps -o rss= -p $pid | tr -d ' ')
  kill -TERM $pid; wait $pid || true
  printf '%-34s %9s req/s   RSS %6s KiB\n' "$1" "$rps" "$rss"
}

token=$(BETTER_AUTH_SECRET=$secret AGENTOS_ENV_FILE=/nonexistent ./build/agentos token --sub bench --workspace ws_bench)
echo "anchor: bare h2o /health 120000-130000 req/s; seed Python service 2200 req/s"
run "/health (access log off)" warn /health
run "/health (access log on)" info /health
run "/me, cached HS256 token" warn /me "Authorization: Bearer $token"
