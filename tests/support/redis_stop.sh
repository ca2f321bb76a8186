#!/bin/sh
# Stops the redis-server that redis_start.sh DIR started; quiet when none runs.
#   redis_stop.sh DIR [--remove]
# DIR stays for a restart on the same port (redis_start.sh DIR PORT) unless
# --remove is given: then the files redis_start.sh made there go, and DIR
# with them when nothing else is in it.
set -u

dir=${1:?usage: redis_stop.sh DIR [--remove]}
remove=${2:-}
[ -d "$dir" ] || exit 0

if [ -f "$dir/redis.pid" ]; then
    pid=$(cat "$dir/redis.pid")
    if [ -f "$dir/redis.port" ]; then
        redis-cli -h 127.0.0.1 -p "$(cat "$dir/redis.port")" shutdown nosave >/dev/null 2>&1 || true
    fi
    kill "$pid" 2>/dev/null || true

    # Wait for the process to go, so that a restart can bind the same port.
    i=0
    while kill -0 "$pid" 2>/dev/null; do
        if [ $i -ge 100 ]; then
            kill -9 "$pid" 2>/dev/null || true
            sleep 0.1
            break
        fi
        sleep 0.05
        i=$((i + 1))
    done
    rm -f "$dir/redis.pid"
fi

if [ "$remove" = "--remove" ]; then
    rm -f "$dir/redis.port" "$dir/redis.log" "$dir/dump.rdb"
    rmdir "$dir" 2>/dev/null || echo "redis_stop.sh: $dir holds other files; left in place" >&2
fi
exit 0
