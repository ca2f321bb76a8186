"""The store queue is bounded and /ready does not feed it (issue 7, item 7).

- /ready reuses one probe result, at most 1 s old, for the whole process:
  a burst of calls queues about one database ping a second, and while a
  probe hangs on a frozen database the other calls answer at once.
- Past STORE_QUEUE_MAX waiting jobs, request work is refused at once with
  503 STORE_BUSY (and Retry-After), where the old code queued it without
  bound behind a database that does not answer.
"""

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import assert_error, bearer, make_token, wait_until

STATEMENT_TIMEOUT_MS = 8000  # a frozen database holds a job this long (plus slack)


def cluster_pids(pg) -> list[int]:
    """The postmaster and every process it forked."""
    import subprocess
    pm = int((pg.dir / "data" / "postmaster.pid").read_text().split()[0])
    kids = subprocess.run(["pgrep", "-P", str(pm)], capture_output=True, text=True).stdout
    return [pm, *(int(k) for k in kids.split())]


class Frozen:
    """SIGSTOP on the test's own PostgreSQL: it keeps every socket open and
    answers nothing (a hung host)."""

    def __init__(self, pg):
        self.pids = cluster_pids(pg)

    def __enter__(self):
        for pid in self.pids:
            os.kill(pid, signal.SIGSTOP)
        return self

    def __exit__(self, *exc):
        for pid in self.pids:
            os.kill(pid, signal.SIGCONT)


def probes(server) -> int:
    return sum(1 for line in server.log_lines() if line.get("msg") == "ready: store probe queued")


def pg_server(start_server, pg, **env):
    return start_server(env={"DATABASE_URL": pg.url, "DATABASE_SCHEMA": "queue",
                             "DATABASE_CONNECT_TIMEOUT_SECONDS": "2",
                             "DATABASE_STATEMENT_TIMEOUT_MS": str(STATEMENT_TIMEOUT_MS),
                             "AGENTOS_DB_POOL": "4", **env})


@pytest.fixture
def svc_debug(start_server, tmp_path):
    """SQLite, with debug logging: each store probe /ready queues is a line."""
    data = tmp_path / "qdata"
    data.mkdir()
    return start_server(env={"AGENTOS_DATA_DIR": str(data), "DATABASE_URL": None,
                             "LOG_LEVEL": "debug"})


def test_ready_burst_queues_about_one_probe_a_second(svc_debug):
    s = svc_debug
    n, answered = 2000, []

    def caller(k: int):
        with httpx.Client(base_url=s.base_url, timeout=10) as c:
            for _ in range(n // 8):
                r = c.get("/ready")
                answered.append(r.status_code)

    before = probes(s)
    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(caller, range(8)))
    took = time.monotonic() - t0
    assert answered.count(200) == n, {c: answered.count(c) for c in set(answered)}
    queued = wait_until(lambda: probes(s) - before or None, 3, what="a probe log line")
    print(f"\n/ready burst: {n} calls in {took:.1f}s, {queued} store probes")
    # one at the start, then at most one per second (a little slack)
    assert 1 <= queued <= int(took) + 2, (queued, took)


def test_ready_answers_at_once_while_a_probe_hangs(start_server, dedicated_pg):
    s = pg_server(start_server, dedicated_pg)
    assert s.get("/ready").status_code == 200
    time.sleep(1.1)  # the cached answer is stale: the next call probes
    results: list = []

    def timed_ready():
        t0 = time.monotonic()
        try:
            r = httpx.get(f"{s.base_url}/ready", timeout=STATEMENT_TIMEOUT_MS / 1000 + 10)
        except httpx.HTTPError as e:
            r = e
        results.append((r, time.monotonic() - t0))

    with Frozen(dedicated_pg):
        prober = threading.Thread(target=timed_ready)
        prober.start()
        time.sleep(0.3)  # its probe is queued and hangs
        assert prober.is_alive(), "the probe did not hang: is PostgreSQL frozen?"
        with ThreadPoolExecutor(8) as ex:
            quick = list(ex.map(lambda _: timed_ready() or results[-1], range(40)))
        h = s.get("/health")
        assert h.status_code == 200
    prober.join(STATEMENT_TIMEOUT_MS / 1000 + 15)
    # A call that waited for the hung probe is held until the statement
    # timeout (PostgreSQL stays frozen until every call has answered), so
    # "waited" is over half of it: never a loaded machine's slow answer.
    waited = STATEMENT_TIMEOUT_MS / 1000 / 2
    slow = [(getattr(r, "status_code", repr(r)), round(t, 2)) for r, t in results if t > waited]
    # only the call that started the probe waited for it
    assert len(slow) <= 1, slow
    for r, _ in results:
        assert not isinstance(r, Exception), r
        assert r.status_code in (200, 503), r.text
    assert len(quick) == 40
    wait_until(lambda: s.get("/ready").status_code == 200, 15, what="/ready 200 again")


def test_full_store_queue_answers_store_busy(start_server, dedicated_pg, tmp_path):
    agents = tmp_path / "agents"
    agents.mkdir()
    # never called: its run is refused before the model
    (agents / "q.yaml").write_text(
        "id: q\nname: Q\nmodel: {provider: openai, id: m, base_url: 'http://127.0.0.1:9/v1'}\n")
    s = pg_server(start_server, dedicated_pg, STORE_QUEUE_MAX="2", AGENTS_DIR=str(agents))
    h = bearer(make_token(sub="user-q", workspaceId="ws-q"))
    with httpx.Client(base_url=s.base_url, timeout=10, headers=h) as c:
        for _ in range(8):  # every pool thread has its connection
            assert c.get("/sessions").status_code == 200
    held: list = []

    def hold():
        try:
            held.append(httpx.get(f"{s.base_url}/sessions", headers=h,
                                  timeout=STATEMENT_TIMEOUT_MS / 1000 + 10).status_code)
        except httpx.HTTPError as e:
            held.append(repr(e))

    with Frozen(dedicated_pg):
        holders = [threading.Thread(target=hold) for _ in range(2)]
        for t in holders:
            t.start()
        time.sleep(0.5)  # both jobs are queued and hang
        t0 = time.monotonic()
        r = httpx.get(f"{s.base_url}/sessions", headers=h, timeout=STATEMENT_TIMEOUT_MS / 2000)
        took = time.monotonic() - t0
        assert_error(r, 503, "STORE_BUSY")
        assert r.headers.get("retry-after") == "1", r.headers
        assert took < 1.0, took
        for path in ("/sessions/any", "/sessions/any/runs"):
            assert_error(httpx.get(f"{s.base_url}{path}", headers=h, timeout=2), 503,
                         "STORE_BUSY")
        # a run is refused before anything starts, streamed or not: a clean 503
        for stream in ("false", "true"):
            t0 = time.monotonic()
            run = httpx.post(f"{s.base_url}/agents/q/runs", headers=h, timeout=5,
                             data={"message": "hi", "stream": stream})
            assert time.monotonic() - t0 < 2.0
            assert_error(run, 503, "STORE_BUSY")
            assert run.headers.get("retry-after") == "1", run.headers
        rd = httpx.get(f"{s.base_url}/ready", timeout=2)
        assert rd.status_code == 503, rd.text
        assert rd.json()["code"] == "STORE_BUSY", rd.text
        assert rd.json()["checks"]["store"]["status"] == "busy", rd.text
        assert s.get("/health").status_code == 200
    for t in holders:
        t.join(STATEMENT_TIMEOUT_MS / 1000 + 15)
    assert len(held) == 2, held
    # the queue drains; nothing stays refused
    wait_until(lambda: httpx.get(f"{s.base_url}/sessions", headers=h, timeout=5).status_code
               == 200, 15, what="GET /sessions 200 again")
    wait_until(lambda: s.get("/ready").status_code == 200, 15, what="/ready 200 again")
