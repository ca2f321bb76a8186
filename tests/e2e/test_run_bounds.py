"""The run loop's bounds (issue 7, items 1, 3, 4 and 9), against a model
server that misbehaves on purpose (tests/support/hostile_model.py): a model
that asks for tools for ever, streams that never end (comments, empty
deltas, a byte trickle, words without end), floods, one huge delta and a
512 KiB tool name. Each test ends in seconds: the service runs with a 2 s
stall timeout and a 6 s run deadline, and agents set their own."""

from __future__ import annotations

import json
import secrets
import socket
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from conftest import REPO, launch, make_token, wait_until
from runs_support import (RunStream, check_run_stream, content_of, start_port_process,
                          stop_process, write_agent)

HOSTILE = REPO / "tests" / "support" / "hostile_model.py"
STALL_S = 2
RUN_TIMEOUT_S = 6
FOUR_MB = 4_000_000


class Hostile:
    def __init__(self) -> None:
        self.proc, port = start_port_process(HOSTILE)
        self.url = f"http://127.0.0.1:{port}"

    def requests(self, scenario: str) -> int:
        return httpx.get(f"{self.url}/_stats", timeout=5).json().get(scenario, 0)

    def close(self) -> None:
        stop_process(self.proc)


class SlowTool:
    """An HTTP tool that takes 20 s to answer."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(20)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:
                    pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def hostile():
    h = Hostile()
    yield h
    h.close()


@pytest.fixture(scope="module")
def slow_tool():
    t = SlowTool()
    yield t
    t.close()


def agent(agents: Path, agent_id: str, base_url: str, provider: str = "openai", **extra) -> None:
    doc = {"id": agent_id, "name": agent_id,
           "model": {"provider": provider, "id": "hostile", "base_url": base_url,
                     "api_key_env": "HOSTILE_KEY"},
           "tools": ["calculator"]}
    doc.update(extra)
    write_agent(agents, doc)


@pytest.fixture(scope="module")
def srv(srv_env, tmp_path_factory):
    s = launch(tmp_path_factory.mktemp("bounds-srv"), env=srv_env)
    yield s
    s.check_clean_exit()  # exit 0, and no sanitizer report


@pytest.fixture(scope="module")
def srv_env(hostile, slow_tool, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("bounds")
    agents = tmp / "agents"
    agents.mkdir()
    h = hostile.url
    for name in ("comments", "empty", "trickle", "words"):
        agent(agents, f"h-{name}", f"{h}/{name}/v1")
    agent(agents, "h-comments-anthropic", f"{h}/comments/v1", provider="anthropic")
    agent(agents, "h-words-2s", f"{h}/words/v1", timeout_seconds=2)
    agent(agents, "h-toolloop", f"{h}/toolloop/v1", tool_call_limit=3)
    agent(agents, "h-turns", f"{h}/toolloop-calculator-turns/v1", tool_call_limit=100, max_model_turns=3)
    agent(agents, "h-slowtool", f"{h}/toolloop-slow/v1", timeout_seconds=2,
          tools=[{"name": "slow", "description": "takes its time",
                  "parameters": {"type": "object", "properties": {}},
                  "url": f"{slow_tool.url}/slow", "timeout_ms": 30000}])
    # The big answers may take longer than the service's deadline under ASan.
    agent(agents, "h-flood", f"{h}/flood-{FOUR_MB}/v1", timeout_seconds=60)
    agent(agents, "h-flood-slow", f"{h}/flood-{FOUR_MB}-slow/v1", timeout_seconds=60)
    agent(agents, "h-bigdelta", f"{h}/bigdelta-800000x5/v1", timeout_seconds=60)
    agent(agents, "h-bigname", f"{h}/bigname-524288/v1")
    return {"AGENTS_DIR": str(agents), "HOSTILE_KEY": "sk-hostile",
            "RATE_LIMIT_PER_MINUTE": "0", "MODEL_MAX_RETRIES": "0",
            "MODEL_STALL_TIMEOUT_SECONDS": str(STALL_S),
            "RUN_TIMEOUT_SECONDS": str(RUN_TIMEOUT_S),
            "SSE_PING_SECONDS": "1", "SHUTDOWN_GRACE_SECONDS": "5"}


@pytest.fixture
def ws() -> str:
    return f"ws-{secrets.token_hex(4)}"


def token(ws: str) -> str:
    return make_token(sub=f"user-{ws}", workspaceId=ws)


def raw_run(srv, agent_id: str, ws: str, pace: float = 0.0, chunk: int = 4096,
            rcvbuf: int | None = None, wait: float = 0.0, limit: float = 60.0) -> bytes:
    """A streamed run over a raw socket with Connection: close, read as a
    slow client would: wait seconds before reading, then chunk bytes a read
    every pace seconds (rcvbuf: a small receive window)."""
    body = json.dumps({"message": "go"}).encode()
    head = (f"POST /agents/{agent_id}/runs HTTP/1.1\r\nHost: e2e\r\n"
            f"Authorization: Bearer {token(ws)}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(20)
    got = bytearray()
    try:
        sock.connect(("127.0.0.1", srv.port))
        sock.sendall(head + body)
        time.sleep(wait)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            piece = sock.recv(chunk)
            if not piece:
                break
            got += piece
            time.sleep(pace)
    finally:
        sock.close()
    return bytes(got)


def run(srv, agent_id: str, ws: str, limit: float = 30.0) -> tuple[list, float]:
    """A streamed run read to its end, which must come within limit seconds
    (a run that never ends is what these tests look for)."""
    t0 = time.monotonic()
    rs = RunStream(srv.base_url, agent_id, token(ws), json_body={"message": "go"},
                   read_timeout=limit)
    try:
        assert rs.status_code == 200, rs.body()
        while rs.next() is not None:
            assert time.monotonic() - t0 < limit, \
                f"the run goes on after {limit} s: {rs.names()[-3:]} ({len(rs.frames)} frames)"
    finally:
        rs.close()
    return rs.frames, time.monotonic() - t0


def row(srv, ws: str, run_id: str) -> dict:
    """The run's row, once it is no longer RUNNING (read from the SQLite file)."""
    def get():
        conn = sqlite3.connect(srv.tmp / "data" / "agentos.db", timeout=10)
        try:
            r = conn.execute("SELECT status, content FROM runs WHERE workspace_id = ? AND "
                             "run_id = ?", (ws, run_id)).fetchone()
        finally:
            conn.close()
        return {"status": r[0], "content": r[1]} if r and r[0] != "RUNNING" else None
    return wait_until(get, 10, 0.05, what=f"run {run_id} written")


def run_error(srv, agent_id: str, ws: str, error_type: str, within: float) -> tuple[dict, float]:
    frames, took = run(srv, agent_id, ws)
    end = check_run_stream(frames, "RunError")
    assert end.get("error_type") == error_type, end
    assert took < within, f"RunError after {took:.1f} s"
    r = row(srv, ws, end["run_id"])
    assert r["status"] == "ERROR" and r["content"] == end["content"], (r, end)
    return end, took


def health_ok(srv) -> None:
    t = time.monotonic()
    assert httpx.get(f"{srv.base_url}/health", timeout=5).status_code == 200
    assert time.monotonic() - t < 2


# ---------------------------------------------------------------- item 3


def test_tool_requests_past_the_limit_end_the_run(srv, hostile, ws):
    end, _ = run_error(srv, "h-toolloop", ws, "tool_call_limit_exceeded", within=15)
    assert "tool_call_limit_exceeded" in end["content"], end
    # Three turns with a call each, then a fourth that asks again.
    assert hostile.requests("toolloop") == 4


def test_model_turns_are_capped(srv, hostile, ws):
    end, _ = run_error(srv, "h-turns", ws, "max_model_turns_exceeded", within=15)
    assert "max_model_turns" in end["content"], end
    assert hostile.requests("toolloop-calculator-turns") == 3


# ---------------------------------------------------------------- item 4


@pytest.mark.parametrize("agent_id", ["h-comments", "h-comments-anthropic", "h-empty",
                                      "h-trickle"])
def test_bytes_without_deltas_are_a_stall(srv, ws, agent_id):
    # Bytes keep coming (comments, pings, empty deltas, a byte every 20 ms)
    # but no text: a stall after STALL_S, well before the run's deadline.
    end, took = run_error(srv, agent_id, ws, "model_stalled", within=RUN_TIMEOUT_S - 0.5)
    assert took >= STALL_S - 0.2, took
    assert "stalled" in end["content"], end


def test_run_deadline_from_the_environment(srv, ws):
    # Words every 0.3 s: never a stall, but RUN_TIMEOUT_SECONDS ends it.
    frames, took = run(srv, "h-words", ws)
    end = check_run_stream(frames, "RunError")
    assert end.get("error_type") == "timeout", end
    assert "RunContent" in [f.event for f in frames]
    assert RUN_TIMEOUT_S - 0.2 <= took < RUN_TIMEOUT_S + 4, took
    r = row(srv, ws, end["run_id"])
    assert r["status"] == "ERROR" and r["content"] == end["content"], r


def test_run_deadline_of_the_agent(srv, ws):
    end, took = run_error(srv, "h-words-2s", ws, "timeout", within=2 + 3)
    assert took >= 1.8, took


def test_run_deadline_stops_tool_calls(srv, ws):
    # The tool takes 20 s; the agent's deadline is 2 s.
    frames, took = run(srv, "h-slowtool", ws)
    end = check_run_stream(frames, "RunError")
    assert end.get("error_type") == "timeout", end
    assert "ToolCallStarted" in [f.event for f in frames]
    assert took < 2 + 3, took
    assert row(srv, ws, end["run_id"])["status"] == "ERROR"


# ---------------------------------------------------------------- item 9


def check_big_answer(srv, ws, frames) -> None:
    end = check_run_stream(frames, "RunCompleted")
    text = content_of(frames)
    assert len(text) == FOUR_MB, len(text)
    # The whole answer is in the RunContent events; the final event, which
    # would be a frame over SSE_MAX_BUFFER_BYTES, leaves it out and says so.
    assert end.get("content") is None and end.get("content_omitted") is True, \
        {k: v for k, v in end.items() if k != "content"}
    r = row(srv, ws, end["run_id"])
    assert r["status"] == "COMPLETED" and r["content"] == text, (r["status"], len(r["content"]))


def test_four_mb_answer_read_promptly_streams_whole(srv, ws):
    frames, _ = run(srv, "h-flood", ws)
    check_big_answer(srv, ws, frames)
    assert max(len(f.data["content"]) for f in frames if f.event == "RunContent") <= 16384


def test_huge_single_deltas_are_split(srv, ws):
    # Five deltas of 800 KB: each alone was a frame near the 1 MiB cap.
    frames, _ = run(srv, "h-bigdelta", ws)
    end = check_run_stream(frames, "RunCompleted")
    text = content_of(frames)
    assert text == "".join(chr(ord("a") + i) * 800000 for i in range(5)), len(text)
    assert all(len(f.data["content"]) <= 16384 for f in frames if f.event == "RunContent")
    assert row(srv, ws, end["run_id"])["status"] == "COMPLETED"


def test_model_max_reply_bytes_is_configured(srv_env, start_server, ws):
    # MODEL_MAX_REPLY_BYTES, not a compiled-in 4 MiB: a 4 MB answer past a
    # 1 MB bound is a RunError, on the stream and on the row.
    s = start_server(env={**srv_env, "MODEL_MAX_REPLY_BYTES": "1000000"})
    frames, _ = run(s, "h-flood", ws)
    end = check_run_stream(frames, "RunError")
    assert "too large" in end["content"], end
    assert len(content_of(frames)) <= 1_000_000
    r = row(s, ws, end["run_id"])
    assert r["status"] == "ERROR" and r["content"] == end["content"], r


def test_huge_tool_name_is_a_clear_run_error(srv, ws):
    frames, _ = run(srv, "h-bigname", ws)
    end = check_run_stream(frames, "RunError")
    assert "tool call name longer than 256 bytes" in end["content"], end["content"][:300]
    assert "ToolCallStarted" not in [f.event for f in frames]
    r = row(srv, ws, end["run_id"])
    assert r["status"] == "ERROR" and r["content"] == end["content"], r
    assert not [l for l in srv.log_lines() if "too slow" in str(l.get("msg"))
                and l.get("workspace_id") == ws]


# ---------------------------------------------------------------- item 1


def test_fast_stream_to_a_4k_reader_does_not_crash(srv, ws):
    # A model that floods MBs quickly and a client that reads 4 KiB every
    # 3 ms: the SSE queue swaps its buffers thousands of times (before the
    # fix, a heap overflow that ASan aborts on). The service stays up.
    got = raw_run(srv, "h-flood-slow", ws, pace=0.003)
    assert got.startswith(b"HTTP/1.1 200"), got[:200]
    assert b"event: RunCompleted" in got, got[-300:]
    assert got.count(b"x") >= FOUR_MB
    health_ok(srv)
    assert srv.proc.poll() is None


def test_run_that_ends_while_its_reader_is_behind(srv_env, hostile, tmp_path_factory, ws):
    # The run ends while a quarter of the SSE queue still waits (the model
    # sent everything at once and the client has not read yet). When the
    # client then reads, the drained queue must not call back into the run,
    # which its end has freed (before the fix: heap-use-after-free in
    # on_sse_drain, which ASan reports at the clean-exit check).
    # 100 KB of text: RunCompleted (with it all) alone passes a quarter of
    # the 256 KiB queue, so the stream is backlogged at the run's end.
    agent(Path(srv_env["AGENTS_DIR"]), "h-burst", f"{hostile.url}/flood-100000/v1",
          timeout_seconds=60)
    env = dict(srv_env, SSE_MAX_BUFFER_BYTES="262144")
    s = launch(tmp_path_factory.mktemp("behind-srv"), env=env)
    try:
        for _ in range(3):
            # the model is done long before we read
            got = raw_run(s, "h-burst", ws, chunk=65536, rcvbuf=4096, wait=1.5, limit=30)
            assert got.startswith(b"HTTP/1.1 200"), got[:200]
            assert b"event: Run" in got
        health_ok(s)
    finally:
        s.check_clean_exit()
