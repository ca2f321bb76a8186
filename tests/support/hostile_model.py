#!/usr/bin/env python3
"""A misbehaving model server for the run-bounds tests: each scenario is a
way a model server can hold a run or flood it. Python 3.11 standard library
only. See README.md here.

    python3 tests/support/hostile_model.py [--port 0] [--host 127.0.0.1]

The first line on stdout is "PORT <n>". The scenario is the first path
segment, so an agent's base_url picks it: http://127.0.0.1:<n>/<scenario>/v1
(then POST .../chat/completions, OpenAI's protocol; .../messages is
Anthropic's, for the scenarios that say so). Parameters follow a dash:
"flood-4000000"; anything after a second dash only makes the name (and so
its request count at GET /_stats) distinct. Endless scenarios stop when the client goes away, or after
MAX_SECONDS so no thread outlives a broken test.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from serve import serve

MAX_SECONDS = 60.0
STATS_LOCK = threading.Lock()
STATS: dict[str, int] = {}  # scenario -> model requests received


class Gone(Exception):
    """The client closed the connection."""


def chunk(delta: dict, finish=None) -> bytes:
    doc = {"id": "chatcmpl-hostile", "object": "chat.completion.chunk", "model": "hostile",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(doc, separators=(",", ":")).encode() + b"\n\n"


def anthropic(event: str, doc: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(doc, separators=(',', ':'))}\n\n".encode()


END = chunk({}, "stop") + b"data: [DONE]\n\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # noqa: N802 (the stdlib's name)
        pass

    def setup(self):
        super().setup()
        # Each write leaves at once: a trickle is a trickle, not a batch.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # ---- plumbing ----

    def send(self, data: bytes) -> None:
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except OSError:
            raise Gone() from None

    def finish_body(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass

    def start(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True

    def forever(self, piece: bytes, every: float) -> None:
        """piece every `every` seconds until the client leaves."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < MAX_SECONDS:
            self.send(piece)
            time.sleep(every)

    def do_GET(self):  # noqa: N802
        if self.path.startswith("/_stats"):
            with STATS_LOCK:
                body = json.dumps(STATS).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_error(404)

    def do_POST(self):  # noqa: N802
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n) or b"{}")
        scenario = self.path.strip("/").split("/")[0]
        name, _, arg = scenario.partition("-")
        with STATS_LOCK:
            STATS[scenario] = STATS.get(scenario, 0) + 1
        fn = getattr(self, "s_" + name.replace(".", "_"), None)
        if fn is None:
            self.send_error(404)
            return
        self.start()
        try:
            fn(arg, body, self.path.endswith("/messages"))
            self.finish_body()
        except Gone:
            pass

    # ---- the scenarios ----

    def s_comments(self, arg, body, anth):
        """An SSE comment every 0.5 s, forever (Anthropic: ping events)."""
        if anth:
            self.send(anthropic("message_start", {"type": "message_start", "message": {
                "id": "msg_h", "type": "message", "role": "assistant", "content": [],
                "model": "hostile", "usage": {"input_tokens": 1, "output_tokens": 1}}}))
            self.forever(anthropic("ping", {"type": "ping"}), 0.5)
        else:
            self.send(chunk({"role": "assistant", "content": ""}))
            self.forever(b": keep-alive\n\n", 0.5)

    def s_empty(self, arg, body, anth):
        """Empty content deltas every 0.2 s, forever."""
        self.forever(chunk({"content": ""}), 0.2)

    def s_trickle(self, arg, body, anth):
        """One byte every 20 ms of endless empty deltas: bytes, never text."""
        data = chunk({"content": ""}) * 10000
        t0 = time.monotonic()
        for i in range(len(data)):
            if time.monotonic() - t0 > MAX_SECONDS:
                return
            self.send(data[i:i + 1])
            time.sleep(0.02)

    def s_words(self, arg, body, anth):
        """A word every 0.3 s, forever: a live model that never ends."""
        self.forever(chunk({"content": "word "}), 0.3)

    def s_toolloop(self, arg, body, anth):
        """Asks for the tool arg names (up to a dash; the calculator by
        default) on every turn, whatever tool_choice says."""
        name = arg.split("-")[0] or "calculator"
        call = {"index": 0, "id": f"call_{time.monotonic_ns()}", "type": "function",
                "function": {"name": name, "arguments": '{"expression":"1+1"}'}}
        self.send(chunk({"role": "assistant", "tool_calls": [call]}))
        self.send(chunk({}, "tool_calls") + b"data: [DONE]\n\n")

    def s_flood(self, arg, body, anth):
        """arg's number (up to a dash) of text bytes as fast as possible, in
        8 KiB deltas."""
        total = int(arg.split("-")[0] or 4_000_000)
        piece = 8192
        sent = 0
        while sent < total:
            n = min(piece, total - sent)
            self.send(chunk({"content": "x" * n}))
            sent += n
        self.send(END)

    def s_bigdelta(self, arg, body, anth):
        """arg = "<size>x<count>": count single deltas of size bytes each
        (one model event each, under the service's 1 MiB event bound)."""
        size, _, count = (arg or "800000x5").partition("x")
        for i in range(int(count)):
            self.send(chunk({"content": chr(ord("a") + i % 26) * int(size)}))
        self.send(END)

    def s_bigname(self, arg, body, anth):
        """A tool call whose name is int(arg) bytes."""
        call = {"index": 0, "id": "call_big", "type": "function",
                "function": {"name": "n" * int(arg or 524288), "arguments": "{}"}}
        self.send(chunk({"role": "assistant", "tool_calls": [call]}))
        self.send(chunk({}, "tool_calls") + b"data: [DONE]\n\n")


class Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if not isinstance(exc, (BrokenPipeError, ConnectionResetError, Gone)):
            super().handle_error(request, client_address)


def main() -> int:
    return serve(Server, Handler, "A misbehaving model server for tests")


if __name__ == "__main__":
    sys.exit(main())
