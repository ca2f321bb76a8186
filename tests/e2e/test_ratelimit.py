"""Per-workspace rate limiting (RATE_LIMIT_PER_MINUTE) on the workspace-scoped
routes: 429 RATE_LIMITED with Retry-After, counted in Redis when REDIS_URL is
set (so replicas share the limit), locally otherwise, and locally again while
Redis is gone (a dead Redis never fails a request).

Windows are aligned to the wall clock (one per minute): every burst first makes
sure it will not straddle the end of a window (fresh_rate_window)."""

import time

import httpx

from conftest import (
    SqliteDB,
    api_for,
    assert_error,
    bearer,
    fresh_rate_window,
    make_token,
    random_name,
    wait_until,
)

LIMIT = 5


def retry_after(r) -> int:
    value = r.headers.get("retry-after")
    assert value is not None, dict(r.headers)
    assert value.strip().isdigit(), value
    return int(value)


def assert_limited(r, window_left: float | None = None) -> None:
    assert_error(r, 429, "RATE_LIMITED")
    ra = retry_after(r)
    assert 1 <= ra <= 60, ra
    if window_left is not None:
        # the seconds until this window ends, rounded up
        assert abs(ra - window_left) <= 2, (ra, window_left)


def fresh_get(server, token: str) -> httpx.Response:
    """One request on a connection of its own."""
    return httpx.get(f"{server.base_url}/sessions", headers=bearer(token), timeout=10)


def window_left() -> float:
    return 60 - (time.time() % 60)


def wait_redis(server, status: str, timeout: float, times: int = 1) -> dict:
    """Waits until /ready reports checks.redis.status == status on `times`
    fresh connections in a row (each loop has its own Redis connection, and a
    new connection may land on any loop)."""
    seen = []

    def probe():
        r = httpx.get(f"{server.base_url}/ready", timeout=5)
        body = r.json()
        check = body.get("checks", {}).get("redis", {})
        if r.status_code == 200 and check.get("status") == status:
            seen.append(body)
        else:
            seen.clear()
        return body if len(seen) >= times else None
    return wait_until(probe, timeout, interval=0.02,
                      what=f"{server.base_url}/ready redis {status} ({times} in a row)")


# ---------------------------------------------------------------- local (no Redis)


def test_sixth_request_of_a_workspace_is_429(start_server):
    s = start_server(env={"RATE_LIMIT_PER_MINUTE": str(LIMIT)})
    ws_a, ws_b = random_name("ws-"), random_name("ws-")
    a = api_for(s, ws_a, sub="alice")
    b = api_for(s, ws_b, sub="bob")
    fresh_rate_window(4)
    for i in range(LIMIT):
        r = a.list()
        assert r.status_code == 200, (i, r.status_code, r.text)
    r = a.list()
    assert_limited(r, window_left())
    # another workspace is not affected
    for _ in range(3):
        assert b.list().status_code == 200
    # the limit is the workspace's, whoever calls, on every workspace route
    other_user = api_for(s, ws_a, sub="carol")
    assert_limited(other_user.list())
    assert_limited(a.create({"session_id": "refused"}))
    assert_limited(a.get("refused"))
    assert_limited(a.rename("refused", {"session_name": "x"}))
    assert_limited(a.bulk_delete({"session_ids": ["refused"], "session_types": ["agent"]}))
    # a refused request did nothing
    assert SqliteDB(s.tmp / "data" / "agentos.db").session(ws_a, "refused") is None
    # probes are not workspace routes: never limited
    assert s.get("/health").status_code == 200
    assert s.get("/ready").status_code == 200
    assert b.create({"session_id": "allowed"}).status_code == 201


def test_limit_off_when_zero(start_server):
    s = start_server(env={"RATE_LIMIT_PER_MINUTE": "0"})
    a = api_for(s, random_name("ws-"))
    for i in range(30):
        r = a.list()
        assert r.status_code == 200, (i, r.status_code, r.text)


def test_local_limit_is_per_process_not_per_connection(start_server):
    """Without Redis the service counts for the whole process: requests that
    arrive on different connections (so on different loops) share the limit."""
    s = start_server(env={"RATE_LIMIT_PER_MINUTE": str(LIMIT), "AGENTOS_WORKERS": "2"})
    token = make_token(workspaceId=random_name("ws-"))
    fresh_rate_window(4)
    codes = [fresh_get(s, token).status_code for _ in range(12)]
    assert codes.count(200) == LIMIT and codes.count(429) == 12 - LIMIT, codes


# ---------------------------------------------------------------- Redis


def test_limit_is_shared_through_redis(start_server, redis_url):
    env = {"RATE_LIMIT_PER_MINUTE": str(LIMIT), "REDIS_URL": redis_url, "AGENTOS_WORKERS": "2"}
    p1, p2 = start_server(env=env), start_server(env=env)
    for p in (p1, p2):
        wait_redis(p, "ok", 5, times=8)  # every loop of both is connected
    ws_a, ws_b = random_name("ws-"), random_name("ws-")
    token_a, token_b = make_token(workspaceId=ws_a), make_token(workspaceId=ws_b)
    fresh_rate_window(4)
    codes = [fresh_get(p1, token_a).status_code for _ in range(3)]
    codes += [fresh_get(p2, token_a).status_code for _ in range(2)]
    assert codes == [200] * 5, codes
    assert_limited(fresh_get(p2, token_a), window_left())
    assert_limited(fresh_get(p1, token_a))
    assert fresh_get(p1, token_b).status_code == 200
    assert fresh_get(p2, token_b).status_code == 200


def test_redis_going_away(start_server, dedicated_redis):
    # one loop each, so that each /ready speaks for the whole process
    env = {"RATE_LIMIT_PER_MINUTE": str(LIMIT), "REDIS_URL": dedicated_redis.url,
           "AGENTOS_WORKERS": "1"}
    p1, p2 = start_server(env=env), start_server(env=env)
    for p in (p1, p2):
        wait_redis(p, "ok", 5)

    dedicated_redis.stop()
    # requests go on at once, on both replicas (4 each: under the limit)
    for p in (p1, p2):
        api = api_for(p, random_name("ws-"))
        for i in range(2):
            t0 = time.monotonic()
            r = api.create({"session_id": f"s{i}"})
            assert r.status_code == 201, (r.status_code, r.text)
            r = api.list()
            assert r.status_code == 200, (r.status_code, r.text)
            assert time.monotonic() - t0 < 2.0
    for p in (p1, p2):
        body = wait_redis(p, "down", 5)
        assert body["status"] == "ready"
        assert body["checks"]["store"]["status"] == "ok"
        assert body["checks"]["redis"]["rate_limit"] == "local"
        h = p.get("/health")
        assert h.status_code == 200 and h.json()["status"] == "ok"

    # the limit still holds, counted locally
    local = api_for(p1, random_name("ws-"))
    fresh_rate_window(4)
    for i in range(LIMIT):
        r = local.list()
        assert r.status_code == 200, (i, r.status_code, r.text)
    assert_limited(local.list(), window_left())

    # Redis comes back on the same port: both replicas find it again
    dedicated_redis.start()
    deadline = time.monotonic() + 10
    idle_check = {}
    for p in (p1, p2):
        wait_redis(p, "ok", max(0.5, deadline - time.monotonic()))
        # connected: the limit is counted in Redis again, and /ready says so
        # (before any request has gone through it)
        try:
            wait_until(lambda: p.get("/ready").json()["checks"]["redis"].get("rate_limit")
                       == "redis", max(0.5, deadline - time.monotonic()))
        except AssertionError:
            pass
        idle_check[p.port] = p.get("/ready").json()["checks"]["redis"]
    # and share the limit again
    token = make_token(workspaceId=random_name("ws-"))
    fresh_rate_window(4)
    codes = [fresh_get(p1, token).status_code for _ in range(3)]
    codes += [fresh_get(p2, token).status_code for _ in range(2)]
    assert codes == [200] * 5, codes
    assert_limited(fresh_get(p2, token))
    for p in (p1, p2):
        redis = p.get("/ready").json()["checks"]["redis"]
        assert redis["status"] == "ok" and redis["rate_limit"] == "redis", redis
    for port, redis in idle_check.items():
        assert redis.get("status") == "ok" and redis.get("rate_limit") == "redis", (
            f"/ready on :{port}, 10 s after Redis came back (connected, no request since): "
            f"expected checks.redis {{'status': 'ok', 'rate_limit': 'redis'}}, got {redis}")
