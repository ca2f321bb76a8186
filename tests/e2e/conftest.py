"""Black-box harness: starts the real agentos binary on a free port with a
controlled environment, and checks on the way out that it exited 0 with no
sanitizer report and without ever printing its secret.

The binary comes from AGENTOS_BIN (`make e2e` points it at build-test/agentos,
an ASan+UBSan build); without it, build-test/agentos in this checkout.

PostgreSQL and Redis (below): one of each for the session (TEST_DATABASE_URL /
TEST_REDIS_URL, or throw-away servers from tests/support), a fresh schema per
test, and dedicated servers for the tests that stop them.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jwt
import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

REPO = Path(__file__).resolve().parents[2]

# 52 bytes: above the 32-byte minimum the server enforces outside development.
SECRET = "e2e-secret-0123456789-abcdefghijklmnopqrstuvwxyz-XYZ"
OTHER_SECRET = "some-other-secret-9876543210-zyxwvutsrqponmlkjihgf"

# Role mode (test_db_roles.py runs test_sessions.py and test_runs.py so):
# every service uses PostgreSQL as a role with only the documented
# privileges (AGENTOS_E2E_PG_ROLE_URL, its schema AGENTOS_E2E_PG_ROLE_SCHEMA,
# migrated by its owner), unless a test asks for SQLite (DATABASE_URL None);
# the tests' own reads and resets go through AGENTOS_E2E_PG_OWNER_URL.
ROLE_MODE = bool(os.environ.get("AGENTOS_E2E_PG_ROLE_URL"))

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 15.0

UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def agentos_bin() -> str:
    path = os.environ.get("AGENTOS_BIN") or str(REPO / "build-test" / "agentos")
    if not os.access(path, os.X_OK):
        pytest.fail(f"agentos binary not found or not executable: {path} (set AGENTOS_BIN)")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(tmp: Path, port: int | None) -> dict[str, str]:
    data = tmp / "data"
    data.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AGENTOS_ENV": "test",
        "BETTER_AUTH_SECRET": SECRET,
        "HOST": "127.0.0.1",
        "AGENTOS_WORKERS": "2",
        "AGENTOS_DATA_DIR": str(data),
        # A path that does not exist: a developer's .env never leaks in.
        "AGENTOS_ENV_FILE": str(tmp / "no-such-dir" / ".env"),
        "LSAN_OPTIONS": f"suppressions={REPO}/tests/lsan.supp",
        "ASAN_OPTIONS": "abort_on_error=0",
        "UBSAN_OPTIONS": "print_stacktrace=1",
    }
    if port is not None:
        env["PORT"] = str(port)
    if ROLE_MODE:  # see role_mode below: every store is that role's schema
        env["DATABASE_URL"] = os.environ["AGENTOS_E2E_PG_ROLE_URL"]
        env["DATABASE_SCHEMA"] = os.environ["AGENTOS_E2E_PG_ROLE_SCHEMA"]
    return env


def merge_env(env: dict[str, str], extra: dict[str, str | None] | None) -> dict[str, str]:
    """extra overrides env; a None value removes the variable."""
    out = dict(env)
    for k, v in (extra or {}).items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = str(v)
    return out


def sanitizer_report(text: str) -> str | None:
    for marker in SANITIZER_MARKERS:
        if marker in text:
            return marker
    return None


# ---------------------------------------------------------------- tokens


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_for(**overrides) -> dict:
    """The seed's claims, now-based; an override of None drops the claim."""
    now = int(time.time())
    claims = {
        "sub": "user-1",
        "sessionId": "session-1",
        "workspaceId": "ws-1",
        "email": "user1@example.com",
        "name": "User One",
        "iat": now,
        "exp": now + 3600,
    }
    for k, v in overrides.items():
        if v is None:
            claims.pop(k, None)
        else:
            claims[k] = v
    return claims


def make_token(secret: str = SECRET, alg: str = "HS256", headers: dict | None = None,
               **overrides) -> str:
    return jwt.encode(claims_for(**overrides), secret.encode(), algorithm=alg, headers=headers)


def unsigned_token(**overrides) -> str:
    """alg none, built by hand: header.payload. with an empty signature."""
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64url(json.dumps(claims_for(**overrides), separators=(",", ":")).encode())
    return f"{header}.{payload}."


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(resp, status: int, code: str | None = None) -> dict:
    """Every error is JSON {"detail": "...", "code": "..."}."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    ctype = resp.headers.get("content-type", "")
    assert ctype.startswith("application/json"), (ctype, resp.text)
    body = json.loads(resp.content)
    assert isinstance(body, dict), body
    if status == 422:  # FastAPI's list form
        assert isinstance(body.get("detail"), list) and body["detail"], body
        for item in body["detail"]:
            assert set(item) == {"type", "loc", "msg", "input"}, item
            assert isinstance(item["loc"], list) and isinstance(item["msg"], str), item
    else:
        assert isinstance(body.get("detail"), str) and body["detail"], body
    assert isinstance(body.get("code"), str) and body["code"], body
    if code is not None:
        assert body["code"] == code, body
    return body


def detail_text(body: dict) -> str:
    """A 422's items as "field: msg" text (other errors: the detail)."""
    d = body["detail"]
    if isinstance(d, str):
        return d
    return "; ".join(f"{i['loc'][-1]}: {i['msg']}" for i in d)


# ---------------------------------------------------------------- raw HTTP


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes = b""
    complete: bool = True

    @property
    def status_code(self) -> int:  # same name as httpx, so assert_error takes both
        return self.status

    @property
    def content(self) -> bytes:
        return self.body

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self):
        return json.loads(self.body)


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except ConnectionResetError:
        return b""


def read_response(sock: socket.socket, timeout: float = 5.0) -> RawResponse:
    """Reads one HTTP/1.1 response (Content-Length, chunked or close-delimited)."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = _recv(sock)
        if not chunk:
            raise AssertionError(f"connection closed before a complete response head: {buf!r}")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, status, *reason = lines[0].split(" ", 2)
    assert version.startswith("HTTP/1."), lines[0]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = (headers[key] + ", " + value.strip()) if key in headers else value.strip()
    complete = True
    if "content-length" in headers:
        want = int(headers["content-length"])
        while len(rest) < want:
            chunk = _recv(sock)
            if not chunk:
                complete = False
                break
            rest += chunk
        body = rest[:want]
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        while not rest.endswith(b"0\r\n\r\n"):
            chunk = _recv(sock)
            if not chunk:
                complete = False
                break
            rest += chunk
        body, data = b"", rest
        while data:
            size_line, _, data = data.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            body += data[:size]
            data = data[size + 2:]
    else:
        while True:
            chunk = _recv(sock)
            if not chunk:
                break
            rest += chunk
        body = rest
    return RawResponse(int(status), reason[0] if reason else "", headers, body, complete)


def raw_request(port: int, data: bytes, timeout: float = 5.0) -> RawResponse:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return read_response(s, timeout)


def post_body(port: int, path: str, body_len: int, chunked: bool = False,
              timeout: float = 10.0) -> RawResponse:
    """POSTs body_len bytes while reading the reply, so a server that answers
    413 (and closes) before the whole body is sent is still heard."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if chunked:
        head = (f"POST {path} HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n"
                f"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    else:
        head = (f"POST {path} HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n"
                f"Content-Length: {body_len}\r\nConnection: close\r\n\r\n")
    s.sendall(head.encode())

    def send_body():
        piece = b"x" * 65536
        left = body_len
        try:
            while left > 0:
                n = min(left, len(piece))
                if chunked:
                    s.sendall(f"{n:x}\r\n".encode() + piece[:n] + b"\r\n")
                else:
                    s.sendall(piece[:n])
                left -= n
            if chunked:
                s.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered early and closed: that is allowed

    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    try:
        return read_response(s, timeout)
    finally:
        sender.join(timeout)
        s.close()


# ---------------------------------------------------------------- the server


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    tmp: Path
    env: dict[str, str]
    stdout_path: Path
    stderr_path: Path
    _http: httpx.Client | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def secret(self) -> str | None:
        return self.env.get("BETTER_AUTH_SECRET")

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(base_url=self.base_url, timeout=10.0)
        return self._http

    def get(self, path: str, **kw) -> httpx.Response:
        return self.http.get(path, **kw)

    def request(self, method: str, path: str, **kw) -> httpx.Response:
        return self.http.request(method, path, **kw)

    def me(self, token: str) -> httpx.Response:
        return self.get("/me", headers=bearer(token))

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stdout_text(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def log_lines(self) -> list[dict]:
        out = []
        for line in self.stderr_text().splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def wait_log(self, pred, timeout: float = 3.0) -> list[dict]:
        """The log lines matching pred, waiting until at least one appears (the
        access log line is written just after the reply leaves)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [l for l in self.log_lines() if pred(l)]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def close_http(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def sigterm(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM (unless it has already exited) and wait; the exit code."""
        self.close_http()
        self.sigterm()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"agentos did not exit within {timeout}s of SIGTERM\n--- stderr ---\n"
                f"{self.stderr_text()}")

    def check_clean_exit(self) -> None:
        rc = self.stop()
        err, out = self.stderr_text(), self.stdout_text()
        problems = []
        if rc != 0:
            problems.append(f"exit code {rc}, expected 0")
        marker = sanitizer_report(err)
        if marker:
            problems.append(f"sanitizer report on stderr ({marker!r})")
        if self.secret and (self.secret in err or self.secret in out):
            problems.append("BETTER_AUTH_SECRET appears in the output")
        if problems:
            pytest.fail("agentos (port %d): %s\n--- stderr ---\n%s\n--- stdout ---\n%s"
                        % (self.port, "; ".join(problems), err, out), pytrace=False)


def launch(tmp: Path, env: dict[str, str | None] | None = None, port: int | None = None,
           wait: bool = True) -> Server:
    """Starts agentos. env overrides the controlled defaults (None unsets).
    port: where it will listen (picked free unless given); PORT is set to it
    unless env sets or unsets PORT itself."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    full = merge_env(base_env(tmp, port), env)
    n = len(list(tmp.glob("agentos-*.stderr")))
    stdout_path = tmp / f"agentos-{n}.stdout"
    stderr_path = tmp / f"agentos-{n}.stderr"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen([agentos_bin()], env=full, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, cwd=tmp)
    server = Server(proc, port, tmp, full, stdout_path, stderr_path)
    if wait:
        wait_healthy(server)
    return server


def wait_healthy(server: Server, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            pytest.fail(f"agentos exited with {server.proc.returncode} during start-up\n"
                        f"--- stderr ---\n{server.stderr_text()}", pytrace=False)
        try:
            r = httpx.get(f"{server.base_url}/health", timeout=1.0)
            if r.status_code == 200:
                return
            last = f"status {r.status_code}"
        except httpx.HTTPError as e:
            last = repr(e)
        time.sleep(0.05)
    server.proc.kill()
    server.proc.wait()
    pytest.fail(f"agentos did not answer /health within {timeout}s ({last})\n"
                f"--- stderr ---\n{server.stderr_text()}", pytrace=False)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    elapsed: float


def run_to_exit(tmp: Path, env: dict[str, str | None] | None = None, args: tuple = (),
                timeout: float = 10.0) -> Run:
    """Runs the binary to completion (start-up refusals, the token command)."""
    tmp.mkdir(parents=True, exist_ok=True)
    full = merge_env(base_env(tmp, free_port()), env)
    t0 = time.monotonic()
    p = subprocess.run([agentos_bin(), *args], env=full, capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL, cwd=tmp)
    return Run(p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def start_server(tmp_path):
    """A factory: start_server(env={...}, port=None, wait=True) -> Server.
    Every server it started is stopped with SIGTERM at teardown and must exit 0
    with a clean stderr."""
    servers: list[Server] = []

    def start(env: dict[str, str | None] | None = None, port: int | None = None,
              wait: bool = True) -> Server:
        s = launch(tmp_path / f"srv{len(servers)}", env=env, port=port, wait=wait)
        servers.append(s)
        return s

    yield start
    failures = []
    for s in servers:
        try:
            s.check_clean_exit()
        except BaseException as e:  # report every server, not just the first
            failures.append(str(e))
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One default-configured server shared by a test module."""
    s = launch(tmp_path_factory.mktemp("agentos"))
    yield s
    s.check_clean_exit()


# ================================================================ PostgreSQL and Redis
#
# One PostgreSQL and one Redis are shared by the whole session: TEST_DATABASE_URL /
# TEST_REDIS_URL when set, otherwise throw-away servers started with
# tests/support/pg_start.sh and redis_start.sh. Every test that uses PostgreSQL
# gets its own DATABASE_SCHEMA, so tests never see each other's rows. Tests that
# stop a server (faults) start their own (dedicated_pg, dedicated_redis), never
# the shared one, even when the TEST_* URLs are set.

SUPPORT = REPO / "tests" / "support"
IS_ROOT = os.geteuid() == 0


def _run_support(args: list[str], timeout: float = 120.0) -> str:
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({p.returncode}):\n{p.stderr}")
    return p.stdout.strip()


def pg_bin() -> Path:
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                   key=lambda p: [int(x) if x.isdigit() else 0
                                  for x in re.split(r"[.]", p.parent.name)])
    if not found or not (found[-1] / "pg_ctl").exists():
        pytest.fail("no PostgreSQL server binaries (install postgresql, or set PG_BIN)",
                    pytrace=False)
    return found[-1]


class PgServer:
    """A throw-away PostgreSQL from pg_start.sh, which a test may stop and start
    again in the same directory and on the same port (pg_stop.sh would remove
    the directory)."""

    def __init__(self, directory: Path, url: str):
        self.dir = directory
        self.url = url
        self.port = int((directory / "port").read_text().strip())

    @classmethod
    def start_new(cls) -> "PgServer":
        # Straight under /tmp: as root the server runs as `postgres`, which must
        # reach DIR through its parents (pytest's own tmp dirs are root-only).
        directory = Path(tempfile.mkdtemp(prefix="agentos-e2e-pg-", dir="/tmp"))
        try:
            url = _run_support([SUPPORT / "pg_start.sh", directory])
        except BaseException:
            subprocess.run([str(SUPPORT / "pg_stop.sh"), str(directory)], capture_output=True,
                           timeout=60, stdin=subprocess.DEVNULL)
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return cls(directory, url)

    def _pg_ctl(self, *args: str, timeout: float = 90.0) -> None:
        cmd = [str(pg_bin() / "pg_ctl"), "-D", str(self.dir / "data"), *args]
        if IS_ROOT:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        _run_support(cmd, timeout=timeout)

    def stop(self) -> None:
        """Fast shutdown: clients are disconnected, nothing committed is lost."""
        self._pg_ctl("-m", "fast", "-w", "-t", "30", "-s", "stop")

    def start(self) -> None:
        """Starts it again on the same port, with pg_start.sh's options."""
        opts = (f"-p {self.port} -k {self.dir}/sock -c listen_addresses=127.0.0.1 "
                f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                f"-c max_connections=200")
        self._pg_ctl("-l", str(self.dir / "server.log"), "-w", "-t", "60", "-s",
                     "-o", opts, "start")

    def destroy(self) -> None:
        _run_support([SUPPORT / "pg_stop.sh", self.dir])


class RedisServer:
    """A throw-away redis-server from redis_start.sh; stop() and start() keep
    its directory and port."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.port = int(_run_support([SUPPORT / "redis_start.sh", directory], timeout=30))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        _run_support([SUPPORT / "redis_stop.sh", self.dir], timeout=30)

    def start(self) -> None:
        _run_support([SUPPORT / "redis_start.sh", self.dir, str(self.port)], timeout=30)

    destroy = stop


@pytest.fixture(scope="session")
def pg_url():
    """The shared PostgreSQL: TEST_DATABASE_URL, or a throw-away server."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    pg = PgServer.start_new()
    try:
        yield pg.url
    finally:
        pg.destroy()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """The shared Redis: TEST_REDIS_URL, or a throw-away server. Tests that
    count in it use random workspace ids, so they never meet."""
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    r = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        yield r.url
    finally:
        r.destroy()


@pytest.fixture
def dedicated_pg():
    """A PostgreSQL of this test's own, which it may stop and start."""
    pg = PgServer.start_new()
    try:
        yield pg
    finally:
        pg.destroy()


@pytest.fixture
def dedicated_redis(tmp_path):
    """A Redis of this test's own, which it may stop and start."""
    r = RedisServer(tmp_path / "redis")
    try:
        yield r
    finally:
        r.destroy()


def random_name(prefix: str = "t_") -> str:
    return prefix + secrets.token_hex(6)


@pytest.fixture
def pg_schema(pg_url):
    """A fresh DATABASE_SCHEMA for one test, dropped afterwards."""
    schema = random_name("t_")
    yield schema
    try:
        with psycopg.connect(pg_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("SET lock_timeout = '5s'")
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    except psycopg.Error as e:  # leaves a schema behind, fails nothing
        print(f"could not drop schema {schema}: {e}")


# ---------------------------------------------------------------- reading the store directly


def ms_now() -> int:
    return int(time.time() * 1000)


_JSON_COLS = ("input", "messages", "tools", "metrics", "session_state", "metadata")


class StoreDB:
    """Direct access to the service's tables, to plant runs and check rows.
    Times are epoch milliseconds; JSON columns are Python values."""

    def insert_run(self, ws: str, session_id: str, run_id: str, created_at: int, *,
                   status: str = "COMPLETED", agent_id: str | None = None,
                   user_id: str | None = None, input=None, content: str | None = None,
                   messages=None, tools=None, metrics=None, model: str | None = None,
                   model_provider: str | None = None) -> None:
        row = {"workspace_id": ws, "run_id": run_id, "session_id": session_id,
               "agent_id": agent_id, "user_id": user_id, "status": status, "input": input,
               "content": content, "messages": messages, "tools": tools, "metrics": metrics,
               "model": model, "model_provider": model_provider,
               "created_at": created_at, "updated_at": created_at}
        self._insert("runs", row)

    def session(self, ws: str, session_id: str) -> dict | None:
        rows = self._select("SELECT * FROM {T}sessions WHERE workspace_id = %s AND "
                            "session_id = %s", (ws, session_id))
        return rows[0] if rows else None

    def sessions(self, ws: str) -> list[dict]:
        return self._select("SELECT * FROM {T}sessions WHERE workspace_id = %s "
                            "ORDER BY session_id", (ws,))

    def runs(self, ws: str, session_id: str | None = None) -> list[dict]:
        if session_id is None:
            return self._select("SELECT * FROM {T}runs WHERE workspace_id = %s "
                                "ORDER BY run_id", (ws,))
        return self._select("SELECT * FROM {T}runs WHERE workspace_id = %s AND "
                            "session_id = %s ORDER BY run_id", (ws, session_id))

    def count_all_runs(self, session_id: str) -> int:
        """Runs with this session id in any workspace."""
        return len(self._select("SELECT run_id FROM {T}runs WHERE session_id = %s",
                                (session_id,)))


class SqliteDB(StoreDB):
    def __init__(self, path: Path):
        self.path = path

    def _connect(self):
        conn = sqlite3.connect(self.path, timeout=10)
        conn.execute("PRAGMA foreign_keys=ON")
        conn.row_factory = sqlite3.Row
        return conn

    def _insert(self, table: str, row: dict) -> None:
        vals = [json.dumps(v) if k in _JSON_COLS and v is not None else v
                for k, v in row.items()]
        sql = (f"INSERT INTO {table} ({', '.join(row)}) "
               f"VALUES ({', '.join('?' for _ in row)})")
        conn = self._connect()
        try:
            with conn:
                conn.execute(sql, vals)
        finally:
            conn.close()

    def _select(self, sql: str, params: tuple) -> list[dict]:
        conn = self._connect()
        try:
            rows = conn.execute(sql.replace("{T}", "").replace("%s", "?"), params).fetchall()
        finally:
            conn.close()
        out = []
        for r in rows:
            d = dict(r)
            for k in _JSON_COLS:
                if isinstance(d.get(k), str):
                    d[k] = json.loads(d[k])
            out.append(d)
        return out


class PgDB(StoreDB):
    def __init__(self, url: str, schema: str):
        self.url = url
        self.schema = schema

    def _connect(self):
        return psycopg.connect(self.url, autocommit=True, connect_timeout=5, row_factory=dict_row)

    def _insert(self, table: str, row: dict) -> None:
        vals = [Jsonb(v) if k in _JSON_COLS and v is not None else v for k, v in row.items()]
        sql = (f'INSERT INTO "{self.schema}".{table} ({", ".join(row)}) '
               f'VALUES ({", ".join("%s" for _ in row)})')
        with self._connect() as conn:
            conn.execute(sql, vals)

    def _select(self, sql: str, params: tuple) -> list[dict]:
        with self._connect() as conn:
            return conn.execute(sql.replace("{T}", f'"{self.schema}".'), params).fetchall()


# ---------------------------------------------------------------- a store back end per test


@dataclass
class Backend:
    name: str               # "sqlite" or "postgres"
    env: dict[str, str]     # what the service needs to use this store
    db: StoreDB


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path) -> Backend:
    """A fresh, empty store on either back end: SQLite in its own data dir, or
    its own schema in the shared PostgreSQL. Services started with backend.env
    one after the other share it (a restart finds its rows)."""
    if ROLE_MODE:
        return role_backend(request.param)
    if request.param == "sqlite":
        data = tmp_path / "store"
        data.mkdir()
        return Backend("sqlite", {"AGENTOS_DATA_DIR": str(data), "DATABASE_URL": None},
                       SqliteDB(data / "agentos.db"))
    url = request.getfixturevalue("pg_url")
    schema = request.getfixturevalue("pg_schema")
    return Backend("postgres", {"DATABASE_URL": url, "DATABASE_SCHEMA": schema},
                   PgDB(url, schema))


ROLE_DATA_TABLES = ("runs", "sessions", "usage_daily", "usage_users")


def role_backend(param: str) -> Backend:
    """Role mode's store: the role's schema, emptied by its owner."""
    if param == "sqlite":
        pytest.skip("role mode: PostgreSQL only")
    schema = os.environ["AGENTOS_E2E_PG_ROLE_SCHEMA"]
    owner = os.environ["AGENTOS_E2E_PG_OWNER_URL"]
    with psycopg.connect(owner, autocommit=True, connect_timeout=5) as conn:
        conn.execute("TRUNCATE " + ", ".join(f'"{schema}".{t}' for t in ROLE_DATA_TABLES))
    return Backend("postgres", {"DATABASE_URL": os.environ["AGENTOS_E2E_PG_ROLE_URL"],
                                "DATABASE_SCHEMA": schema}, PgDB(owner, schema))


@pytest.fixture
def svc(backend, start_server) -> Server:
    """A service on a fresh store of either back end."""
    return start_server(env=backend.env)


# ---------------------------------------------------------------- the sessions API


class SessionsApi:
    """The sessions routes as one caller (one token) sees them."""

    def __init__(self, server: Server, token: str | None):
        self.server = server
        self.token = token

    def _h(self) -> dict[str, str]:
        return bearer(self.token) if self.token else {}

    def req(self, method: str, path: str, **kw) -> httpx.Response:
        headers = {**self._h(), **kw.pop("headers", {})}
        return self.server.request(method, path, headers=headers, **kw)

    def create(self, body=None, *, type: str | None = None, content: bytes | None = None):
        params = {"type": type} if type else None
        if content is not None:
            return self.req("POST", "/sessions", params=params, content=content,
                            headers={"Content-Type": "application/json"})
        return self.req("POST", "/sessions", params=params, json=body if body is not None else {})

    def create_ok(self, body=None, **kw) -> dict:
        r = self.create(body, **kw)
        assert r.status_code == 201, (r.status_code, r.text)
        return r.json()

    def list(self, **params) -> httpx.Response:
        return self.req("GET", "/sessions", params=params)

    def list_ok(self, **params) -> dict:
        r = self.list(**params)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()

    def get(self, sid: str) -> httpx.Response:
        return self.req("GET", f"/sessions/{sid}")

    def runs(self, sid: str) -> httpx.Response:
        return self.req("GET", f"/sessions/{sid}/runs")

    def rename(self, sid: str, body) -> httpx.Response:
        return self.req("POST", f"/sessions/{sid}/rename", json=body)

    def patch(self, sid: str, body) -> httpx.Response:
        return self.req("PATCH", f"/sessions/{sid}", json=body)

    def delete(self, sid: str) -> httpx.Response:
        return self.req("DELETE", f"/sessions/{sid}")

    def bulk_delete(self, body) -> httpx.Response:
        return self.req("DELETE", "/sessions", json=body)


def api_for(server: Server, workspace: str | None = "ws-a", sub: str = "user-a",
            **claims) -> SessionsApi:
    return SessionsApi(server, make_token(sub=sub, workspaceId=workspace, **claims))


def wait_until(pred, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Calls pred until it returns something truthy; that value, or fails."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = pred()
            if last:
                return last
        except (httpx.HTTPError, OSError) as e:
            last = repr(e)
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")
        time.sleep(interval)


def fresh_rate_window(need_s: float = 5.0, window_s: int = 60) -> float:
    """Rate limit windows are aligned to the wall clock: when fewer than
    need_s seconds are left in this one, wait for the next. The seconds left."""
    left = window_s - (time.time() % window_s)
    if left < need_s:
        time.sleep(left + 0.2)
        left = window_s - (time.time() % window_s)
    return left
