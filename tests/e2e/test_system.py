"""The public surface that needs no token: /health, /, /ready; errors for
unknown paths, wrong methods and oversized bodies; X-Request-ID."""

import re
from datetime import datetime

import pytest

from conftest import UUID_RE, assert_error, bearer, make_token, post_body


def parse_iso8601(s: str) -> datetime:
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", s), s
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


# ---------------------------------------------------------------- /health


def test_health(server):
    r = server.get("/health")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["status"] == "ok"
    assert body["version"] == "0.1.0"
    parse_iso8601(body["instantiated_at"])


def test_health_is_stable_across_requests(server):
    """instantiated_at is the process's start, not the request's time."""
    seen = {server.get("/health").json()["instantiated_at"] for _ in range(6)}
    assert len(seen) == 1, seen


def test_health_with_a_valid_token(server):
    r = server.get("/health", headers=bearer(make_token()))
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_health_ignores_a_bad_token(server):
    """A probe is never authenticated: a junk header does not turn it away."""
    r = server.get("/health", headers={"Authorization": "Bearer junk"})
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_health_trailing_slash(server):
    r = server.get("/health/")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["version"] == "0.1.0"


# ---------------------------------------------------------------- / and /ready


def test_root(server):
    r = server.get("/")
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "AgentOS API"
    assert body["version"] == "0.1.0"
    assert isinstance(body["id"], str) and body["id"]
    # one identity per process, whichever loop answers
    assert {server.get("/").json()["id"] for _ in range(6)} == {body["id"]}


def test_root_with_a_valid_token(server):
    r = server.get("/", headers=bearer(make_token()))
    assert r.status_code == 200
    assert r.json()["name"] == "AgentOS API"


def test_root_verifies_a_token_when_one_is_sent(server):
    """Public routes go on without a header, but a bad token is still refused."""
    assert_error(server.get("/", headers={"Authorization": "Bearer junk"}), 403, "INVALID_TOKEN")


def test_ready(server):
    r = server.get("/ready")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ready"
    assert isinstance(body["checks"], dict)


# ---------------------------------------------------------------- 404 / 405


@pytest.mark.parametrize("method,path", [
    ("GET", "/nope"),
    ("GET", "/health/extra"),
    ("GET", "/healthz"),
    ("POST", "/nope"),
    ("DELETE", "/sessionz/abc"),
])
def test_unknown_path_is_404_json(server, method, path):
    assert_error(server.request(method, path), 404)


@pytest.mark.parametrize("method,path,allowed", [
    ("POST", "/health", "GET"),
    ("PUT", "/health", "GET"),
    ("DELETE", "/me", "GET"),
    ("POST", "/ready", "GET"),
])
def test_wrong_method_is_405_json_with_allow(server, method, path, allowed):
    r = server.request(method, path)
    assert_error(r, 405)
    assert "allow" in r.headers, dict(r.headers)
    assert allowed in [m.strip() for m in r.headers["allow"].split(",")], r.headers["allow"]


# ---------------------------------------------------------------- body size


def test_oversized_body_is_413_json(server):
    """2 MiB against the default 1 MiB limit: h2o answers, the body is still JSON."""
    r = post_body(server.port, "/health", 2 * 1024 * 1024)
    assert_error(r, 413)


def test_oversized_chunked_body_is_413_json(server):
    r = post_body(server.port, "/health", 2 * 1024 * 1024, chunked=True)
    assert_error(r, 413)


def test_body_under_the_limit_is_not_413(server):
    r = post_body(server.port, "/health", 512 * 1024)
    assert_error(r, 405)


def test_server_still_healthy_after_big_bodies(server):
    assert server.get("/health").status_code == 200


def test_max_body_bytes_is_configurable(start_server):
    s = start_server(env={"MAX_BODY_BYTES": "1000"})
    assert_error(post_body(s.port, "/health", 1001), 413)
    assert_error(post_body(s.port, "/health", 5000), 413)
    assert_error(post_body(s.port, "/health", 1000), 405)
    assert_error(post_body(s.port, "/health", 900), 405)
    assert_error(s.request("POST", "/health", content=b"{}"), 405)


# ---------------------------------------------------------------- X-Request-ID


def test_request_id_is_echoed(server):
    rid = "req-123_abc:4.5"
    r = server.get("/health", headers={"X-Request-ID": rid})
    assert r.headers.get("x-request-id") == rid


def test_request_id_is_generated_when_absent(server):
    r1 = server.get("/health")
    r2 = server.get("/health")
    for r in (r1, r2):
        assert re.match(UUID_RE, r.headers.get("x-request-id", "")), dict(r.headers)
    assert r1.headers["x-request-id"] != r2.headers["x-request-id"]


def test_request_id_on_errors(server):
    r = server.get("/nope", headers={"X-Request-ID": "err-probe-1"})
    assert_error(r, 404)
    assert r.headers.get("x-request-id") == "err-probe-1"
    r = server.get("/me")
    assert_error(r, 401)
    assert re.match(UUID_RE, r.headers.get("x-request-id", ""))


@pytest.mark.parametrize("bad", [
    "has spaces in it",
    "a" * 300,
    "semi;colon",
    "quote\"d",
    "<script>",
])
def test_insane_request_id_is_replaced(server, bad):
    r = server.get("/health", headers={"X-Request-ID": bad})
    assert r.status_code == 200
    got = r.headers.get("x-request-id", "")
    assert got != bad
    assert re.match(UUID_RE, got), got

