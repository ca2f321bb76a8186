"""The HTTP edge, over raw sockets (issue 7: items 5, 10, 13 and HTTP/2).

Request heads are bounded (431 past MAX_HEADER_BYTES, 414 past
MAX_REQUEST_LINE_BYTES) and judged before h2o buffers them; ambiguous message
framing gets 400 and a closed connection (RFC 9112); the errors h2o used to
answer in plain text are JSON with an X-Request-ID; connections are capped per
process; cleartext HTTP/2 is off unless HTTP2=on.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time

import pytest

from conftest import UUID_RE, RawResponse, assert_error, read_response

HEAD_LIMIT = 32 * 1024


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s


def send_quietly(s: socket.socket, data: bytes) -> None:
    """Sends what the server takes: it may answer and close mid-way."""
    try:
        s.sendall(data)
    except OSError:
        pass


def exchange(port: int, data: bytes, timeout: float = 5.0):
    """Sends data, reads one response; also says whether the server then
    closed the connection."""
    with connect(port, timeout) as s:
        send_quietly(s, data)
        resp = read_response(s, timeout)
        return resp, closed_by_server(s)


def closed_by_server(s: socket.socket, timeout: float = 5.0) -> bool:
    s.settimeout(timeout)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class Responses:
    """Reads responses one after another from one connection, keeping what
    came in past the current one (conftest's read_response drops it)."""

    def __init__(self, s: socket.socket, timeout: float = 5.0):
        self.s, self.buf = s, b""
        s.settimeout(timeout)

    def _more(self) -> None:
        try:
            chunk = self.s.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise AssertionError(f"connection closed mid-response: {self.buf[:200]!r}")
        self.buf += chunk

    def next(self):
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        want = int(headers.get("content-length", "0"))
        while len(rest) < want:
            self.buf = head + b"\r\n\r\n" + rest
            self._more()
            rest = self.buf.partition(b"\r\n\r\n")[2]
        self.buf = rest[want:]
        return RawResponse(int(lines[0].split(" ")[1]), "", headers, rest[:want])


def head(extra: bytes = b"", path: bytes = b"/health", method: bytes = b"GET") -> bytes:
    return method + b" " + path + b" HTTP/1.1\r\nHost: e2e\r\n" + extra + b"\r\n"


def filler(n: int) -> bytes:
    return b"X-Fill: " + b"a" * n + b"\r\n"


def json_error(resp, status: int, code: str) -> dict:
    body = assert_error(resp, status, code)
    assert "x-request-id" in resp.headers, resp.headers
    return body


# ---------------------------------------------------------------- item 5: bounded heads


def test_head_over_the_limit_is_431_json(server):
    resp, closed = exchange(server.port, head(b"X-Request-ID: edge-431\r\n" + filler(40000)))
    json_error(resp, 431, "HEADERS_TOO_LARGE")
    assert resp.headers["x-request-id"] == "edge-431"
    assert closed


def test_head_under_the_limit_is_served(server):
    resp, _ = exchange(server.port, head(filler(HEAD_LIMIT - 200) + b"Connection: close\r\n"))
    assert resp.status == 200, resp.text


def test_unfinished_head_is_answered_at_the_limit_not_held(server):
    """The head never ends: the server answers once it passes the limit,
    not at the request timeout, and does not read it to h2o's ~400 KB."""
    with connect(server.port) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: e2e\r\n")
        sent = 0
        t0 = time.monotonic()
        try:
            while sent < 400 * 1024:
                s.sendall(b"X-A: " + b"b" * 4000 + b"\r\n")
                sent += 4007
        except OSError:
            pass
        resp = read_response(s, 5.0)
        json_error(resp, 431, "HEADERS_TOO_LARGE")
        assert time.monotonic() - t0 < 5.0


def test_request_line_over_the_limit_is_414_json(server):
    resp, closed = exchange(server.port, head(path=b"/" + b"a" * 9000))
    json_error(resp, 414, "URI_TOO_LONG")
    assert re.match(UUID_RE, resp.headers["x-request-id"])
    assert closed


def test_one_megabyte_url_is_414_json(server):
    resp, _ = exchange(server.port, head(path=b"/" + b"a" * (1 << 20)))
    json_error(resp, 414, "URI_TOO_LONG")


def test_over_100_headers_is_431_json(server):
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(101))
    resp, closed = exchange(server.port, head(b"X-Request-ID: edge-many\r\n" + many))
    json_error(resp, 431, "HEADERS_TOO_LARGE")
    assert resp.headers["x-request-id"] == "edge-many"
    assert closed


def test_malformed_request_head_is_400_json(server):
    for bad in (b"GARBAGE\r\n\r\n", b"GET /health HTTP/1.1\r\nHost: e2e\r\nNo colon here\r\n\r\n"):
        resp, closed = exchange(server.port, bad)
        json_error(resp, 400, "BAD_REQUEST")
        assert closed


def test_limits_are_configurable(start_server):
    s = start_server(env={"MAX_HEADER_BYTES": "2048", "MAX_REQUEST_LINE_BYTES": "512"})
    resp, _ = exchange(s.port, head(filler(1500) + b"Connection: close\r\n"))
    assert resp.status == 200, resp.text
    resp, _ = exchange(s.port, head(filler(2100)))
    json_error(resp, 431, "HEADERS_TOO_LARGE")
    resp, _ = exchange(s.port, head(path=b"/" + b"a" * 600))
    json_error(resp, 414, "URI_TOO_LONG")


def test_keep_alive_next_head_is_bounded_too(server):
    """The guard is back after each request, with or without a body."""
    with connect(server.port) as s:
        r = Responses(s)
        s.sendall(head(b"Content-Length: 5\r\n", method=b"POST") + b"abcde")
        assert r.next().status == 405
        s.sendall(head())
        assert r.next().status == 200
        # unfinished: only the guard answers it (h2o would wait for the rest)
        send_quietly(s, b"GET /health HTTP/1.1\r\nHost: e2e\r\n" + filler(40000))
        json_error(r.next(), 431, "HEADERS_TOO_LARGE")


def test_pipelined_oversized_head_is_refused(server):
    """A head that arrives behind another, in the same packet."""
    with connect(server.port) as s:
        send_quietly(s, head() + head(filler(40000)))
        r = Responses(s)
        assert r.next().status == 200
        json_error(r.next(), 431, "HEADERS_TOO_LARGE")


def test_pipelined_unfinished_oversized_head_is_refused(server):
    """Behind a request with a body, sent at once, a head that never ends:
    h2o reads it into its buffer with the end of the body."""
    n = 256 * 1024
    with connect(server.port) as s:
        send_quietly(s, head(b"Content-Length: %d\r\n" % n, method=b"POST") + b"z" * n +
                     b"GET /health HTTP/1.1\r\nHost: e2e\r\n" + filler(40000))
        r = Responses(s)
        assert r.next().status == 405
        json_error(r.next(), 431, "HEADERS_TOO_LARGE")


def test_pipelined_unfinished_head_read_in_one_gulp_is_refused(start_server):
    """Small enough to come in with the request before it in one read, so
    h2o holds it and no read follows: judged when the guard is put back."""
    s = start_server(env={"MAX_HEADER_BYTES": "1024", "MAX_REQUEST_LINE_BYTES": "256"})
    with connect(s.port) as c:
        c.sendall(head() + b"GET /health HTTP/1.1\r\nHost: e2e\r\n" + filler(2000))
        r = Responses(c)
        assert r.next().status == 200
        json_error(r.next(), 431, "HEADERS_TOO_LARGE")


def test_pipelined_malformed_head_is_400_json(server):
    """h2o would parse it from its buffer the moment the first request is
    done, and answer its plain-text 400."""
    with connect(server.port) as s:
        s.sendall(head() + b"GARBAGE\r\nX-Request-ID: pipe-400\r\n\r\n")
        r = Responses(s)
        assert r.next().status == 200
        resp = r.next()
        json_error(resp, 400, "BAD_REQUEST")
        assert resp.headers["x-request-id"] == "pipe-400"


def test_pipelined_head_after_a_body_is_judged(server):
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(101))
    with connect(server.port) as s:
        s.sendall(head(b"Content-Length: 5\r\n", method=b"POST") + b"abcde" +
                  head(b"X-Request-ID: pipe-431\r\n" + many))
        r = Responses(s)
        assert r.next().status == 405
        resp = r.next()
        json_error(resp, 431, "HEADERS_TOO_LARGE")
        assert resp.headers["x-request-id"] == "pipe-431"


def test_pipelined_requests_with_bodies_are_all_served(server):
    post = head(b"Content-Length: 5\r\n", method=b"POST") + b"abcde"
    with connect(server.port) as s:
        s.sendall((post + head()) * 3 + head(b"Connection: close\r\n"))
        r = Responses(s)
        assert [r.next().status for _ in range(7)] == [405, 200] * 3 + [200]


def test_a_body_is_not_mistaken_for_a_head(server):
    """A body bigger than the head limit, with no CRLF CRLF in it."""
    with connect(server.port, timeout=10.0) as s:
        r = Responses(s, 10.0)
        n = 3 * HEAD_LIMIT
        s.sendall(head(b"Content-Length: %d\r\n" % n, method=b"POST"))
        for _ in range(3):
            s.sendall(b"z" * HEAD_LIMIT)
            time.sleep(0.05)
        assert r.next().status == 405
        chunk = b"q" * (2 * HEAD_LIMIT)
        s.sendall(head(b"Transfer-Encoding: chunked\r\n", method=b"POST") +
                  b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n")
        assert r.next().status == 405
        s.sendall(head())
        assert r.next().status == 200


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_flood_of_unfinished_heads_stays_small(start_server):
    """200 connections, each sending a ~400 KB head that never ends: each is
    answered 431 and the server does not hold 200 x 400 KB."""
    s = start_server(env={"REQUEST_TIMEOUT_SECONDS": "60"})
    before = rss_kb(s.proc.pid)
    big = b"GET /health HTTP/1.1\r\nHost: e2e\r\nX-Fill: " + b"a" * (400 * 1024)
    socks = [connect(s.port, timeout=10.0) for _ in range(200)]
    try:
        for c in socks:
            send_quietly(c, big)
        time.sleep(0.5)
        grown_mb = (rss_kb(s.proc.pid) - before) / 1024
        # h2o alone holds 200 x ~512 KB buffers (~100 MB); the guard, at most 64 KB each
        assert grown_mb < 40, f"RSS grew {grown_mb:.0f} MB"
        for c in socks:
            json_error(read_response(c, 10.0), 431, "HEADERS_TOO_LARGE")
    finally:
        for c in socks:
            c.close()
    assert s.get("/health").status_code == 200


# ---------------------------------------------------------------- item 5: connection cap


def test_connections_are_capped_per_process(start_server):
    s = start_server(env={"MAX_CONNECTIONS": "8", "AGENTOS_WORKERS": "2"})
    s.close_http()
    idle = []
    deadline = time.monotonic() + 10.0
    try:
        # A reply proves a connection is counted. The start-up probe's
        # connection may still count for a moment after it closed: retry.
        while len(idle) < 8:
            c = connect(s.port)
            c.sendall(head())
            if Responses(c).next().status == 200:
                idle.append(c)
                continue
            c.close()
            assert time.monotonic() < deadline, "could not hold 8 connections"
            time.sleep(0.05)
        resp, closed = exchange(s.port, head(b"Connection: close\r\n"))
        assert_error(resp, 503, "SERVER_BUSY")  # refused unread: no request id to echo
        assert closed
    finally:
        for c in idle:
            c.close()
    deadline = time.monotonic() + 5.0
    while True:
        resp, _ = exchange(s.port, head(b"Connection: close\r\n"))
        if resp.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert resp.status == 200, resp.text


# ---------------------------------------------------------------- item 10: smuggling


def test_two_different_content_lengths_are_400_and_closed(server):
    resp, closed = exchange(server.port, head(b"Content-Length: 3\r\nContent-Length: 5\r\n",
                                              method=b"POST") + b"abcde")
    json_error(resp, 400, "BAD_REQUEST")
    assert resp.headers.get("connection", "").lower() == "close"
    assert closed


def test_content_length_with_transfer_encoding_is_400_and_closed(server):
    smuggled = head(b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", method=b"POST")
    smuggled += b"0\r\n\r\n" + head(b"Connection: close\r\n")
    resp, closed = exchange(server.port, smuggled)
    json_error(resp, 400, "BAD_REQUEST")
    assert closed, "the smuggled second request must not be read"


def test_smuggling_behind_a_pipelined_request_is_refused(server):
    with connect(server.port) as s:
        send_quietly(s, head() + head(b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
                                      method=b"POST") + b"0\r\n\r\n" + head())
        r = Responses(s)
        assert r.next().status == 200
        json_error(r.next(), 400, "BAD_REQUEST")
        assert r.buf == b"" and closed_by_server(s)


def test_repeated_equal_content_length_is_accepted(server):
    resp, _ = exchange(server.port, head(b"Content-Length: 0\r\nContent-Length: 0\r\n"
                                         b"Connection: close\r\n"))
    assert resp.status == 200, resp.text


# ---------------------------------------------------------------- item 13: h2o's own errors


def test_h2o_own_error_replies_carry_a_request_id(start_server):
    s = start_server(env={"MAX_BODY_BYTES": "1000"})
    resp, _ = exchange(s.port, head(b"X-Request-ID: edge-413\r\nContent-Length: 5000\r\n",
                                    method=b"POST") + b"x" * 5000)
    assert_error(resp, 413)
    assert resp.headers.get("x-request-id") == "edge-413"
    resp, _ = exchange(s.port, head(b"Expect: something-else\r\nContent-Length: 1\r\n",
                                    method=b"POST"))
    assert_error(resp, 417)
    assert re.match(UUID_RE, resp.headers.get("x-request-id", "")), resp.headers


# ---------------------------------------------------------------- item 7: HTTP/2


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS_FRAME = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
H2C_UPGRADE = head(b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                   b"HTTP2-Settings: AAMAAABkAAQAAP__\r\n")


def first_bytes(port: int, data: bytes, n: int = 16) -> bytes:
    with connect(port) as s:
        s.sendall(data)
        got = b""
        try:
            while len(got) < n:
                chunk = s.recv(n - len(got))
                if not chunk:
                    break
                got += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        return got


def test_http2_is_off_by_default(server):
    got = first_bytes(server.port, PREFACE + SETTINGS_FRAME)
    assert got.startswith(b"HTTP/1.1 400"), got
    resp, _ = exchange(server.port, H2C_UPGRADE)
    assert resp.status == 200, resp.status
    assert "upgrade" not in resp.headers


def test_http2_on_when_asked(start_server):
    s = start_server(env={"HTTP2": "on"})
    got = first_bytes(s.port, PREFACE + SETTINGS_FRAME, 9)
    assert len(got) == 9 and got[3] == 0x04, got  # the server's SETTINGS frame
    got = first_bytes(s.port, H2C_UPGRADE, 12)
    assert got.startswith(b"HTTP/1.1 101"), got
