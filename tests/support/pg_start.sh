#!/usr/bin/env bash
# Starts a throw-away PostgreSQL in DIR (created; must not hold anything else)
# on a free port on 127.0.0.1, creates the database agentos_test, and prints
# its URL on stdout: postgres://postgres@127.0.0.1:PORT/agentos_test
# Everything else goes to stderr, so callers can do URL=$(pg_start.sh DIR).
# Stop it with pg_stop.sh DIR.
#
# initdb and postgres refuse to run as root, and CI runs as root: then the
# server runs as the `postgres` user, on a DIR that user owns.
set -euo pipefail

die() {
    echo "pg_start: $*" >&2
    exit 1
}

[ $# -eq 1 ] || die "usage: pg_start.sh DIR"
DIR=$1
case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac

# The newest installed server, unless PG_BIN names one.
if [ -z "${PG_BIN:-}" ]; then
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] ||
    die "no PostgreSQL server binaries (install the postgresql package, or set PG_BIN)"

# A DIR left over from an interrupted run is ours to reclaim; anything else
# is not, because pg_stop.sh removes DIR.
if [ -e "$DIR" ]; then
    if [ -f "$DIR/data/PG_VERSION" ]; then
        echo "pg_start: reclaiming a stale $DIR" >&2
        "$(dirname "$0")/pg_stop.sh" "$DIR" >&2 || true
    elif [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
        die "$DIR exists and is not empty"
    fi
fi
mkdir -p "$DIR"

if [ "$(id -u)" -eq 0 ]; then
    id -u postgres >/dev/null 2>&1 || die "running as root, but there is no postgres user"
    chown postgres: "$DIR"
    chmod 700 "$DIR"
    as_pg() { runuser -u postgres -- "$@"; }
    # The server user must be able to reach DIR through its parents.
    as_pg test -w "$DIR" || die "the postgres user cannot write $DIR (check its parents' permissions)"
else
    as_pg() { "$@"; }
fi

as_pg "$PG_BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
    >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
as_pg mkdir -p "$DIR/sock"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Another process may take a port between our check and the server's bind,
# so a failed start moves on to another port.
started=""
for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    port_busy "$port" && continue
    if as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 -s \
        -o "-p $port -k $DIR/sock -c listen_addresses=127.0.0.1 -c fsync=off \
            -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >&2; then
        started=$port
        break
    fi
    echo "pg_start: could not start on port $port, trying another" >&2
done
[ -n "$started" ] || { tail -n 20 "$DIR/server.log" >&2 || true; die "could not start postgres"; }

for _ in $(seq 1 100); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$started" && break
    sleep 0.1
done
"$PG_BIN/createdb" -h 127.0.0.1 -p "$started" -U postgres agentos_test >&2 ||
    die "createdb failed"
echo "$started" >"$DIR/port"
echo "postgres://postgres@127.0.0.1:$started/agentos_test"
