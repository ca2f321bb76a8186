"""What the runs tests drive besides the service: the scripted model server
(tests/support/mock_model.py), a local HTTP tool server that records what it
is sent, agent YAML files, and a small incremental SSE reader."""

from __future__ import annotations

import json
import re
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from conftest import REPO, bearer, wait_until

MOCK_MODEL = REPO / "tests" / "support" / "mock_model.py"

# Every frame carries these (AGENTOS_API.md, "Run events").
FRAME_KEYS = ("created_at", "event", "agent_id", "agent_name", "run_id", "session_id")
TERMINAL = ("RunCompleted", "RunError", "RunCancelled")


# ================================================================ the scripted model


def start_port_process(script: Path) -> tuple[subprocess.Popen, int]:
    """Runs a test server script that prints "PORT <n>" first; its process
    and port."""
    proc = subprocess.Popen([sys.executable, str(script), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 15)
    line = proc.stdout.readline() if ready else ""
    m = re.match(r"PORT (\d+)", line or "")
    if not m:
        proc.kill()
        err = proc.stderr.read()
        raise RuntimeError(f"{script.name} did not print 'PORT n' (got {line!r})\n{err}")
    return proc, int(m.group(1))


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class MockModel:
    """tests/support/mock_model.py in a subprocess. Scripts and request logs
    are keyed by the API key ("sk-test-...") the agent sends."""

    def __init__(self) -> None:
        self.proc, self.port = start_port_process(MOCK_MODEL)
        self.url = f"http://127.0.0.1:{self.port}"
        self.http = httpx.Client(base_url=self.url, timeout=10.0)

    def script(self, key: str, steps: list[dict]) -> None:
        r = self.http.post("/_script", params={"key": key}, json=steps)
        assert r.status_code == 200, (r.status_code, r.text)

    def requests(self, key: str) -> list[dict]:
        r = self.http.get("/_requests", params={"key": key})
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()

    def wait_requests(self, key: str, n: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.requests(key)
            if len(got) >= n or time.monotonic() > deadline:
                return got
            time.sleep(0.05)

    def close(self) -> None:
        self.http.close()
        stop_process(self.proc)


# ================================================================ the HTTP tool server


@dataclass
class ToolCall:
    path: str
    query: dict
    headers: dict[str, str]  # lower-case names
    body: object
    start: float             # monotonic, when the request arrived
    end: float = 0.0         # when the answer was sent


class ToolServer:
    """A local HTTP tool: records each request with its headers, waits
    ?delay_ms=, answers ?status= (200 by default) with JSON."""

    def __init__(self) -> None:
        self.calls: list[ToolCall] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def _handle(self):
                url = urlsplit(self.path)
                q = parse_qs(url.query)
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n > 0 else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                call = ToolCall(self.command + " " + url.path, q,
                                {k.lower(): v for k, v in self.headers.items()}, body,
                                time.monotonic())
                with outer.lock:
                    outer.calls.append(call)
                delay = float(q.get("delay_ms", ["0"])[0]) / 1000.0
                if delay:
                    time.sleep(delay)
                status = int(q.get("status", ["200"])[0])
                arg = body.get("q") if isinstance(body, dict) else None
                name = url.path.strip("/")
                if status == 200:
                    doc = {"found": f"{name}:{arg}", "workspace": call.headers.get("x-workspace-id"),
                           "user": call.headers.get("x-user-id")}
                else:
                    doc = {"error": f"{name} is broken"}
                out = json.dumps(doc).encode()
                call.end = time.monotonic()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                try:
                    self.wfile.write(out)
                except OSError:
                    pass

            do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = _handle

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def calls_for(self, run_id: str) -> list[ToolCall]:
        with self.lock:
            return [c for c in self.calls if c.headers.get("x-run-id") == run_id]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ================================================================ agent YAML


def _scalar(v) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v))  # a JSON string is a YAML double-quoted scalar


def to_yaml(v, indent: int = 0) -> str:
    """Block-style YAML for dicts, lists and scalars (no YAML library here)."""
    pad = " " * indent
    if isinstance(v, dict):
        if not v:
            return pad + "{}\n"
        out = ""
        for k, item in v.items():
            if isinstance(item, (dict, list)) and item:
                out += f"{pad}{k}:\n" + to_yaml(item, indent + 2)
            elif isinstance(item, (dict, list)):
                out += f"{pad}{k}: {'{}' if isinstance(item, dict) else '[]'}\n"
            else:
                out += f"{pad}{k}: {_scalar(item)}\n"
        return out
    if isinstance(v, list):
        out = ""
        for item in v:
            if isinstance(item, dict) and item:
                inner = to_yaml(item, indent + 2)
                out += pad + "- " + inner[indent + 2:]
            elif isinstance(item, list) and item:
                out += pad + "-\n" + to_yaml(item, indent + 2)
            else:
                out += f"{pad}- {_scalar(item)}\n"
        return out
    return pad + _scalar(v) + "\n"


def write_agent(directory: Path, doc: dict) -> Path:
    path = directory / f"{doc['id']}.yaml"
    path.write_text(f"# written by tests/e2e/test_runs.py\n{to_yaml(doc)}")
    return path


# ================================================================ SSE


@dataclass
class Frame:
    event: str
    data: dict
    t: float  # monotonic, when it was read

    @property
    def name(self) -> str:
        return self.event


def parse_block(block: bytes, t: float) -> tuple[Frame | None, list[str]]:
    """One frame's text (between blank lines): the frame, and its comments."""
    event, data, comments = None, [], []
    for line in block.decode("utf-8").split("\n"):
        line = line.rstrip("\r")
        if line.startswith(":"):
            comments.append(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif line:
            raise AssertionError(f"unexpected SSE line {line!r} in {block!r}")
    if event is None and not data:
        return None, comments
    assert event is not None, f"a frame without 'event:': {block!r}"
    assert len(data) == 1, f"expected one compact data line: {block!r}"
    doc = json.loads(data[0])
    assert isinstance(doc, dict), block
    return Frame(event, doc, t), comments


def check_frame(f: Frame) -> None:
    """Each frame's JSON names its own event and carries the common fields."""
    assert f.data.get("event") == f.event, (f.event, f.data)
    for k in FRAME_KEYS:
        assert k in f.data and f.data[k] not in (None, ""), (k, f.event, f.data)
    assert isinstance(f.data["created_at"], (int, float)), f.data
    assert abs(f.data["created_at"] - time.time()) < 120, f.data


class RunStream:
    """A streamed run (POST /agents/{id}/runs, SSE reply), read incrementally."""

    def __init__(self, base_url: str, agent_id: str, token: str | None, *, json_body=None,
                 data=None, read_timeout: float = 15.0, headers: dict | None = None):
        self.client = httpx.Client(base_url=base_url,
                                   timeout=httpx.Timeout(10.0, read=read_timeout))
        hdrs = {**(bearer(token) if token else {}), **(headers or {})}
        self.t0 = time.monotonic()
        kw = {"json": json_body} if data is None else {"data": data}
        self._cm = self.client.stream("POST", f"/agents/{agent_id}/runs", headers=hdrs, **kw)
        self.resp = self._cm.__enter__()
        self.frames: list[Frame] = []
        self.comments: list[str] = []
        self._buf = b""
        self._it = self.resp.iter_raw() if self.resp.status_code == 200 else None
        self.eof = False
        self.closed = False

    @property
    def status_code(self) -> int:
        return self.resp.status_code

    def body(self) -> bytes:
        return self.resp.read()

    def next(self) -> Frame | None:
        """The next event frame (comments are kept aside); None at the end."""
        while True:
            while b"\n\n" in self._buf:
                block, _, self._buf = self._buf.partition(b"\n\n")
                frame, comments = parse_block(block, time.monotonic())
                self.comments += comments
                if frame is not None:
                    check_frame(frame)
                    self.frames.append(frame)
                    return frame
            if self.eof:
                assert self._buf.strip() == b"", f"a partial frame at the end: {self._buf!r}"
                return None
            try:
                chunk = next(self._it)
            except StopIteration:
                self.eof = True
                continue
            except httpx.HTTPError as e:
                raise AssertionError(f"the stream broke ({type(e).__name__}: {e}) after "
                                     f"{len(self.frames)} frames: {self.names()[-5:]}") from None
            self._buf += chunk

    def until(self, *names: str) -> Frame:
        while True:
            f = self.next()
            assert f is not None, f"stream ended before {names}: {[x.event for x in self.frames]}"
            if f.event in names:
                return f

    def read_all(self) -> list[Frame]:
        while self.next() is not None:
            pass
        self.close()
        return self.frames

    def read_all_within(self, timeout: float) -> list[Frame]:
        """read_all, failing unless the stream ends (the server closes it)
        within timeout seconds. A read timeout alone never fires on a stream
        kept alive by pings; a reader thread, given up on, is unblocked when
        the server goes."""
        failed: list[BaseException] = []

        def reader():
            try:
                self.read_all()
            except BaseException as e:  # handed to the test's thread
                failed.append(e)

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(timeout)
        if t.is_alive():
            raise AssertionError(f"the stream had not ended {timeout}s on: {self.names()[-5:]}")
        if failed:
            raise failed[0]
        return self.frames

    def names(self) -> list[str]:
        return [f.event for f in self.frames]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self._cm.__exit__(None, None, None)
            finally:
                self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def check_run_stream(frames: list[Frame], terminal: str | None = None) -> dict:
    """The shape every finished stream has: RunStarted first, one final event
    last, one run id and session id throughout. The final frame's data."""
    names = [f.event for f in frames]
    assert names, "no frames"
    assert names[0] == "RunStarted", names
    ends = [n for n in names if n in TERMINAL]
    assert len(ends) == 1 and names[-1] == ends[0], names
    if terminal is not None:
        assert names[-1] == terminal, (names, frames[-1].data)
    assert len({f.data["run_id"] for f in frames}) == 1, names
    assert len({f.data["session_id"] for f in frames}) == 1, names
    assert len({f.data["agent_id"] for f in frames}) == 1, names
    return frames[-1].data


def content_of(frames: list[Frame]) -> str:
    out = ""
    for f in frames:
        if f.event == "RunContent":
            assert f.data.get("content_type") == "str", f.data
            assert isinstance(f.data.get("content"), str), f.data
            out += f.data["content"]
    return out


# ================================================================ the process's counters


def prometheus_sample(server, name: str) -> float:
    """An unlabelled sample of GET /metrics/prometheus (METRICS_PUBLIC)."""
    r = server.get("/metrics/prometheus")
    assert r.status_code == 200, (r.status_code, r.text)
    m = re.search(rf"^{re.escape(name)} (\S+)$", r.text, re.M)
    assert m, f"no sample {name} in /metrics/prometheus"
    return float(m.group(1))


def wait_runs_settled(server, timeout: float = 10.0) -> None:
    """Waits until no run of the process is in flight: each run has ended,
    nothing of it (a model call, a tool call, a retry) can still go out."""
    wait_until(lambda: prometheus_sample(server, "agentos_runs_in_flight") == 0, timeout,
               0.05, what="agentos_runs_in_flight back to 0")


# ================================================================ model requests


def conversation(record: dict) -> list[tuple[str, str]]:
    """A model request's messages as (role, text), system left out. Text of
    block contents (Anthropic) is joined; tool traffic is left out."""
    body = record["body"]
    out = []
    for m in body.get("messages", []):
        role, content = m.get("role"), m.get("content")
        if role in ("system", "tool"):
            continue
        if isinstance(content, str):
            if content:
                out.append((role, content))
        elif isinstance(content, list):
            text = "".join(b.get("text", "") for b in content
                           if isinstance(b, dict) and b.get("type") == "text")
            if text:
                out.append((role, text))
    return out


def tool_names(record: dict) -> list[str]:
    names = []
    for t in record["body"].get("tools") or []:
        if "function" in t:
            names.append(t["function"]["name"])
        else:
            names.append(t["name"])
    return names


def tool_results(record: dict) -> dict[str, str]:
    """The tool results a model request hands back: {tool call id: text}."""
    out = {}
    for m in record["body"].get("messages", []):
        if m.get("role") == "tool":  # OpenAI
            c = m.get("content")
            out[m.get("tool_call_id")] = c if isinstance(c, str) else json.dumps(c)
        elif isinstance(m.get("content"), list):  # Anthropic
            for b in m["content"]:
                if isinstance(b, dict) and b.get("type") == "tool_result":
                    c = b.get("content")
                    if isinstance(c, list):
                        c = "".join(x.get("text", "") for x in c if isinstance(x, dict))
                    out[b.get("tool_use_id")] = c if isinstance(c, str) else json.dumps(c)
    return out


def assistant_tool_calls(record: dict) -> dict[str, tuple[str, object]]:
    """The assistant's tool calls a model request replays: {id: (name, args)}."""
    out = {}
    for m in record["body"].get("messages", []):
        if m.get("role") != "assistant":
            continue
        for tc in m.get("tool_calls") or []:  # OpenAI
            fn = tc.get("function", {})
            args = fn.get("arguments")
            out[tc.get("id")] = (fn.get("name"), json.loads(args) if isinstance(args, str) else args)
        if isinstance(m.get("content"), list):  # Anthropic
            for b in m["content"]:
                if isinstance(b, dict) and b.get("type") == "tool_use":
                    out[b.get("id")] = (b.get("name"), b.get("input"))
    return out
