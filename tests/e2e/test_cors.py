"""CORS and Private Network Access (issue 8, item 1): preflights answered
before routing and auth on every path, the headers on every reply (JSON,
errors, h2o's own 413, SSE streams, the probes) for an allowed origin, and
none for a disallowed one, whose request still gets its normal answer."""

from __future__ import annotations

import secrets

import httpx
import pytest

from conftest import (assert_error, bearer, fresh_rate_window, launch, make_token, raw_request,
                      run_to_exit)
from runs_support import write_agent
from runs_fixtures import mock  # noqa: F401 (pytest fixtures)

AGNO = "https://os.agno.com"
EXTRA = "http://cp.example.test:8088"
EVIL = "https://evil.example"
CORS_HEADERS = ("access-control-allow-origin", "access-control-allow-credentials",
                "access-control-allow-methods", "access-control-allow-headers",
                "access-control-expose-headers", "access-control-max-age",
                "access-control-allow-private-network")


@pytest.fixture(scope="module")
def srv(tmp_path_factory, mock):
    tmp = tmp_path_factory.mktemp("cors")
    agents = tmp / "agents"
    agents.mkdir()
    key = f"sk-test-{secrets.token_hex(6)}"
    write_agent(agents, {"id": "oa", "name": "Agent oa", "instructions": ["Be brief."],
                         "model": {"provider": "openai", "id": "mock-gpt",
                                   "base_url": f"{mock.url}/v1",
                                   "api_key_env": "E2E_CORS_KEY"}})
    s = launch(tmp, env={"AGENTS_DIR": str(agents), "E2E_CORS_KEY": key,
                         "RATE_LIMIT_PER_MINUTE": "0", "CORS_ORIGINS": f" {EXTRA}/ ,"})
    s.key = key
    yield s
    s.check_clean_exit()


def user() -> dict:
    tag = secrets.token_hex(4)
    return bearer(make_token(sub=f"user-{tag}", workspaceId=f"ws-{tag}"))


def preflight(s, path: str, origin: str = AGNO, method: str = "POST", **extra):
    h = {"Origin": origin, "Access-Control-Request-Method": method, **extra}
    return s.request("OPTIONS", path, headers=h)


def assert_simple_cors(r, origin: str = AGNO) -> None:
    assert r.headers.get("access-control-allow-origin") == origin, r.headers
    assert r.headers.get("access-control-allow-credentials") == "true", r.headers
    expose = r.headers.get("access-control-expose-headers", "")
    assert "X-Request-ID" in expose and "Retry-After" in expose, r.headers
    assert "Origin" in r.headers.get("vary", ""), r.headers


def assert_no_cors(r) -> None:
    for name in CORS_HEADERS:
        assert name not in r.headers, (name, r.headers)


# ================================================================ preflights


@pytest.mark.parametrize("path", ["/agents", "/sessions/x/runs", "/no/such/path", "/health"])
def test_preflight_answered_without_auth_on_every_path(srv, path):
    r = preflight(srv, path, **{"Access-Control-Request-Headers":
                                "authorization, content-type, x-workspace-id"})
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.content == b""
    assert r.headers["access-control-allow-origin"] == AGNO
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-max-age"] == "600"
    assert r.headers["access-control-allow-headers"] == "authorization, content-type, x-workspace-id"
    methods = {m.strip() for m in r.headers["access-control-allow-methods"].split(",")}
    assert {"GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"} <= methods
    assert "Origin" in r.headers["vary"]
    assert "access-control-allow-private-network" not in r.headers
    assert r.headers.get("x-request-id")


def test_preflight_private_network_access(srv):
    r = preflight(srv, "/agents", method="GET",
                  **{"Access-Control-Request-Private-Network": "true"})
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.headers["access-control-allow-private-network"] == "true"
    assert r.headers["access-control-allow-origin"] == AGNO
    # only for an allowed origin
    r = preflight(srv, "/agents", origin=EVIL, method="GET",
                  **{"Access-Control-Request-Private-Network": "true"})
    assert_error(r, 400, "CORS_ORIGIN_DISALLOWED")
    assert_no_cors(r)


def test_preflight_disallowed_origin(srv):
    for origin in (EVIL, "null", "http://os.agno.com", "https://os.agno.com:8443"):
        r = preflight(srv, "/agents", origin=origin)
        body = assert_error(r, 400, "CORS_ORIGIN_DISALLOWED")
        assert "Disallowed CORS origin" in body["detail"]
        assert_no_cors(r)


def test_preflight_bad_requested_headers_not_reflected(srv):
    r = preflight(srv, "/agents", **{"Access-Control-Request-Headers": "x-a; x-b=<script>"})
    assert_error(r, 400, "CORS_PREFLIGHT_INVALID")
    assert_no_cors(r)
    r = preflight(srv, "/agents", **{"Access-Control-Request-Headers": "x" * 2000})
    assert_error(r, 400, "CORS_PREFLIGHT_INVALID")
    assert_no_cors(r)


def test_preflight_extra_origin_from_config(srv):
    r = preflight(srv, "/sessions", origin=EXTRA, method="DELETE")
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.headers["access-control-allow-origin"] == EXTRA


def test_plain_options_keeps_405(srv):
    # OPTIONS without Access-Control-Request-Method is no preflight: the
    # router's answer, with the CORS headers of an ordinary reply.
    r = srv.request("OPTIONS", "/agents", headers={"Origin": AGNO})
    assert_error(r, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in r.headers.get("allow", "")
    assert_simple_cors(r)


# ================================================================ ordinary replies


def test_allowed_origin_on_replies_and_errors(srv):
    h = {"Origin": AGNO}
    r = srv.get("/agents", headers=h)
    assert_error(r, 401)
    assert_simple_cors(r)
    r = srv.get("/agents", headers={**h, **user()})
    assert r.status_code == 200, (r.status_code, r.text)
    assert_simple_cors(r)
    assert "access-control-max-age" not in r.headers
    r = srv.get("/health", headers=h)
    assert r.status_code == 200
    assert_simple_cors(r)
    r = srv.get("/no/such/path", headers=h)
    assert_error(r, 404)
    assert_simple_cors(r)
    r = srv.request("POST", "/agents/oa/runs", headers={**h, **user()},
                    data={"stream": "false"})
    assert_error(r, 422)
    assert_simple_cors(r)


def test_extra_origin_on_replies(srv):
    r = srv.get("/health", headers={"Origin": EXTRA})
    assert_simple_cors(r, EXTRA)
    # scheme and host compare case-insensitively; the origin sent is echoed
    shouted = "HTTP://CP.EXAMPLE.TEST:8088"
    r = srv.get("/health", headers={"Origin": shouted})
    assert r.headers.get("access-control-allow-origin") == shouted


def test_disallowed_origin_gets_normal_answer_without_cors(srv):
    h = {"Origin": EVIL}
    r = srv.get("/agents", headers=h)
    assert_error(r, 401)
    assert_no_cors(r)
    r = srv.get("/agents", headers={**h, **user()})
    assert r.status_code == 200, (r.status_code, r.text)
    assert_no_cors(r)
    r = srv.get("/health")
    assert r.status_code == 200
    assert_no_cors(r)


def test_sse_stream_carries_cors(srv, mock):
    mock.script(srv.key, [{"text": "hello there"}])
    with httpx.Client(base_url=srv.base_url, timeout=10.0) as c:
        with c.stream("POST", "/agents/oa/runs", headers={"Origin": AGNO, **user()},
                      data={"message": "hi", "stream": "true"}) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            assert_simple_cors(r)
            body = b"".join(r.iter_bytes())
    assert b"RunCompleted" in body


def test_h2o_413_carries_cors(tmp_path):
    s = launch(tmp_path, env={"MAX_BODY_BYTES": "1000"})
    try:
        resp = raw_request(s.port, (f"POST /agents/oa/runs HTTP/1.1\r\nHost: e2e\r\n"
                                    f"Origin: {AGNO}\r\nContent-Type: application/json\r\n"
                                    f"Content-Length: 5000\r\nConnection: close\r\n\r\n"
                                    ).encode() + b"x" * 5000)
        assert_error(resp, 413)
        assert resp.headers.get("access-control-allow-origin") == AGNO, resp.headers
        assert resp.headers.get("access-control-allow-credentials") == "true"
        resp = raw_request(s.port, (f"POST /agents/oa/runs HTTP/1.1\r\nHost: e2e\r\n"
                                    f"Origin: {EVIL}\r\nContent-Length: 5000\r\n"
                                    f"Connection: close\r\n\r\n").encode() + b"x" * 5000)
        assert_error(resp, 413)
        assert "access-control-allow-origin" not in resp.headers
    finally:
        s.stop()
        s.check_clean_exit()


def test_bad_cors_origins_refuses_to_start(tmp_path):
    run = run_to_exit(tmp_path, env={"CORS_ORIGINS": "https://ok.example,not-an-origin"})
    assert run.returncode != 0
    assert "CORS_ORIGINS" in run.stderr, run.stderr
    assert "Sanitizer" not in run.stderr, run.stderr


def test_head_guard_refusals_carry_cors(srv):
    # The guard answers before h2o parses the head: it reads the Origin line
    # itself, and the same policy decides.
    fill = "a" * (70 * 1024)
    resp = raw_request(srv.port, (f"GET /health HTTP/1.1\r\nHost: e2e\r\nOrigin: {AGNO}\r\n"
                                  f"X-Fill: {fill}\r\n\r\n").encode())
    assert_error(resp, 431)
    assert resp.headers.get("access-control-allow-origin") == AGNO, resp.headers
    assert resp.headers.get("access-control-allow-credentials") == "true"
    resp = raw_request(srv.port, (f"GET /health HTTP/1.1\r\nHost: e2e\r\nOrigin: {EVIL}\r\n"
                                  f"X-Fill: {fill}\r\n\r\n").encode())
    assert_error(resp, 431)
    assert_no_cors(resp)
    resp = raw_request(srv.port, (f"POST /agents HTTP/1.1\r\nHost: e2e\r\nOrigin: {AGNO}\r\n"
                                  "Content-Length: 1\r\nContent-Length: 2\r\n\r\nx").encode())
    assert_error(resp, 400)
    assert resp.headers.get("access-control-allow-origin") == AGNO, resp.headers


def test_429_carries_cors_and_preflights_are_not_rate_limited(tmp_path):
    s = launch(tmp_path, env={"RATE_LIMIT_PER_MINUTE": "2"})
    try:
        fresh_rate_window()
        h = {"Origin": AGNO, **user()}
        codes = [s.get("/sessions", headers=h).status_code for _ in range(3)]
        assert codes[:2] == [200, 200], codes
        r = s.get("/sessions", headers=h)
        assert_error(r, 429, "RATE_LIMITED")
        assert r.headers.get("retry-after")
        assert_simple_cors(r)
        for _ in range(5):
            # even with the limited caller's token: never consulted
            r = preflight(s, "/sessions", method="GET", Authorization=h["Authorization"],
                          **{"Access-Control-Request-Headers": "authorization"})
            assert r.status_code == 200, (r.status_code, r.text)
            assert r.headers["access-control-allow-origin"] == AGNO
    finally:
        s.stop()
        s.check_clean_exit()
