#!/usr/bin/env python3
"""A test JWKS server, as better-auth's /api/auth/jwks: serves the key set
the test posts, and can fail on demand. Python 3.11 standard library only.

    python3 tests/support/jwks_server.py [--port 0] [--host 127.0.0.1]

The first line on stdout is "PORT <n>". Control (the test's side):
  POST /_keys   {"keys": [...]}     the set GET /api/auth/jwks serves from now on
  POST /_mode   {"mode": "ok"}      "ok", "error" (503), "garbage" (not JSON),
                                    "big" (a body of --big bytes), "hang" (no reply
                                    for 30 s)
  GET  /_stats                      {"fetches": n}: GETs of the set so far
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from serve import serve

STATE = {"keys": {"keys": []}, "mode": "ok", "fetches": 0}
LOCK = threading.Lock()
BIG = 256 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test reads stdout for the port only
        pass

    def _reply(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict:
        n = int(self.headers.get("content-length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def do_GET(self):
        if self.path == "/_stats":
            with LOCK:
                return self._reply(200, json.dumps({"fetches": STATE["fetches"]}).encode())
        if self.path != "/api/auth/jwks":
            return self._reply(404, b'{"error":"not found"}')
        with LOCK:
            STATE["fetches"] += 1
            mode, keys = STATE["mode"], STATE["keys"]
        if mode == "error":
            return self._reply(503, b'{"error":"down"}')
        if mode == "garbage":
            return self._reply(200, b"<html>not a key set</html>", "text/html")
        if mode == "big":
            return self._reply(200, b'{"keys":[],"pad":"' + b"x" * BIG + b'"}')
        if mode == "hang":
            time.sleep(30)
        return self._reply(200, json.dumps(keys).encode())

    def do_POST(self):
        body = self._body()
        with LOCK:
            if self.path == "/_keys":
                STATE["keys"] = body
            elif self.path == "/_mode":
                STATE["mode"] = body.get("mode", "ok")
            else:
                return self._reply(404, b'{"error":"not found"}')
        return self._reply(200, b'{"ok":true}')


class Server(ThreadingHTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    raise SystemExit(serve(Server, Handler, "A test JWKS server (better-auth's /api/auth/jwks)."))
