#!/usr/bin/env bash
# Runs a command with TEST_DATABASE_URL and TEST_REDIS_URL set: the given
# ones, or throw-away servers started here from the installed binaries and
# stopped when the command ends.
#   tests/support/with_services.sh COMMAND [ARGS...]
#
# Everything of the run lives in one /tmp/agentos-run-* directory (the
# servers' data, and TMPDIR for the command), removed at the end. Then
# leftovers.py checks that nothing is left behind: no process of the run
# (each inherits AGENTOS_TEST_RUN), no new /tmp/agentos-* folder. A leftover
# is named on stderr and fails the run, even when the command passed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

root=$(mktemp -d /tmp/agentos-run-XXXXXX)
# As root, PostgreSQL runs as `postgres`, which must reach root/pg.
chmod 711 "$root"
mkdir -m 1777 "$root/tmp"
python3 "$here/leftovers.py" snapshot >"$root/before"
AGENTOS_TEST_RUN="$$-${root##*-}"
export AGENTOS_TEST_RUN

stops=()
status=0
on_exit() {
    local rc=$? s
    [ "$status" -ne 0 ] || status=$rc
    for s in "${stops[@]}"; do eval "$s" || true; done
    python3 "$here/leftovers.py" check "$AGENTOS_TEST_RUN" "$root" "$root/before" || {
        [ "$status" -ne 0 ] || status=1
    }
    rm -rf "$root"
    exit "$status"
}
trap on_exit EXIT
trap 'status=130; exit 130' INT
trap 'status=143; exit 143' TERM

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  stops+=("'$here/pg_stop.sh' '$root/pg' >/dev/null 2>&1")
  TEST_DATABASE_URL=$("$here/pg_start.sh" "$root/pg")
  export TEST_DATABASE_URL
fi
if [ -z "${TEST_REDIS_URL:-}" ]; then
  stops+=("'$here/redis_stop.sh' '$root/redis' --remove >/dev/null 2>&1")
  TEST_REDIS_URL="redis://127.0.0.1:$("$here/redis_start.sh" "$root/redis")/0"
  export TEST_REDIS_URL
fi
export TMPDIR="$root/tmp"
set +e
"$@"
status=$?
set -e
exit "$status"
