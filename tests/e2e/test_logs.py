"""The access log: one JSON line per request on stderr, tagged with the
tenant, and never the token or the secret; LOG_FORMAT=text for a terminal."""

import os
import pty
import re
import select
import signal
import subprocess
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from conftest import (SECRET, agentos_bin, assert_error, base_env, free_port, make_token,
                      merge_env, post_body, raw_request, run_to_exit, wait_until)

LINE_FIELDS = {"ts", "level", "request_id", "method", "path", "status", "duration_us",
               "workspace_id", "user_id"}


def rid() -> str:
    return f"log-{uuid.uuid4().hex}"


def one_line_for(server, request_id: str) -> dict:
    lines = server.wait_log(lambda l: l.get("request_id") == request_id)
    assert len(lines) == 1, (request_id, lines, server.stderr_text()[-4000:])
    line = lines[0]
    missing = LINE_FIELDS - set(line)
    assert not missing, (missing, line)
    datetime.fromisoformat(line["ts"].replace("Z", "+00:00"))
    assert isinstance(line["duration_us"], int) and line["duration_us"] >= 0, line
    return line


@pytest.fixture(scope="module")
def used(server):
    """Drives a few requests through the shared server; returns what was sent."""
    sent = {}
    good = make_token(sub="log-user", workspaceId="log-ws", email="log@example.com")
    expired = make_token(sub="log-user", exp=1000, iat=1)
    bad_sig = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    sent["tokens"] = [good, expired, bad_sig]

    sent["health"] = rid()
    assert server.get("/health", headers={"X-Request-ID": sent["health"]}).status_code == 200
    sent["me"] = rid()
    r = server.get("/me", headers={"X-Request-ID": sent["me"], "Authorization": f"Bearer {good}"})
    assert r.status_code == 200
    sent["me_expired"] = rid()
    r = server.get("/me", headers={"X-Request-ID": sent["me_expired"],
                                   "Authorization": f"Bearer {expired}"})
    assert_error(r, 403, "TOKEN_EXPIRED")
    sent["me_bad"] = rid()
    r = server.get("/me", headers={"X-Request-ID": sent["me_bad"],
                                   "Authorization": f"Bearer {bad_sig}"})
    assert_error(r, 403, "INVALID_TOKEN")
    sent["me_anon"] = rid()
    assert_error(server.get("/me", headers={"X-Request-ID": sent["me_anon"]}), 401)
    sent["missing"] = rid()
    assert_error(server.get("/no/such/path", headers={"X-Request-ID": sent["missing"]}), 404)
    sent["post"] = rid()
    assert_error(server.request("POST", "/health", headers={"X-Request-ID": sent["post"]}), 405)
    sent["generated"] = server.get("/ready").headers["x-request-id"]
    sent["big"] = post_body(server.port, "/health", 2 * 1024 * 1024).status
    return sent


def test_health_line(server, used):
    line = one_line_for(server, used["health"])
    assert line["method"] == "GET"
    assert line["path"] == "/health"
    assert line["status"] == 200
    assert line["level"] == "info"
    assert line["user_id"] is None and line["workspace_id"] is None


def test_me_line_carries_user_and_workspace(server, used):
    line = one_line_for(server, used["me"])
    assert line["method"] == "GET"
    assert line["path"] == "/me"
    assert line["status"] == 200
    assert line["user_id"] == "log-user"
    assert line["workspace_id"] == "log-ws"


@pytest.mark.parametrize("key,status", [("me_expired", 403), ("me_bad", 403),
                                        ("me_anon", 401), ("missing", 404), ("post", 405)])
def test_refused_requests_are_logged_without_a_tenant(server, used, key, status):
    line = one_line_for(server, used[key])
    assert line["status"] == status
    assert line["user_id"] is None and line["workspace_id"] is None


def test_method_and_path_of_error_lines(server, used):
    assert one_line_for(server, used["missing"])["path"] == "/no/such/path"
    post = one_line_for(server, used["post"])
    assert (post["method"], post["path"]) == ("POST", "/health")


def test_generated_request_id_is_logged(server, used):
    assert re.match(r"^[0-9a-f-]{36}$", used["generated"])
    line = one_line_for(server, used["generated"])
    assert line["path"] == "/ready"


def test_every_stderr_line_is_json(server, used):
    text = server.stderr_text()
    lines = [l for l in text.splitlines() if l.strip()]
    assert lines
    bad = [l for l in lines if not l.startswith("{")]
    assert not bad, bad
    assert len(server.log_lines()) == len(lines)
    for l in server.log_lines():
        assert {"ts", "level"} <= set(l), l


def test_no_token_or_secret_in_output(server, used):
    text = server.stderr_text() + server.stdout_text()
    assert SECRET not in text
    for tok in used["tokens"]:
        assert tok not in text
        assert tok.split(".")[2] not in text  # not even the signature
        assert tok.split(".")[1] not in text  # nor the payload



# ---------------------------------------------------------------- LOG_FORMAT (issue 10, item 6)

TEXT_HEAD = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO |WARN |ERROR) ")


def text_records(text: str) -> list[str]:
    """Every line is a record's head or one of a block's indented fields."""
    lines = text.splitlines()
    bad = [l for l in lines if l and not TEXT_HEAD.match(l) and not l.startswith("    ")]
    assert not bad, bad
    return [l for l in lines if TEXT_HEAD.match(l)]


def test_text_format_is_one_readable_line_per_request(start_server):
    s = start_server(env={"LOG_FORMAT": "text"})
    request_id = rid()
    assert s.get("/health", headers={"X-Request-ID": request_id}).status_code == 200
    wait_until(lambda: request_id in s.stderr_text(), 3, what="the access log line")
    text = s.stderr_text()
    assert "\033" not in text  # no colour when stderr is not a terminal
    lines = [l for l in text_records(text) if request_id in l]
    assert len(lines) == 1, text
    line = lines[0]
    assert f" INFO  request request_id={request_id} " in line, line
    for part in ("method=GET", "path=/health", "status=200", "duration_us="):
        assert part in line, line
    assert "user_id" not in line  # null fields are left out
    assert not s.log_lines()  # and nothing is JSON


def test_text_values_cannot_forge_a_line(start_server):
    """The logged path is percent-decoded: CR, LF, ESC and a C1 CSI come out escaped."""
    s = start_server(env={"LOG_FORMAT": "text"})
    hostile = b"/x%0d%0a2026-01-01T00:00:00.000Z%20ERROR%20forged%1b%5b31m\xc2\x9b\""
    raw_request(s.port, b"GET " + hostile + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    wait_until(lambda: "forged" in s.stderr_text(), 3, what="the access log line")
    text = s.stderr_text()
    assert "\033" not in text and "\x9b" not in text and "\r" not in text, repr(text)
    assert not [l for l in text_records(text) if l.split(" ")[1] == "ERROR"], text
    assert ('path="/x\\r\\n2026-01-01T00:00:00.000Z ERROR forged\\x1b[31m\\u009b\\"" '
            'status=404') in text, text


def test_default_format_follows_the_terminal(tmp_path):
    """Text with colour on a terminal; NO_COLOR drops the colour; LOG_FORMAT=json wins."""
    out = run_on_pty(tmp_path / "tty", {})
    assert "\033[" in out and TEXT_HEAD.match(strip_sgr(out.splitlines()[0])), repr(out)
    assert "listening" in out and "{" not in out.split("listening")[0]
    plain = run_on_pty(tmp_path / "nocolor", {"NO_COLOR": "1"})
    assert "\033" not in plain and TEXT_HEAD.match(plain.splitlines()[0]), repr(plain)
    as_json = run_on_pty(tmp_path / "json", {"LOG_FORMAT": "json"})
    assert all(l.startswith("{") for l in as_json.splitlines() if l.strip()), as_json


def test_an_unknown_log_format_names_the_variable(tmp_path):
    r = run_to_exit(tmp_path, env={"LOG_FORMAT": "xml"})
    assert r.returncode == 2
    assert "LOG_FORMAT" in r.stderr, r.stderr


@pytest.mark.parametrize("name,value", [("LISTEN_BACKLOG", "8"), ("LISTEN_BACKLOG", "many"),
                                        ("ACCESS_LOG_FLUSH_MS", "0")])
def test_a_bad_backlog_or_flush_period_names_the_variable(tmp_path, name, value):
    r = run_to_exit(tmp_path, env={name: value})
    assert r.returncode == 2
    assert name in r.stderr, r.stderr


def test_sigterm_right_after_requests_keeps_every_access_line(start_server):
    """The loops hold access lines for ACCESS_LOG_FLUSH_MS; a drain writes
    them, however long the period."""
    s = start_server(env={"ACCESS_LOG_FLUSH_MS": "10000", "AGENTOS_WORKERS": "2"})
    sent = [rid() for _ in range(200)]
    for request_id in sent:
        assert s.get("/health", headers={"X-Request-ID": request_id}).status_code == 200
    assert s.stop() == 0
    logged = [l["request_id"] for l in s.log_lines() if l.get("request_id", "").startswith("log-")]
    assert sorted(logged) == sorted(sent), s.stderr_text()[-2000:]


def test_start_banner_is_one_record(start_server, pg_url, redis_url):
    """URL, store, Redis, agents and auth mode; no password from the URLs."""
    pw_url = pg_url.replace("postgres://postgres@", "postgres://postgres:hunter2-pw@")
    redis5 = redis_url.rsplit("/", 1)[0] + "/5"
    s = start_server(env={"DATABASE_URL": pw_url, "REDIS_URL": redis5,
                          "DATABASE_SCHEMA": f"t_banner_{uuid.uuid4().hex[:8]}"})
    banner = [l for l in s.log_lines() if l.get("msg") == "listening"]
    assert len(banner) == 1, s.stderr_text()
    b = banner[0]
    assert b["url"] == f"http://127.0.0.1:{s.port}"
    assert b["store"].startswith("postgres 127.0.0.1:") and "/agentos_test" in b["store"], b
    assert b["redis"].endswith("/5"), b
    assert b["agents"] and b["auth"].startswith("jwt HS256"), b
    assert "hunter2-pw" not in s.stderr_text()
    infos = [l for l in s.log_lines() if l["level"] == "info"]
    assert not [l for l in infos if l.get("msg") in ("store open", "connect ready",
                                                     "agents loaded")], infos


def strip_sgr(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def run_on_pty(tmp: Path, env: dict[str, str]) -> str:
    """Starts agentos with stderr on a pseudo-terminal, waits for its banner,
    stops it and returns what it wrote."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full = merge_env(base_env(tmp, port), {"NO_COLOR": None, **env})
    master, slave = pty.openpty()
    proc = subprocess.Popen([agentos_bin()], env=full, stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, cwd=tmp)
    os.close(slave)
    out = b""
    try:
        deadline = time.monotonic() + 20
        while b"listening" not in out or b"version" not in out.split(b"listening")[1]:
            assert time.monotonic() < deadline, out
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                out += os.read(master, 65536)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.close(master)
    assert proc.returncode == 0, out
    return out.decode(errors="replace").replace("\r\n", "\n")


def _hammer(port: int, token: str, n: int, want_user: str, bad: list) -> None:
    """n keep-alive GET /me on one connection, two pipelined at a time."""
    import socket as so
    s = so.create_connection(("127.0.0.1", port), timeout=10)
    req = (f"GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n").encode()
    buf = b""
    try:
        for _ in range(n // 2):
            s.sendall(req + req)
            for _ in range(2):
                while b"\r\n\r\n" not in buf:
                    data = s.recv(65536)
                    if not data:
                        bad.append("connection closed")
                        return
                    buf += data
                head, _, rest = buf.partition(b"\r\n\r\n")
                cl = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
                while len(rest) < cl:
                    rest += s.recv(65536)
                if want_user.encode() not in rest[:cl]:
                    bad.append(rest[:cl])
                buf = rest[cl:]
    except OSError as e:  # a dead server: a timeout or a reset
        bad.append(repr(e))
    finally:
        s.close()


def test_borrowed_tenant_evicted_before_the_log_line(start_server):
    """A one-entry token cache and two tokens on one loop: a request that
    borrowed a cached tenant often sees it evicted by the other token's
    miss before h2o clears its pool and writes its access-log line. The
    line must still name its user (and, under ASan, read no freed memory:
    the fixture fails on a sanitizer report)."""
    import threading as th
    srv = start_server(env={"TOKEN_CACHE_SIZE": "1", "AGENTOS_WORKERS": "1", "LOG_LEVEL": "info"})
    toks = {u: make_token(sub=u, workspaceId=f"ws-{u}") for u in ("evict-a", "evict-b")}
    bad: list = []
    threads = [th.Thread(target=_hammer, args=(srv.port, toks[u], 200, u, bad))
               for u in ("evict-a", "evict-b", "evict-a", "evict-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad
    deadline = time.monotonic() + 5
    while True:
        me_lines = [l for l in srv.log_lines() if l.get("path") == "/me"]
        if len(me_lines) >= 800 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(me_lines) == 800
    for l in me_lines:
        assert l["status"] == 200 and l["user_id"] in toks, l
        assert l["workspace_id"] == f"ws-{l['user_id']}", l
