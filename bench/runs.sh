#!/usr/bin/env bash
# Streamed agent runs end to end (auth, SSE, the model call over curl, the run
# and session rows in SQLite) against the scripted model server, with wrk.
# Prints runs/s, latency and the service's memory before and after.
# Anchors (design notes): the seed's Python service answered /health at 2.2k
# req/s; memory must stay flat over many runs.
# Usage: bench/runs.sh [seconds] [connections]   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-16}
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)"; exit 1; }
make -s build >/dev/null
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
python3 tests/support/mock_model.py --port 0 >"$tmp/mock.out" &
for _ in $(seq 50); do [ -s "$tmp/mock.out" ] && break; sleep 0.1; done
mport=$(head -1 "$tmp/mock.out" | cut -d' ' -f2)
mkdir -p "$tmp/agents"
printf 'id: bench\nmodel: {provider: openai, id: m, base_url: "http://127.0.0.1:%s/v1"}\n' \
  "$mport" >"$tmp/agents/bench.yaml"
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
secret=$(openssl rand -hex 32)
export BETTER_AUTH_SECRET=$secret AGENTOS_ENV_FILE=/nonexistent
PORT=$port HOST=127.0.0.1 AGENTS_DIR="$tmp/agents" AGENTOS_DATA_DIR="$tmp/data" LOG_LEVEL=warn \
  RATE_LIMIT_PER_MINUTE=0 MAX_CONCURRENT_RUNS_PER_WORKSPACE=100000 ./build/agentos 2>/dev/null &
pid=$!
for _ in $(seq 50); do curl -s "localhost:$port/health" >/dev/null && break; sleep 0.1; done
token=$(./build/agentos token --sub bench --workspace ws_bench)
cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.body = "message=hello"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Bearer $token"
LUA
url="http://127.0.0.1:$port/agents/bench/runs"
wrk -t1 -c"$conns" -d2s -s "$tmp/post.lua" "$url" >/dev/null # warm-up
rss0=$(ps -o rss= -p $pid | tr -d ' ')
out=$(wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$tmp/post.lua" "$url")
rss1=$(ps -o rss= -p $pid | tr -d ' ')
echo "anchor: seed Python service 2200 req/s on /health; memory flat"
echo "$out" | awk '/Requests\/sec/ {printf "streamed runs: %d runs/s", $2} /Non-2xx/ {printf " (%s non-2xx!)", $5}'
echo "$out" | awk '/ 50%/ {printf ", p50 %s", $2} / 99%/ {printf ", p99 %s\n", $2}'
echo "service RSS: $rss0 KiB after warm-up, $rss1 KiB after ${secs}s of runs"
kill -TERM $pid; wait $pid || true
