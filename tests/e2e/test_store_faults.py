"""PostgreSQL stopped and started again under a running service (on a
PostgreSQL of the test's own): requests that need the store answer 503
STORE_UNAVAILABLE within the time limits instead of hanging, /health stays up,
/ready says the store is unavailable, the process does not crash, and it
recovers by itself, with everything it acknowledged still there."""

import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from conftest import api_for, assert_error, bearer, make_token, wait_until

CONNECT_TIMEOUT_S = 2
STATEMENT_TIMEOUT_MS = 2000
ANSWER_WITHIN_S = 6.0    # connect timeout + statement timeout + slack
RECOVER_WITHIN_S = 10.0


class Writer(threading.Thread):
    """Creates sessions one after the other, on a connection of its own,
    until stopped; remembers every answer."""

    def __init__(self, server, workspace: str):
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=server.base_url, timeout=15,
                                   headers=bearer(make_token(workspaceId=workspace)))
        self.answers: list[tuple[str, int, float]] = []  # (id, status, seconds)
        self.errors: list[str] = []
        self._halt = threading.Event()

    def run(self):
        i = 0
        while not self._halt.is_set():
            sid = f"w-{i:05d}"
            i += 1
            t0 = time.monotonic()
            try:
                r = self.client.post("/sessions", json={"session_id": sid})
                self.answers.append((sid, r.status_code, time.monotonic() - t0))
            except httpx.HTTPError as e:
                self.errors.append(f"{sid}: {e!r}")
            time.sleep(0.02)

    def finish(self):
        self._halt.set()
        self.join(20)
        self.client.close()

    def acknowledged(self) -> list[str]:
        return [sid for sid, code, _ in self.answers if 200 <= code < 300]


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, time.monotonic() - t0


def test_postgres_stop_and_restart(start_server, dedicated_pg):
    s = start_server(env={
        "DATABASE_URL": dedicated_pg.url,
        "DATABASE_SCHEMA": "faults",
        "DATABASE_CONNECT_TIMEOUT_SECONDS": str(CONNECT_TIMEOUT_S),
        "DATABASE_STATEMENT_TIMEOUT_MS": str(STATEMENT_TIMEOUT_MS),
    })
    api = api_for(s, "ws-a", sub="alice")
    before = [api.create_ok({"session_id": f"pre-{i:02d}", "session_name": f"n{i}"})
              for i in range(10)]
    assert api.list_ok()["meta"]["total_count"] == 10
    assert s.get("/ready").status_code == 200

    writer = Writer(s, "ws-w")
    writer.start()
    wait_until(lambda: len(writer.acknowledged()) >= 5, 5, what="writer's first sessions")

    dedicated_pg.stop()
    try:
        # every route that needs the store: 503 STORE_UNAVAILABLE, in bounded time
        calls = {
            "list": lambda: api.list(),
            "create": lambda: api.create({"session_id": "during-outage"}),
            "get": lambda: api.get("pre-00"),
            "runs": lambda: api.runs("pre-00"),
            "rename": lambda: api.rename("pre-00", {"session_name": "x"}),
            "patch": lambda: api.patch("pre-00", {"session_state": {"x": 1}}),
            "delete": lambda: api.delete("pre-01"),
            "bulk_delete": lambda: api.bulk_delete({"session_ids": ["pre-02"],
                                                     "session_types": ["agent"]}),
        }
        for _ in range(2):  # the first calls meet dead connections, the next ones none
            for name, call in calls.items():
                r, took = timed(call)
                assert took < ANSWER_WITHIN_S, (name, took)
                assert r.status_code == 503, (name, r.status_code, r.text)
                assert_error(r, 503, "STORE_UNAVAILABLE")

        # several at once, from other connections: none hangs
        results: list = []

        def one():
            results.append(timed(lambda: httpx.get(f"{s.base_url}/sessions", timeout=15,
                                                   headers=bearer(make_token()))))
        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert len(results) == 8
        for r, took in results:
            assert took < ANSWER_WITHIN_S, took
            assert_error(r, 503, "STORE_UNAVAILABLE")

        # liveness does not depend on the store
        for _ in range(3):
            h, took = timed(lambda: s.get("/health"))
            assert h.status_code == 200 and h.json()["status"] == "ok", h.text
            assert took < 1.0, took

        # readiness says what is wrong (checked at the end, so that a wrong
        # answer here does not hide what recovery does)
        ready_down, ready_took = timed(lambda: s.get("/ready"))

        assert s.proc.poll() is None, "agentos died while PostgreSQL was down"
    finally:
        dedicated_pg.start()

    # it recovers without a restart
    t0 = time.monotonic()
    wait_until(lambda: api.list().status_code == 200, RECOVER_WITHIN_S,
               what="GET /sessions answering 200 after PostgreSQL came back")
    wait_until(lambda: s.get("/ready").status_code == 200,
               max(1.0, RECOVER_WITHIN_S - (time.monotonic() - t0)), what="/ready 200")
    body = s.get("/ready").json()
    assert body["checks"]["store"] == {"status": "ok", "backend": "postgres"}, body
    n = len(writer.answers)
    wait_until(lambda: [a for a in writer.answers[n:] if a[1] == 201], RECOVER_WITHIN_S,
               what="the writer's creates succeeding again")
    writer.finish()

    # nothing acknowledged was lost
    got = {x["session_id"]: x for x in api.list_ok(limit=100)["data"]}
    assert set(got) == {b["session_id"] for b in before}, sorted(got)
    for b in before:
        assert got[b["session_id"]]["session_name"] == b["session_name"]
    assert api.get("pre-00").json()["session_state"] == {}  # the 503 patch did nothing

    assert not writer.errors, writer.errors
    codes = {code for _, code, _ in writer.answers}
    assert codes <= {201, 503}, writer.answers
    assert 503 in codes, "the writer never saw the outage"
    for sid, code, took in writer.answers:
        assert took < ANSWER_WITHIN_S, (sid, code, took)
    w = api_for(s, "ws-w")
    listed = set()
    page = 1
    while True:
        data = w.list_ok(limit=1000, page=page)["data"]
        if not data:
            break
        listed |= {x["session_id"] for x in data}
        page += 1
    lost = [sid for sid in writer.acknowledged() if sid not in listed]
    assert not lost, f"acknowledged with 201 but gone: {lost}"

    # and it works as before
    api.create_ok({"session_id": "after"})
    assert api.rename("after", {"session_name": "ok"}).status_code == 200

    # /ready while PostgreSQL was down: 503 naming the store
    assert ready_took < ANSWER_WITHIN_S, ready_took
    assert ready_down.status_code == 503, ready_down.text
    body = ready_down.json()
    assert body.get("status") != "ready", body
    assert body.get("checks", {}).get("store", {}).get("status") == "unavailable", body
    assert body["checks"]["store"].get("backend") == "postgres", body


def _cluster_pids(pg) -> list[int]:
    """The postmaster and every process it forked (backends, checkpointer...)."""
    pm = int((pg.dir / "data" / "postmaster.pid").read_text().split()[0])
    kids = subprocess.run(["pgrep", "-P", str(pm)], capture_output=True, text=True).stdout
    return [pm, *(int(k) for k in kids.split())]


def test_frozen_postgres_does_not_hang_requests(start_server, dedicated_pg):
    """PostgreSQL that stops answering without closing anything (SIGSTOP: a
    hung host, a network partition): the server-side statement_timeout cannot
    fire, so the service must bound the wait itself. Every request that needs
    the store answers 503 STORE_UNAVAILABLE in bounded time, also on pool
    threads that hold an established connection."""
    s = start_server(env={
        "DATABASE_URL": dedicated_pg.url,
        "DATABASE_SCHEMA": "frozen",
        "DATABASE_CONNECT_TIMEOUT_SECONDS": str(CONNECT_TIMEOUT_S),
        "DATABASE_STATEMENT_TIMEOUT_MS": str(STATEMENT_TIMEOUT_MS),
    })
    api = api_for(s, "ws-a")
    api.create_ok({"session_id": "before"})
    # every pool thread opens its connection
    with ThreadPoolExecutor(16) as ex:
        warm = list(ex.map(lambda _: fresh_list(s, 10), range(32)))
    assert all(r.status_code == 200 for r, _ in warm), [r.status_code for r, _ in warm]

    pids = _cluster_pids(dedicated_pg)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(6) as ex:
            frozen = list(ex.map(lambda _: fresh_list(s, ANSWER_WITHIN_S + 2), range(6)))
        h, took = timed(lambda: s.get("/health"))
        assert h.status_code == 200 and took < 1.0, (h.status_code, took)
        assert s.proc.poll() is None, "agentos died while PostgreSQL was frozen"
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)

    wait_until(lambda: api.list().status_code == 200, RECOVER_WITHIN_S,
               what="GET /sessions answering 200 after PostgreSQL resumed")
    assert api.get("before").status_code == 200
    summary = [(r.status_code if r is not None else "no answer", round(took, 1))
               for r, took in frozen]
    for r, took in frozen:
        assert r is not None and took < ANSWER_WITHIN_S, (
            f"GET /sessions with PostgreSQL frozen, expected 503 STORE_UNAVAILABLE within "
            f"{ANSWER_WITHIN_S}s each; got (status, seconds): {summary}")
        assert_error(r, 503, "STORE_UNAVAILABLE")


def fresh_list(server, timeout: float):
    """GET /sessions on a connection of its own: (response or None, seconds)."""
    t0 = time.monotonic()
    try:
        r = httpx.get(f"{server.base_url}/sessions", timeout=timeout,
                      headers=bearer(make_token()))
    except httpx.TimeoutException:
        r = None
    return r, time.monotonic() - t0
