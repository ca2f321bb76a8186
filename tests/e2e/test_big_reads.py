"""Reading big sessions (issue 7, item 6): a session of 300 large runs, read
by several clients at once through the session detail and both runs lists.

The replies are built on the store's threads and bounded: runs lists come a
page at a time (limit, default 20, at most 100; page 1 is the newest), the
session detail's chat_history covers the last num_history_runs runs, and a
reply over MAX_REPLY_BYTES is a 413 REPLY_TOO_LARGE, never a truncation. So
/health, served by the same loops, stays fast throughout.

The old code serialised every run of the session on the loop thread
(60 MB replies here) and /health took seconds.
"""

import json
import os
import sqlite3
import statistics
import threading
import time

import httpx
import pytest

from conftest import assert_error, bearer, make_token, ms_now

NRUNS = 300
ANSWER_BYTES = 100 * 1024  # each run: a 100 KiB answer, twice (content and messages)
AGENT = "reader"
AGENT_HISTORY_RUNS = 4
WS, SID = "ws-reads", "big-session"
HEALTH_P99_S = 1.0  # generous: the old code took seconds


def answer(i: int) -> str:
    head = f"answer {i:03d} "
    return head + "x" * (ANSWER_BYTES - len(head))


def write_agent(directory):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{AGENT}.yaml").write_text(
        f"id: {AGENT}\nname: Reader\n"
        "model: {provider: openai, id: gpt-test, base_url: 'http://127.0.0.1:9/v1'}\n"
        f"add_history_to_context: true\nnum_history_runs: {AGENT_HISTORY_RUNS}\n")


def plant_runs(db_path, n: int) -> None:
    """n big COMPLETED runs of SID, straight into the service's SQLite file,
    created a millisecond apart (run r000 the oldest)."""
    t0 = ms_now() - 10 * 60 * 1000
    rows = []
    for i in range(n):
        text = answer(i)
        messages = [{"role": "user", "content": f"question {i:03d}"},
                    {"role": "assistant", "content": text}]
        rows.append((WS, f"r{i:03d}", SID, AGENT, "user-r", "COMPLETED",
                     json.dumps({"input_content": f"question {i:03d}"}), text,
                     json.dumps(messages), "[]", json.dumps({"total_tokens": 1}),
                     t0 + i, t0 + i))
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        with conn:
            conn.executemany(
                "INSERT INTO runs (workspace_id, run_id, session_id, agent_id, user_id, status,"
                " input, content, messages, tools, metrics, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    finally:
        conn.close()


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@pytest.fixture
def big(start_server, tmp_path):
    data = tmp_path / "bigdata"
    data.mkdir()
    agents = tmp_path / "agents"
    write_agent(agents)
    s = start_server(env={"AGENTOS_DATA_DIR": str(data), "DATABASE_URL": None,
                          "AGENTS_DIR": str(agents), "RATE_LIMIT_PER_MINUTE": "100000"})
    h = bearer(make_token(sub="user-r", workspaceId=WS))
    r = s.request("POST", "/sessions", headers=h,
                  json={"session_id": SID, "agent_id": AGENT, "session_name": "big"})
    assert r.status_code == 201, r.text
    plant_runs(data / "agentos.db", NRUNS)
    return s, h


def ids(resp) -> list[str]:
    assert resp.status_code == 200, (resp.status_code, resp.text[:300])
    return [x["run_id"] for x in resp.json()]


def names(lo: int, hi: int) -> list[str]:
    return [f"r{i:03d}" for i in range(lo, hi)]


def test_readers_leave_health_fast(big):
    """Several clients read the big session over and over; /health stays
    fast, and memory stays bounded."""
    s, h = big
    paths = [f"/sessions/{SID}", f"/sessions/{SID}/runs", f"/agents/{AGENT}/runs",
             f"/sessions/{SID}/runs?limit=30&page=2", f"/agents/{AGENT}/runs?session_id={SID}"]
    errors: list = []
    sizes: list[int] = []
    done = threading.Event()

    def reader(k: int):
        with httpx.Client(base_url=s.base_url, timeout=120, headers=h) as c:
            for j in range(6):
                path = paths[(k + j) % len(paths)]
                try:
                    r = c.get(path)
                    if r.status_code != 200:
                        errors.append((path, r.status_code, r.text[:200]))
                    else:
                        r.json()  # complete and valid
                        sizes.append(len(r.content))
                except httpx.HTTPError as e:
                    errors.append((path, repr(e)))

    lat: list[float] = []
    rss: list[int] = []

    def health():
        with httpx.Client(base_url=s.base_url, timeout=30) as c:
            while not done.is_set():
                t0 = time.monotonic()
                r = c.get("/health")
                lat.append(time.monotonic() - t0)
                assert r.status_code == 200
                rss.append(rss_kb(s.proc.pid))
                time.sleep(0.02)

    rss0 = rss_kb(s.proc.pid)
    hthread = threading.Thread(target=health)
    hthread.start()
    readers = [threading.Thread(target=reader, args=(k,)) for k in range(6)]
    t0 = time.monotonic()
    for t in readers:
        t.start()
    for t in readers:
        t.join(300)
    took = time.monotonic() - t0
    done.set()
    hthread.join(60)
    lat.sort()
    p99 = lat[max(0, int(len(lat) * 0.99) - 1)] if lat else float("inf")
    print(f"\nbig reads: {len(readers) * 6} reads in {took:.1f}s; /health n={len(lat)} "
          f"median={statistics.median(lat) * 1000:.1f}ms p99={p99 * 1000:.1f}ms "
          f"max={lat[-1] * 1000:.1f}ms; RSS before={rss0 // 1024}MB "
          f"max={max(rss, default=0) // 1024}MB; biggest reply {max(sizes, default=0)} bytes")
    assert not errors, errors[:5]
    assert max(sizes) <= 8 << 20, f"a reply of {max(sizes)} bytes: over MAX_REPLY_BYTES"
    assert lat, "no /health call was made"
    assert p99 < HEALTH_P99_S, f"/health p99 {p99:.2f}s during the reads"
    assert s.get("/health").status_code == 200


def test_runs_lists_are_paged(big):
    s, h = big
    for base in (f"/sessions/{SID}/runs", f"/agents/{AGENT}/runs?session_id={SID}&x=",
                 f"/agents/{AGENT}/runs?x="):
        sep = "&" if "?" in base else "?"
        # default: the newest 20, oldest first
        assert ids(s.get(base, headers=h)) == names(280, 300), base
        assert ids(s.get(f"{base}{sep}page=2", headers=h)) == names(260, 280), base
        assert ids(s.get(f"{base}{sep}limit=7&page=3", headers=h)) == names(279, 286), base
        assert ids(s.get(f"{base}{sep}limit=30&page=10", headers=h)) == names(0, 30), base
        assert ids(s.get(f"{base}{sep}limit=30&page=11", headers=h)) == [], base
        for bad in ("limit=0", "limit=101", "limit=x", "page=0", "page=-1"):
            assert_error(s.get(f"{base}{sep}{bad}", headers=h), 422, "VALIDATION_ERROR")
    one = s.get(f"/sessions/{SID}/runs?limit=1", headers=h).json()[0]
    assert one["run_id"] == "r299" and one["content"] == answer(299)
    assert one["run_input"] == "question 299"


def test_detail_covers_the_last_history_runs(big):
    s, h = big
    r = s.get(f"/sessions/{SID}", headers=h)
    assert r.status_code == 200, r.text[:300]
    d = r.json()
    assert d["runs_count"] == NRUNS
    want = []
    for i in range(NRUNS - AGENT_HISTORY_RUNS, NRUNS):  # the agent's num_history_runs
        want += [f"question {i:03d}", answer(i)]
    assert [m["content"] for m in d["chat_history"]] == want
    # the query may ask for more, bounded
    more = s.get(f"/sessions/{SID}?num_history_runs=10", headers=h).json()
    assert len(more["chat_history"]) == 20
    assert more["chat_history"][0]["content"] == "question 290"
    for bad in ("0", "101", "many"):
        assert_error(s.get(f"/sessions/{SID}?num_history_runs={bad}", headers=h), 422,
                     "VALIDATION_ERROR")


def test_reply_over_the_cap_is_413(big):
    """100 runs of 200 KiB each are over MAX_REPLY_BYTES (8 MiB): a JSON 413,
    never a cut reply. Just under it, the whole reply arrives."""
    s, h = big
    for path in (f"/sessions/{SID}/runs?limit=100", f"/agents/{AGENT}/runs?limit=100",
                 f"/sessions/{SID}?num_history_runs=100"):
        body = assert_error(s.get(path, headers=h), 413, "REPLY_TOO_LARGE")
        assert "smaller page" in body["detail"], body
    # 30 runs: about 6 MiB, under the cap, sent whole (in pieces)
    r = s.get(f"/sessions/{SID}/runs?limit=30", headers=h)
    assert r.status_code == 200
    assert int(r.headers["content-length"]) == len(r.content) > 6_000_000
    assert ids(r) == names(270, 300)
    # and the service goes on
    assert s.get("/health").status_code == 200


def test_a_smaller_cap_is_honoured(start_server, tmp_path):
    data = tmp_path / "smalldata"
    data.mkdir()
    agents = tmp_path / "agents"
    write_agent(agents)
    s = start_server(env={"AGENTOS_DATA_DIR": str(data), "DATABASE_URL": None,
                          "AGENTS_DIR": str(agents), "MAX_REPLY_BYTES": "300000"})
    h = bearer(make_token(sub="user-r", workspaceId=WS))
    assert s.request("POST", "/sessions", headers=h,
                     json={"session_id": SID, "agent_id": AGENT}).status_code == 201
    plant_runs(data / "agentos.db", 5)
    assert len(ids(s.get(f"/sessions/{SID}/runs?limit=1", headers=h))) == 1
    assert_error(s.get(f"/sessions/{SID}/runs?limit=2", headers=h), 413, "REPLY_TOO_LARGE")
    assert_error(s.get(f"/sessions/{SID}", headers=h), 413, "REPLY_TOO_LARGE")
    assert s.get(f"/agents/{AGENT}/runs/r001", headers=h).status_code == 200
