#!/usr/bin/env python3
"""A scripted model server for tests: speaks OpenAI Chat Completions and
Anthropic Messages (streamed and not), and plays back steps that tests post
to /_script. Python 3.11 standard library only. See README.md here.

    python3 tests/support/mock_model.py [--port 0] [--host 127.0.0.1] [--verbose]

The first line on stdout is "PORT <n>"; it then serves until killed.
"""

from __future__ import annotations

import collections
import fcntl
import itertools
import json
import os
import socket
import struct
import sys
import termios
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from serve import serve

KEY_PREFIX = "sk-test-"
DEFAULT_STEP = {"text": "ok"}
ERROR_TYPES = {
    400: ("invalid_request_error", "invalid_request_error"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "permission_denied"),
    404: ("not_found_error", "not_found"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("api_error", "server_error"),
    503: ("api_error", "service_unavailable"),
    529: ("overloaded_error", "overloaded"),
}


class Dropped(Exception):
    """The step asked to cut the connection: stop writing, close."""


class State:
    """Script queues and request logs, one of each per key ("" is global)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queues: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self.requests: dict[str, list] = collections.defaultdict(list)
        self.ids = itertools.count(1)

    def script(self, key: str, steps: list, append: bool) -> int:
        with self.lock:
            q = self.queues[key]
            if not append:
                q.clear()
            q.extend(steps)
            return len(q)

    def take(self, key: str, record: dict) -> tuple[dict, int]:
        with self.lock:
            self.requests[key].append(record)
            q = self.queues[key]
            step = q.popleft() if q else dict(DEFAULT_STEP)
            return step, next(self.ids)

    def log(self, key: str) -> list:
        with self.lock:
            return list(self.requests[key])

    def reset(self, key: str | None) -> None:
        with self.lock:
            if key is None:
                self.queues.clear()
                self.requests.clear()
            else:
                self.queues.pop(key, None)
                self.requests.pop(key, None)


STATE = State()


# ---- what a step says, in either protocol's words ----


def split_text(text: str, chunks: int | None) -> list[str]:
    if not text:
        return []
    if not chunks:
        # One piece per word, spaces kept: "hello", " world".
        words = text.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)]
    chunks = max(1, min(int(chunks), len(text)))
    size, extra = divmod(len(text), chunks)
    out, pos = [], 0
    for i in range(chunks):
        n = size + (1 if i < extra else 0)
        out.append(text[pos : pos + n])
        pos += n
    return out


def fragments(s: str, size: int) -> list[str]:
    size = max(1, size)
    return [s[i : i + size] for i in range(0, len(s), size)] or [""]


def tool_calls_of(step: dict, rid: int) -> list[dict]:
    calls = []
    for i, tc in enumerate(step.get("tool_calls") or []):
        args = tc.get("arguments", {})
        text = args if isinstance(args, str) else json.dumps(args, separators=(",", ":"))
        calls.append({"id": tc.get("id") or f"call_{rid}_{i}", "name": tc["name"], "arguments": text})
    return calls


def usage_of(step: dict) -> tuple[int, int]:
    u = step.get("usage") or {}
    text = step.get("text") or ""
    out = max(1, len(text.split())) + 5 * len(step.get("tool_calls") or [])
    return int(u.get("input_tokens", 10)), int(u.get("output_tokens", out))


def error_body(api: str, status: int, step: dict) -> bytes:
    if "error_body" in step:
        b = step["error_body"]
        return (b if isinstance(b, str) else json.dumps(b)).encode()
    atype, otype = ERROR_TYPES.get(status, ("api_error", "error"))
    msg = step.get("message") or f"mock error {status}"
    if api == "anthropic":
        doc = {"type": "error", "error": {"type": atype, "message": msg}}
    else:
        doc = {"error": {"message": msg, "type": otype, "param": None, "code": otype}}
    return json.dumps(doc).encode()


def sse(data: dict | str, event: str | None = None) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


def openai_events(step: dict, req: dict, rid: int) -> list[bytes]:
    base = {
        "id": f"chatcmpl-mock-{rid}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": req.get("model") or "mock",
    }

    def chunk(delta: dict, finish=None) -> bytes:
        return sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": p}) for p in split_text(step.get("text") or "", step.get("chunks"))]
    frag = int(step.get("fragment_chars", 4))
    for i, tc in enumerate(tool_calls_of(step, rid)):
        head = {"index": i, "id": tc["id"], "type": "function",
                "function": {"name": tc["name"], "arguments": ""}}
        out.append(chunk({"tool_calls": [head]}))
        for f in fragments(tc["arguments"], frag):
            out.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": f}}]}))
    if step.get("provider_error") is not None:
        return out + [sse({"error": provider_error(step, "openai")})]
    finish = step.get("finish_reason") or ("tool_calls" if step.get("tool_calls") else "stop")
    out.append(chunk({}, finish))
    if (req.get("stream_options") or {}).get("include_usage"):
        tin, tout = usage_of(step)
        usage = {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout}
        out.append(sse({**base, "choices": [], "usage": usage}))
    return out + [sse("[DONE]")]


def anthropic_events(step: dict, req: dict, rid: int) -> list[bytes]:
    tin, tout = usage_of(step)
    msg = {"id": f"msg_mock_{rid}", "type": "message", "role": "assistant",
           "model": req.get("model") or "mock", "content": [], "stop_reason": None,
           "stop_sequence": None, "usage": {"input_tokens": tin, "output_tokens": 1}}
    out = [sse({"type": "message_start", "message": msg}, "message_start"),
           sse({"type": "ping"}, "ping")]
    index = 0

    def block(start: dict, deltas: list[dict]) -> None:
        nonlocal index
        out.append(sse({"type": "content_block_start", "index": index, "content_block": start},
                       "content_block_start"))
        for d in deltas:
            out.append(sse({"type": "content_block_delta", "index": index, "delta": d},
                           "content_block_delta"))
        out.append(sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
        index += 1

    pieces = split_text(step.get("text") or "", step.get("chunks"))
    if pieces:
        block({"type": "text", "text": ""}, [{"type": "text_delta", "text": p} for p in pieces])
    frag = int(step.get("fragment_chars", 4))
    for tc in tool_calls_of(step, rid):
        deltas = [{"type": "input_json_delta", "partial_json": ""}]
        deltas += [{"type": "input_json_delta", "partial_json": f}
                   for f in fragments(tc["arguments"], frag)]
        block({"type": "tool_use", "id": tc["id"].replace("call_", "toolu_"), "name": tc["name"],
               "input": {}}, deltas)
    if step.get("provider_error") is not None:
        return out + [sse({"type": "error", "error": provider_error(step, "anthropic")}, "error")]
    stop = step.get("finish_reason") or ("tool_use" if step.get("tool_calls") else "end_turn")
    out.append(sse({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": tout}}, "message_delta"))
    return out + [sse({"type": "message_stop"}, "message_stop")]


def provider_error(step: dict, api: str) -> dict:
    e = step.get("provider_error") or {}
    default_type = "overloaded_error" if api == "anthropic" else "server_error"
    return {"type": e.get("type", default_type), "message": e.get("message", "mock provider error")}


def openai_json(step: dict, req: dict, rid: int) -> dict:
    calls = tool_calls_of(step, rid)
    msg = {"role": "assistant", "content": step.get("text") if step.get("text") else None}
    if calls:
        msg["tool_calls"] = [{"id": c["id"], "type": "function",
                              "function": {"name": c["name"], "arguments": c["arguments"]}}
                             for c in calls]
    tin, tout = usage_of(step)
    finish = step.get("finish_reason") or ("tool_calls" if calls else "stop")
    return {"id": f"chatcmpl-mock-{rid}", "object": "chat.completion", "created": int(time.time()),
            "model": req.get("model") or "mock",
            "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
            "usage": {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout}}


def anthropic_json(step: dict, req: dict, rid: int) -> dict:
    content = [{"type": "text", "text": step["text"]}] if step.get("text") else []
    for c in tool_calls_of(step, rid):
        content.append({"type": "tool_use", "id": c["id"].replace("call_", "toolu_"),
                        "name": c["name"], "input": json.loads(c["arguments"] or "{}")})
    tin, tout = usage_of(step)
    stop = step.get("finish_reason") or ("tool_use" if step.get("tool_calls") else "end_turn")
    return {"id": f"msg_mock_{rid}", "type": "message", "role": "assistant",
            "model": req.get("model") or "mock", "content": content, "stop_reason": stop,
            "stop_sequence": None, "usage": {"input_tokens": tin, "output_tokens": tout}}


# ---- the wire ----


class Body:
    """Writes one chunked reply body, applying the step's stall and drop."""

    def __init__(self, handler: "Handler", step: dict) -> None:
        self.h = handler
        self.sent = 0
        self.stall_at = step.get("stall_after_bytes")
        self.stall_s = float(step.get("stall_seconds", 30))
        self.drop_at = step.get("drop_after_bytes")
        self.reset = step.get("drop_mode") == "reset"
        self.write_bytes = int(step.get("write_bytes") or 0)
        self.write_delay = float(step.get("write_delay_ms", 0)) / 1000.0

    def _chunk(self, data: bytes) -> None:
        if data:
            self.h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.h.wfile.flush()
            self.sent += len(data)

    def write(self, data: bytes) -> None:
        while data:
            # Thresholds count body bytes and fire only while more is to come.
            if self.stall_at is not None and self.sent >= self.stall_at:
                self.stall_at = None
                time.sleep(self.stall_s)
            if self.drop_at is not None and self.sent >= self.drop_at:
                self.drop()
            n = len(data)
            for limit in (self.stall_at, self.drop_at):
                if limit is not None:
                    n = min(n, limit - self.sent)
            if self.write_bytes > 0:
                n = min(n, self.write_bytes)
            self._chunk(data[:n])
            data = data[n:]
            if self.write_delay and data:
                time.sleep(self.write_delay)

    def drop(self) -> None:
        sock = self.h.connection
        if self.reset:
            # Linger 0: close sends RST instead of FIN.
            # An RST throws away what is still queued to send: let the bytes
            # before the cut leave (and be read) first.
            self.drain(sock)
            # detach: the handler's file objects still hold the socket, and
            # a plain close() would wait for them.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(sock.detach())
        else:
            # No terminating 0-chunk: the reader sees a truncated body.
            sock.shutdown(socket.SHUT_RDWR)
        raise Dropped()

    @staticmethod
    def drain(sock: socket.socket) -> None:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            queued = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
            if queued == 0:
                break
            time.sleep(0.005)
        time.sleep(0.05)

    def end(self) -> None:
        self.h.wfile.write(b"0\r\n\r\n")
        self.h.wfile.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-model/1"
    verbose = False

    def log_message(self, fmt, *args):  # noqa: N802 (the stdlib's name)
        if self.verbose:
            sys.stderr.write("mock_model: " + (fmt % args) + "\n")

    def setup(self):
        super().setup()
        # Each event leaves at once, as from a real streaming server.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # -- plumbing --

    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def reply(self, status: int, body: bytes, ctype="application/json", extra=None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for k, v in (extra or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def reply_json(self, status: int, doc) -> None:
        self.reply(status, json.dumps(doc).encode())

    def key(self, query: dict | None = None) -> str:
        if query and "key" in query:
            return query["key"][0]
        token = self.headers.get("x-api-key") or ""
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        return token if token.startswith(KEY_PREFIX) else ""

    # -- routes --

    def do_GET(self):  # noqa: N802
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/_requests":
            self.reply_json(200, STATE.log(self.key(query)))
        elif url.path in ("/_health", "/health"):
            self.reply_json(200, {"status": "ok"})
        elif url.path.endswith("/models"):
            self.reply_json(200, {"object": "list", "data": [{"id": "mock", "object": "model"}]})
        else:
            self.reply_json(404, {"error": {"message": "not found"}})

    def do_POST(self):  # noqa: N802
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        raw = self.read_body()
        try:
            if url.path == "/_script":
                self.post_script(raw, query)
            elif url.path == "/_reset":
                STATE.reset(query["key"][0] if "key" in query else None)
                self.reply_json(200, {"ok": True})
            elif url.path.endswith("/chat/completions"):
                self.model_call("openai", raw)
            elif url.path.endswith("/messages"):
                self.model_call("anthropic", raw)
            else:
                self.reply_json(404, {"error": {"message": "not found"}})
        except Dropped:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def post_script(self, raw: bytes, query: dict) -> None:
        try:
            doc = json.loads(raw or b"[]")
        except ValueError as e:
            return self.reply_json(400, {"error": f"bad JSON: {e}"})
        key = self.key(query)
        if isinstance(doc, dict):
            key = doc.get("key", key)
            doc = doc.get("steps", [])
        if not isinstance(doc, list) or not all(isinstance(s, dict) for s in doc):
            return self.reply_json(400, {"error": "a script is a list of step objects"})
        n = STATE.script(key, doc, append="append" in query)
        self.reply_json(200, {"ok": True, "key": key, "queued": n})

    def model_call(self, api: str, raw: bytes) -> None:
        try:
            req = json.loads(raw or b"{}")
        except ValueError:
            req = None
        record = {"path": self.path, "api": api, "time": time.time(),
                  "headers": {k.lower(): v for k, v in self.headers.items()},
                  "body": req if req is not None else raw.decode("utf-8", "replace")}
        step, rid = STATE.take(self.key(), record)
        if not isinstance(req, dict):
            return self.reply(400, error_body(api, 400, {"message": "body is not JSON"}))
        if step.get("delay_first_byte_ms"):
            time.sleep(float(step["delay_first_byte_ms"]) / 1000.0)
        status = int(step.get("status", 200))
        if status != 200:
            extra = dict(step.get("headers") or {})
            if "retry_after" in step:
                extra["Retry-After"] = str(step["retry_after"])
            return self.reply(status, error_body(api, status, step), extra=extra)
        if not req.get("stream"):
            doc = (anthropic_json if api == "anthropic" else openai_json)(step, req, rid)
            return self.reply(200, json.dumps(doc).encode(), extra=step.get("headers"))
        self.stream(step, (anthropic_events if api == "anthropic" else openai_events)(step, req, rid))

    def stream(self, step: dict, events: list[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        for k, v in (step.get("headers") or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        body = Body(self, step)
        delay = float(step.get("chunk_delay_ms", 0)) / 1000.0
        for i, ev in enumerate(events):
            if i and delay:
                time.sleep(delay)
            body.write(ev)
        body.end()


class Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 512  # many concurrent runs connect at once

    def handle_error(self, request, client_address):
        # A client that went away mid-reply is normal here; anything else is
        # printed so a broken script shows up in the test log.
        exc = sys.exc_info()[1]
        if not isinstance(exc, (BrokenPipeError, ConnectionResetError, Dropped)):
            super().handle_error(request, client_address)


def main() -> int:
    def configure(args) -> None:
        Handler.verbose = args.verbose

    return serve(Server, Handler, "Scripted OpenAI/Anthropic model server for tests", configure)


if __name__ == "__main__":
    sys.exit(main())
