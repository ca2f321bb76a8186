"""GET /ready: checks.store (the store answers a ping) and checks.redis
(disabled without REDIS_URL; ok, or down with the rate limit gone local).
Only the store can make it 503; /health depends on neither."""

import time

from conftest import api_for, free_port, wait_until


def ready(server):
    r = server.get("/ready")
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    return r.status_code, r.json()


def redis_check(server, status: str, timeout: float = 5.0) -> dict:
    """Waits until /ready reports checks.redis.status == status; that body."""
    def probe():
        code, body = ready(server)
        check = body.get("checks", {}).get("redis", {})
        return body if code == 200 and check.get("status") == status else None
    return wait_until(probe, timeout, what=f"/ready checks.redis.status == {status!r}")


def test_ready_without_redis(svc, backend):
    code, body = ready(svc)
    assert code == 200, body
    assert body == {
        "status": "ready",
        "checks": {
            "store": {"status": "ok", "backend": backend.name},
            "redis": {"status": "disabled"},
        },
    }


def test_ready_with_redis(backend, start_server, redis_url):
    s = start_server(env={**backend.env, "REDIS_URL": redis_url})
    body = redis_check(s, "ok")
    assert body["status"] == "ready"
    assert body["checks"]["store"] == {"status": "ok", "backend": backend.name}
    assert body["checks"]["redis"]["status"] == "ok"
    assert body["checks"]["redis"]["rate_limit"] == "redis"


def test_unreachable_redis_at_start_fails_nothing(start_server):
    """REDIS_URL names a port where nothing listens: the service starts, serves,
    and says so on /ready, which stays 200."""
    password = "hunter2-redis-pass"
    s = start_server(env={"REDIS_URL": f"redis://:{password}@127.0.0.1:{free_port()}/0"})
    body = redis_check(s, "down")
    assert body["status"] == "ready"
    assert body["checks"]["store"]["status"] == "ok"
    assert body["checks"]["redis"]["rate_limit"] == "local"
    api = api_for(s)
    t0 = time.monotonic()
    api.create_ok({"session_id": "s1"})
    assert api.list_ok()["meta"]["total_count"] == 1
    assert api.get("s1").status_code == 200
    assert time.monotonic() - t0 < 3.0
    h = s.get("/health")
    assert h.status_code == 200 and h.json()["status"] == "ok"
    # the password in REDIS_URL is never shown
    assert password not in s.get("/ready").text
    assert password not in s.stderr_text() and password not in s.stdout_text()
