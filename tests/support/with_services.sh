#!/usr/bin/env bash
# Runs a command with TEST_DATABASE_URL and TEST_REDIS_URL set: the given
# ones, or throw-away servers started here from the installed binaries and
# stopped when the command ends.
#   tests/support/with_services.sh COMMAND [ARGS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cleanup=()
on_exit() { for c in "${cleanup[@]}"; do eval "$c" || true; done; }
trap on_exit EXIT

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  pgdir=$(mktemp -d /tmp/agentos-pg-XXXXXX)
  cleanup+=("'$here/pg_stop.sh' '$pgdir' >/dev/null 2>&1")
  TEST_DATABASE_URL=$("$here/pg_start.sh" "$pgdir")
  export TEST_DATABASE_URL
fi
if [ -z "${TEST_REDIS_URL:-}" ]; then
  rdir=$(mktemp -d /tmp/agentos-redis-XXXXXX)
  cleanup+=("'$here/redis_stop.sh' '$rdir' >/dev/null 2>&1")
  TEST_REDIS_URL="redis://127.0.0.1:$("$here/redis_start.sh" "$rdir")/0"
  export TEST_REDIS_URL
fi
"$@"
