#!/bin/sh
# Starts a throw-away redis-server for tests and prints its port.
#   redis_start.sh DIR [PORT]
# DIR holds the pid file, the log and the port; PORT (to restart a stopped
# server on the same port) defaults to a free one. Stop it with redis_stop.sh DIR.
set -eu

dir=${1:?usage: redis_start.sh DIR [PORT]}
want=${2:-}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

command -v redis-server >/dev/null || { echo "redis_start.sh: redis-server not found" >&2; exit 1; }

# A port is free when nothing answers on it; bash-less sh has no /dev/tcp,
# so ask redis-cli, which fails fast on a refused connection.
port_busy() {
    redis-cli -h 127.0.0.1 -p "$1" ping >/dev/null 2>&1
}

pick_port() {
    # od over /dev/urandom: POSIX sh has no $RANDOM.
    n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    echo $((20000 + n % 40000))
}

wait_ping() {
    i=0
    while [ $i -lt 100 ]; do
        if [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = "PONG" ]; then
            return 0
        fi
        # The daemon exits at once when it cannot bind the port.
        if [ -f "$dir/redis.pid" ] && ! kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then
            return 1
        fi
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}

start_on() {
    rm -f "$dir/redis.pid"
    redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize yes --dir "$dir" --pidfile "$dir/redis.pid" \
        --logfile "$dir/redis.log" >/dev/null 2>&1 || return 1
    wait_ping "$1"
}

tries=0
while :; do
    port=${want:-$(pick_port)}
    if ! port_busy "$port" && start_on "$port"; then
        echo "$port" > "$dir/redis.port"
        echo "$port"
        exit 0
    fi
    tries=$((tries + 1))
    if [ -n "$want" ] || [ $tries -ge 20 ]; then
        echo "redis_start.sh: could not start redis-server (see $dir/redis.log)" >&2
        exit 1
    fi
done
