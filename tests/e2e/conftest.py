"""Black-box harness: starts the real agentos binary on a free port with a
controlled environment, and checks on the way out that it exited 0 with no
sanitizer report and without ever printing its secret.

The binary comes from AGENTOS_BIN (`make e2e` points it at build-test/agentos,
an ASan+UBSan build); without it, build-test/agentos in this checkout.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jwt
import pytest

REPO = Path(__file__).resolve().parents[2]

# 52 bytes: above the 32-byte minimum the server enforces outside development.
SECRET = "e2e-secret-0123456789-abcdefghijklmnopqrstuvwxyz-XYZ"
OTHER_SECRET = "some-other-secret-9876543210-zyxwvutsrqponmlkjihgf"

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
    assert isinstance(body.get("detail"), str) and body["detail"], body
    assert isinstance(body.get("code"), str) and body["code"], body
    if code is not None:
        assert body["code"] == code, body
    return body


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
