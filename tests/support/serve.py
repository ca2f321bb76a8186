"""The command line both scripted model servers share: serve on --host and
--port (0: a free one), print "PORT <n>" first, and exit 0 on SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys


def serve(server_cls, handler, description: str, configure=None) -> int:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if configure is not None:
        configure(args)
    srv = server_cls((args.host, args.port), handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"PORT {srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        srv.server_close()
    return 0
