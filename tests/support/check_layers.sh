#!/bin/sh
# The layering rule of docs/architecture.md ("Modules"): a file under src/
# includes only its own folder and lower layers. Lowest first:
#   core -> net -> auth, http, store, cache -> agent -> api -> main
# api/ also never names h2o (h2o_*, H2O_*, <h2o...>, ->req into h2o's
# request): http/request.h and http/reply.h offer what it needs, so h2o
# stays a detail of http/.
# Usage: check_layers.sh [SRC_DIR]; prints each breach, exits 1 on any.
src=${1:-$(dirname "$0")/../../src}

rank() {
    case $1 in
    core) echo 0 ;;
    net) echo 1 ;;
    auth | http | store | cache) echo 2 ;;
    agent) echo 3 ;;
    api) echo 4 ;;
    main) echo 5 ;;
    *) echo -1 ;;
    esac
}

bad=0
for f in "$src"/*.c "$src"/*/*.c "$src"/*/*.h; do
    [ -f "$f" ] || continue
    rel=${f#"$src"/}
    case $rel in
    */*) from=${rel%%/*} ;;
    *) from=main ;;
    esac
    from_rank=$(rank "$from")
    if [ "$from_rank" -lt 0 ]; then
        echo "$rel: folder $from has no layer" >&2
        bad=1
        continue
    fi
    for to in $(sed -n 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z_]*\)/.*|\1|p' "$f" | sort -u); do
        [ "$to" = "$from" ] && continue
        to_rank=$(rank "$to")
        if [ "$to_rank" -lt 0 ] || [ "$to_rank" -ge "$from_rank" ]; then
            echo "$rel includes $to/: not a lower layer" >&2
            bad=1
        fi
    done
done
# Names, not includes: a type or macro of h2o's reaches api/ through
# http/'s headers without any #include to catch.
for f in "$src"/api/*.c "$src"/api/*.h; do
    [ -f "$f" ] || continue
    if hits=$(grep -nE 'h2o_|H2O_|<h2o|(->|\.)req([^a-zA-Z0-9_]|$)' "$f"); then
        printf '%s\n' "$hits" | sed "s|^|${f#"$src"/}:|; s|\$| (api/ names h2o)|" >&2
        bad=1
    fi
done
exit $bad
