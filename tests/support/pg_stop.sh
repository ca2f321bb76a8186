#!/usr/bin/env bash
# Stops the PostgreSQL that pg_start.sh started in DIR, and removes DIR.
set -uo pipefail

[ $# -eq 1 ] || { echo "usage: pg_stop.sh DIR" >&2; exit 1; }
DIR=$1
[ -d "$DIR" ] || exit 0

if [ -z "${PG_BIN:-}" ]; then
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi

if [ -f "$DIR/data/postmaster.pid" ] && [ -n "$PG_BIN" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 30 -s stop >&2
    else
        "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 30 -s stop >&2
    fi
fi
# Refuse to remove a directory that pg_start.sh did not make.
if [ -f "$DIR/data/PG_VERSION" ] || [ -f "$DIR/initdb.log" ]; then
    rm -rf "$DIR"
else
    echo "pg_stop: $DIR does not look like a pg_start.sh directory; left in place" >&2
fi
