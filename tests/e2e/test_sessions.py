"""The sessions routes (Agno's AgentOS API), on both store back ends: every
test runs once on SQLite and once on PostgreSQL, each time on a fresh store."""

import re
import time
from datetime import datetime, timezone

import pytest

from conftest import UUID_RE, api_for, assert_error, ms_now

ISO_MS_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"
SESSION_KEYS = {"session_id", "session_name", "session_state", "session_type", "user_id",
                "agent_id", "total_tokens", "metadata", "metrics", "created_at", "updated_at"}
META_KEYS = {"page", "limit", "total_pages", "total_count", "search_time_ms"}


def iso_ms(s: str) -> int:
    """An ISO-8601 UTC time with milliseconds, as epoch milliseconds."""
    assert isinstance(s, str) and re.match(ISO_MS_RE, s), s
    dt = datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return round(dt.timestamp() * 1000)


def ids(page: dict) -> list[str]:
    return [s["session_id"] for s in page["data"]]


def make_sessions(api, n: int, prefix: str = "s", gap_ms: float = 0, **body) -> list[dict]:
    out = []
    for i in range(n):
        out.append(api.create_ok({"session_id": f"{prefix}-{i:02d}", **body}))
        if gap_ms:
            time.sleep(gap_ms / 1000)
    return out


# ---------------------------------------------------------------- POST /sessions


def test_create_generates_an_id(svc):
    api = api_for(svc, "ws-a", sub="user-a")
    t0 = ms_now()
    a = api.create_ok({})
    b = api.create_ok()
    no_body = api.req("POST", "/sessions")  # no body at all
    assert no_body.status_code == 201, no_body.text
    t1 = ms_now()
    c = no_body.json()
    for s in (a, b, c):
        assert SESSION_KEYS <= set(s), s
        assert re.match(UUID_RE, s["session_id"]), s
        assert s["session_type"] == "agent"
        assert s["user_id"] == "user-a"
        assert s["session_state"] == {}
        assert s["metadata"] == {}
        assert s["total_tokens"] == 0
        assert s["chat_history"] == []
        assert t0 - 1000 <= iso_ms(s["created_at"]) <= t1 + 1000
        assert iso_ms(s["updated_at"]) >= iso_ms(s["created_at"])
    assert len({a["session_id"], b["session_id"], c["session_id"]}) == 3
    assert api.list_ok()["meta"]["total_count"] == 3


def test_create_keeps_the_given_id_and_fields(svc, backend):
    api = api_for(svc, "ws-a", sub="user-a")
    body = {
        "session_id": "chat-42",
        "session_name": "Weather in Paris",
        "agent_id": "weather-agent",
        "session_state": {"city": "Paris", "nested": {"days": [1, 2, 3]}, "ok": True},
        "metadata": {"source": "e2e", "n": 7},
    }
    s = api.create_ok(body)
    for k, v in body.items():
        assert s[k] == v, (k, s)
    assert s["user_id"] == "user-a"
    got = api.get("chat-42")
    assert got.status_code == 200, got.text
    for k, v in body.items():
        assert got.json()[k] == v, (k, got.json())
    row = backend.db.session("ws-a", "chat-42")
    assert row is not None
    assert row["session_name"] == "Weather in Paris"
    assert row["session_state"] == body["session_state"]
    assert row["user_id"] == "user-a"


def test_user_id_comes_from_the_token(svc, backend):
    api = api_for(svc, "ws-a", sub="alice")
    s = api.create_ok({"session_id": "s1", "user_id": "mallory"})
    assert s["user_id"] == "alice"
    assert api.get("s1").json()["user_id"] == "alice"
    assert backend.db.session("ws-a", "s1")["user_id"] == "alice"
    assert api.list_ok(user_id="mallory")["meta"]["total_count"] == 0
    assert ids(api.list_ok(user_id="alice")) == ["s1"]


def test_duplicate_id_in_the_same_workspace_is_409(svc, backend):
    a = api_for(svc, "ws-a", sub="user-a")
    a.create_ok({"session_id": "dup", "session_name": "first"})
    r = a.create({"session_id": "dup", "session_name": "second"})
    assert_error(r, 409, "CONFLICT")
    assert a.get("dup").json()["session_name"] == "first"
    assert a.list_ok()["meta"]["total_count"] == 1
    # another user of the same workspace collides too: the key is the workspace's
    r = api_for(svc, "ws-a", sub="user-z").create({"session_id": "dup"})
    assert_error(r, 409, "CONFLICT")


def test_same_id_in_another_workspace_is_allowed(svc, backend):
    a = api_for(svc, "ws-a", sub="user-a")
    b = api_for(svc, "ws-b", sub="user-b")
    a.create_ok({"session_id": "same", "session_name": "A's"})
    sb = b.create_ok({"session_id": "same", "session_name": "B's"})
    assert sb["session_id"] == "same" and sb["user_id"] == "user-b"
    assert a.get("same").json()["session_name"] == "A's"
    assert b.get("same").json()["session_name"] == "B's"
    assert backend.db.session("ws-a", "same")["session_name"] == "A's"
    assert backend.db.session("ws-b", "same")["session_name"] == "B's"


CREATE_WRONG_TYPES = [
    {"session_state": []},
    {"session_state": "state"},
    {"session_state": 5},
    {"session_state": True},
    {"metadata": ["x"]},
    {"session_name": 12},
    {"session_id": {"id": 1}},
    {"agent_id": 3},
]


def test_create_with_a_wrong_field_type_is_422(svc):
    api = api_for(svc)
    for body in CREATE_WRONG_TYPES:
        r = api.create({"session_id": "bad", **body})
        assert r.status_code == 422, (body, r.status_code, r.text)
        assert_error(r, 422, "VALIDATION_ERROR")
    assert_error(api.get("bad"), 404, "NOT_FOUND")
    assert api.list_ok()["meta"]["total_count"] == 0


def test_create_bad_bodies(svc):
    api = api_for(svc)
    for raw in (b"{", b"{\"session_id\": }", b"not json", b"{\"a\":1}{"):
        assert_error(api.create(content=raw), 400, "INVALID_JSON")
    for raw in (b"[]", b"[{\"session_id\":\"x\"}]", b"\"x\"", b"42"):
        r = api.create(content=raw)
        assert r.status_code in (400, 422), (raw, r.status_code, r.text)
        assert_error(r, r.status_code)
    assert_error(api.create({"session_id": "t"}, type="bogus"), 422, "VALIDATION_ERROR")
    assert api.list_ok(type="agent")["meta"]["total_count"] == 0
    assert api.list_ok(type="team")["meta"]["total_count"] == 0


def test_create_team_session(svc):
    api = api_for(svc)
    t = api.create_ok({"session_id": "team-1", "agent_id": "team-x"}, type="team")
    assert t["session_type"] == "team"
    api.create_ok({"session_id": "agent-1"})
    assert sorted(ids(api.list_ok())) == ["agent-1", "team-1"]  # no default type (Agno)
    assert ids(api.list_ok(type="agent")) == ["agent-1"]
    assert ids(api.list_ok(type="team")) == ["team-1"]
    assert api.list_ok(type="workflow")["data"] == []
    assert api.get("team-1").json()["session_type"] == "team"


# ---------------------------------------------------------------- GET /sessions


def test_list_empty(svc):
    api = api_for(svc)
    body = api.list_ok()
    assert body["data"] == []
    meta = body["meta"]
    assert META_KEYS <= set(meta), meta
    assert meta["page"] == 1 and meta["limit"] == 20
    assert meta["total_count"] == 0 and meta["total_pages"] == 0
    assert isinstance(meta["search_time_ms"], (int, float)) and meta["search_time_ms"] >= 0
    # a trailing slash is ignored
    api.create_ok({"session_id": "s1"})
    r = api.req("GET", "/sessions/")
    assert r.status_code == 200, r.text
    assert ids(r.json()) == ["s1"]


def test_list_items_have_the_session_fields_and_no_runs(svc, backend):
    api = api_for(svc, "ws-a", sub="user-a")
    api.create_ok({"session_id": "s1", "session_name": "One", "agent_id": "ag",
                   "session_state": {"k": 1}, "metadata": {"m": True}})
    backend.db.insert_run("ws-a", "s1", "r1", ms_now(), messages=[{"role": "user",
                                                                   "content": "hi"}])
    (item,) = api.list_ok()["data"]
    assert SESSION_KEYS <= set(item), item
    assert item["session_id"] == "s1" and item["session_name"] == "One"
    assert item["agent_id"] == "ag" and item["user_id"] == "user-a"
    assert item["session_state"] == {"k": 1} and item["metadata"] == {"m": True}
    assert item["session_type"] == "agent" and item["total_tokens"] == 0
    iso_ms(item["created_at"])
    iso_ms(item["updated_at"])
    # listing never loads runs
    assert "chat_history" not in item and "runs" not in item


def test_list_pagination(svc):
    api = api_for(svc)
    made = {s["session_id"] for s in make_sessions(api, 25)}
    seen = []
    for page, want in ((1, 10), (2, 10), (3, 5), (4, 0)):
        body = api.list_ok(limit=10, page=page)
        assert len(body["data"]) == want, (page, body)
        meta = body["meta"]
        assert meta["page"] == page and meta["limit"] == 10, meta
        assert meta["total_count"] == 25 and meta["total_pages"] == 3, meta
        seen += ids(body)
    assert len(seen) == 25 and set(seen) == made  # no overlap, nothing missed
    body = api.list_ok()
    assert len(body["data"]) == 20
    assert body["meta"] == {**body["meta"], "page": 1, "limit": 20, "total_count": 25,
                            "total_pages": 2}
    body = api.list_ok(limit=25)
    assert len(body["data"]) == 25 and body["meta"]["total_pages"] == 1
    body = api.list_ok(limit=7, page=4)
    assert len(body["data"]) == 4 and body["meta"]["total_pages"] == 4
    assert ids(body) == ids(api.list_ok(limit=25))[21:25]
    body = api.list_ok(limit=1, page=1000)
    assert body["data"] == [] and body["meta"]["total_count"] == 25


def test_sort_by_created_at(svc):
    api = api_for(svc)
    made = make_sessions(api, 6, gap_ms=3)
    key = [(iso_ms(s["created_at"]), s["session_id"]) for s in made]
    asc = [sid for _, sid in sorted(key)]
    assert ids(api.list_ok(sort_by="created_at", sort_order="asc")) == asc
    assert ids(api.list_ok(sort_by="created_at", sort_order="desc")) == asc[::-1]
    # the default is newest first
    assert ids(api.list_ok()) == asc[::-1]
    assert ids(api.list_ok(sort_order="asc")) == asc
    # pages of a sorted list follow each other
    assert ids(api.list_ok(sort_order="asc", limit=4, page=2)) == asc[4:]


def test_sort_by_updated_at(svc):
    api = api_for(svc)
    make_sessions(api, 4, gap_ms=3)
    time.sleep(0.01)
    r = api.patch("s-00", {"metadata": {"touched": True}})
    assert r.status_code == 200, r.text
    desc = ids(api.list_ok(sort_by="updated_at", sort_order="desc"))
    asc = ids(api.list_ok(sort_by="updated_at", sort_order="asc"))
    assert desc[0] == "s-00", desc
    assert asc[-1] == "s-00", asc
    assert desc == asc[::-1]
    assert ids(api.list_ok(sort_by="created_at", sort_order="asc"))[0] == "s-00"


def test_sort_by_session_name(svc):
    api = api_for(svc)
    for sid, name in (("s1", "delta"), ("s2", "alpha"), ("s3", None), ("s4", "charlie"),
                      ("s5", "bravo")):
        api.create_ok({"session_id": sid, "session_name": name})
    asc = api.list_ok(sort_by="session_name", sort_order="asc")["data"]
    desc = api.list_ok(sort_by="session_name", sort_order="desc")["data"]
    assert [s["session_name"] for s in asc] == ["alpha", "bravo", "charlie", "delta", ""]
    assert [s["session_name"] for s in desc] == ["delta", "charlie", "bravo", "alpha", ""]


def test_filters(svc):
    alice = api_for(svc, "ws-a", sub="alice")
    bob = api_for(svc, "ws-a", sub="bob")
    alice.create_ok({"session_id": "a1", "agent_id": "weather", "session_name": "Weather in Paris"})
    alice.create_ok({"session_id": "a2", "agent_id": "finance", "session_name": "stock PRICES"})
    bob.create_ok({"session_id": "b1", "agent_id": "weather", "session_name": "WEATHER report"})
    bob.create_ok({"session_id": "b2", "agent_id": "weather", "session_name": "100% done"})
    bob.create_ok({"session_id": "b3", "agent_id": "finance", "session_name": "1000 done_x"})
    bob.create_ok({"session_id": "b4"})

    def got(**params):
        body = alice.list_ok(sort_order="asc", **params)
        assert body["meta"]["total_count"] == len(body["data"]), body["meta"]
        return sorted(ids(body))

    assert got() == ["a1", "a2", "b1", "b2", "b3", "b4"]  # the workspace's, every user's
    assert got(component_id="weather") == ["a1", "b1", "b2"]
    assert got(component_id="finance") == ["a2", "b3"]
    assert got(component_id="nope") == []
    assert got(user_id="alice") == ["a1", "a2"]
    assert got(user_id="bob") == ["b1", "b2", "b3", "b4"]
    assert got(session_name="weather") == ["a1", "b1"]
    assert got(session_name="wEaThEr") == ["a1", "b1"]
    assert got(session_name="prices") == ["a2"]
    assert got(session_name="in par") == ["a1"]
    # a substring, not a pattern: % and _ are literal
    assert got(session_name="0%") == ["b2"]
    assert got(session_name="e_") == ["b3"]
    assert got(session_name="%") == ["b2"]
    assert got(session_name="_") == ["b3"]
    assert got(session_name="zzz") == []
    # filters combine
    assert got(component_id="weather", user_id="bob") == ["b1", "b2"]
    assert got(component_id="weather", user_id="bob", session_name="report") == ["b1"]
    assert got(component_id="finance", session_name="weather") == []
    # and paginate
    body = alice.list_ok(component_id="weather", limit=2, page=2)
    assert len(body["data"]) == 1
    assert body["meta"]["total_count"] == 3 and body["meta"]["total_pages"] == 2


LIST_BAD_QUERIES = [
    {"limit": "0"}, {"limit": "-1"}, {"limit": "abc"}, {"limit": "1.5"}, {"limit": "10x"},
    {"page": "0"}, {"page": "-2"}, {"page": "x"},
    {"sort_by": "name"}, {"sort_by": "created_at;drop"}, {"sort_by": "session_id"},
    {"sort_order": "up"}, {"sort_order": "ASC "}, {"sort_order": "descending"},
    {"type": "bogus"}, {"type": "agents"},
]


def test_list_bad_query_is_422(svc):
    api = api_for(svc)
    api.create_ok({"session_id": "s1"})
    for params in LIST_BAD_QUERIES:
        r = api.list(**params)
        assert r.status_code == 422, (params, r.status_code, r.text)
        assert_error(r, 422, "VALIDATION_ERROR")


# ---------------------------------------------------------------- GET /sessions/{id}


def test_get_detail(svc, backend):
    api = api_for(svc, "ws-a", sub="user-a")
    made = api.create_ok({"session_id": "s1", "session_name": "n", "agent_id": "ag",
                          "session_state": {"x": 1}})
    r = api.get("s1")
    assert r.status_code == 200, r.text
    d = r.json()
    assert SESSION_KEYS <= set(d), d
    for k in SESSION_KEYS:
        assert d[k] == made[k], k
    assert d["chat_history"] == []
    t = ms_now()
    backend.db.insert_run("ws-a", "s1", "r-late", t + 2000, messages=[
        {"role": "user", "content": "second question"},
        {"role": "assistant", "content": "second answer"}])
    backend.db.insert_run("ws-a", "s1", "r-early", t + 1000, messages=[
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"}])
    history = api.get("s1").json()["chat_history"]
    assert [m["content"] for m in history] == ["first question", "first answer",
                                              "second question", "second answer"], history
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]


def test_missing_session_is_404_on_every_route(svc):
    api = api_for(svc)
    api.create_ok({"session_id": "s1"})
    for sid in ("nope", "s2", "S1"):  # ids are case-sensitive
        assert_error(api.get(sid), 404, "NOT_FOUND")
        assert_error(api.runs(sid), 404, "NOT_FOUND")
        assert_error(api.req("GET", f"/sessions/{sid}/runs/r1"), 404, "NOT_FOUND")
        assert_error(api.req("GET", f"/sessions/{sid}/run-previews"), 404, "NOT_FOUND")
        assert_error(api.rename(sid, {"session_name": "x"}), 404, "NOT_FOUND")
        assert_error(api.patch(sid, {"session_name": "x"}), 404, "NOT_FOUND")
        assert_error(api.delete(sid), 404, "NOT_FOUND")
    assert api.get("s1").json()["session_name"] == ""


# ---------------------------------------------------------------- GET /sessions/{id}/runs


def test_runs_of_a_new_session_is_empty(svc):
    api = api_for(svc)
    api.create_ok({"session_id": "s1"})
    r = api.runs("s1")
    assert r.status_code == 200, r.text
    assert r.json() == []


def test_runs_listed_oldest_first(svc, backend):
    api = api_for(svc, "ws-a", sub="user-a")
    api.create_ok({"session_id": "s1", "agent_id": "ag"})
    api.create_ok({"session_id": "s2", "agent_id": "ag"})
    t = ms_now()
    metrics = {"input_tokens": 3, "output_tokens": 5, "total_tokens": 8}
    tools = [{"tool_name": "get_weather", "tool_args": {"city": "Paris"}, "result": "sunny"}]
    for rid, dt, text in (("r3", 3000, "third"), ("r1", 1000, "first"), ("r2", 2000, "second")):
        backend.db.insert_run(
            "ws-a", "s1", rid, t + dt, agent_id="ag", user_id="user-a",
            input={"input_content": f"{text} question"}, content=f"{text} answer",
            messages=[{"role": "user", "content": f"{text} question"},
                      {"role": "assistant", "content": f"{text} answer"}],
            tools=tools, metrics=metrics, model="gpt-x", model_provider="OpenAI")
    backend.db.insert_run("ws-a", "s2", "other", t + 1500, agent_id="ag",
                          input={"input_content": "elsewhere"})
    r = api.runs("s1")
    assert r.status_code == 200, r.text
    runs = r.json()
    assert [x["run_id"] for x in runs] == ["r1", "r2", "r3"], runs
    first = runs[0]
    assert first["run_input"] == "first question"
    assert first["content"] == "first answer"
    assert first["status"] == "COMPLETED"
    assert first["agent_id"] == "ag" and first["user_id"] == "user-a"
    assert first["metrics"] == metrics
    assert first["tools"] == tools
    # Agno's Message form: an id stable across reads, from_history false
    assert first["messages"][0] == {"role": "user", "content": "first question", "id": "r1-0",
                                    "from_history": False}
    assert first["created_at"] is not None
    assert [x["run_id"] for x in api.runs("s2").json()] == ["other"]


# ---------------------------------------------------------------- rename


def test_rename(svc, backend):
    api = api_for(svc)
    made = api.create_ok({"session_id": "s1", "session_name": "old", "session_state": {"a": 1}})
    time.sleep(0.005)
    r = api.rename("s1", {"session_name": "new name ✓"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["session_id"] == "s1" and body["session_name"] == "new name ✓"
    assert body["session_state"] == {"a": 1}
    assert iso_ms(body["updated_at"]) > iso_ms(made["updated_at"])
    assert iso_ms(body["created_at"]) == iso_ms(made["created_at"])
    assert api.get("s1").json()["session_name"] == "new name ✓"
    assert backend.db.session("ws-a", "s1")["session_name"] == "new name ✓"
    assert ids(api.list_ok(session_name="NAME ✓")) == ["s1"]


RENAME_INVALID = [{}, {"session_name": ""}, {"session_name": None}, {"session_name": 5},
                  {"name": "x"}]


def test_rename_without_a_name_is_422(svc):
    api = api_for(svc)
    made = api.create_ok({"session_id": "s1", "session_name": "keep"})
    for body in RENAME_INVALID:
        r = api.rename("s1", body)
        assert r.status_code == 422, (body, r.status_code, r.text)
        assert_error(r, 422, "VALIDATION_ERROR")
    r = api.req("POST", "/sessions/s1/rename")  # no body at all
    assert_error(r, 422, "VALIDATION_ERROR")
    got = api.get("s1").json()
    assert got["session_name"] == "keep" and got["updated_at"] == made["updated_at"]


# ---------------------------------------------------------------- PATCH


def test_patch(svc, backend):
    api = api_for(svc)
    made = api.create_ok({"session_id": "s1", "session_name": "n", "agent_id": "ag",
                          "session_state": {"a": 1, "b": 2}, "metadata": {"m": 1}})
    time.sleep(0.005)
    r = api.patch("s1", {"session_state": {"c": 3}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["session_state"] == {"c": 3}  # replaced whole
    assert body["session_name"] == "n" and body["metadata"] == {"m": 1}
    assert body["agent_id"] == "ag"
    assert iso_ms(body["updated_at"]) > iso_ms(made["updated_at"])

    r = api.patch("s1", {"metadata": {"tags": ["x", "y"]}, "session_name": "renamed"})
    assert r.status_code == 200, r.text
    got = api.get("s1").json()
    assert got["session_state"] == {"c": 3}
    assert got["metadata"] == {"tags": ["x", "y"]}
    assert got["session_name"] == "renamed"
    assert got["created_at"] == made["created_at"]
    row = backend.db.session("ws-a", "s1")
    assert row["session_state"] == {"c": 3} and row["metadata"] == {"tags": ["x", "y"]}

    r = api.patch("s1", {"session_state": {}})
    assert r.status_code == 200, r.text
    assert api.get("s1").json()["session_state"] == {}


PATCH_INVALID = [{}, {"unknown": 1}, {"session_state": [1]}, {"metadata": "m"},
                 {"session_name": 7}]


def test_patch_invalid_is_422(svc):
    api = api_for(svc)
    made = api.create_ok({"session_id": "s1", "session_name": "n", "session_state": {"a": 1}})
    for body in PATCH_INVALID:
        r = api.patch("s1", body)
        assert r.status_code == 422, (body, r.status_code, r.text)
        assert_error(r, 422, "VALIDATION_ERROR")
    r = api.req("PATCH", "/sessions/s1", content=b"{nope",
                headers={"Content-Type": "application/json"})
    assert_error(r, 400, "INVALID_JSON")
    got = api.get("s1").json()
    assert got["session_state"] == {"a": 1} and got["session_name"] == "n"
    assert got["updated_at"] == made["updated_at"]


# ---------------------------------------------------------------- DELETE


def test_delete_one(svc, backend):
    api = api_for(svc)
    api.create_ok({"session_id": "gone"})
    api.create_ok({"session_id": "kept"})
    t = ms_now()
    for i in range(3):
        backend.db.insert_run("ws-a", "gone", f"g{i}", t + i)
    backend.db.insert_run("ws-a", "kept", "k0", t)
    r = api.delete("gone")
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_error(api.get("gone"), 404, "NOT_FOUND")
    assert_error(api.runs("gone"), 404, "NOT_FOUND")
    assert_error(api.delete("gone"), 404, "NOT_FOUND")
    assert backend.db.session("ws-a", "gone") is None
    assert backend.db.runs("ws-a", "gone") == []
    # the other session and its runs are untouched
    assert ids(api.list_ok()) == ["kept"]
    assert [x["run_id"] for x in api.runs("kept").json()] == ["k0"]
    # the id can be used again, with no runs
    api.create_ok({"session_id": "gone"})
    assert api.runs("gone").json() == []


def test_bulk_delete(svc, backend):
    api = api_for(svc)
    make_sessions(api, 5)
    t = ms_now()
    for i in range(5):
        backend.db.insert_run("ws-a", f"s-{i:02d}", f"r{i}", t)
    r = api.bulk_delete({"session_ids": ["s-00", "s-02", "s-04", "never-existed"],
                         "session_types": ["agent"] * 4})
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert sorted(ids(api.list_ok())) == ["s-01", "s-03"]
    for sid in ("s-00", "s-02", "s-04"):
        assert_error(api.get(sid), 404, "NOT_FOUND")
        assert backend.db.runs("ws-a", sid) == []
    assert [x["run_id"] for x in api.runs("s-01").json()] == ["r1"]
    assert len(backend.db.runs("ws-a")) == 2
    # all of them again: only unknown ids left, still 204
    r = api.bulk_delete({"session_ids": ["s-00", "s-01", "s-03"],
                         "session_types": ["agent"] * 3})
    assert r.status_code == 204, r.text
    assert api.list_ok()["data"] == []


TYPES = {"session_types": ["agent"]}
BULK_INVALID = [{}, {**TYPES, "session_ids": []}, {**TYPES, "session_ids": None},
                {**TYPES, "session_ids": "s-00"}, {**TYPES, "session_ids": [1, 2]},
                {**TYPES, "session_ids": [""]}, {**TYPES, "session_ids": ["s-00", None]},
                {**TYPES, "ids": ["s-00"]}, {"session_ids": ["s-00"], "session_types": []},
                {"session_ids": ["s-00"], "session_types": ["bogus"]},
                {"session_ids": ["s-00"], "session_types": "agent"}]


def test_bulk_delete_invalid_is_422(svc):
    api = api_for(svc)
    make_sessions(api, 2)
    for body in BULK_INVALID:
        r = api.bulk_delete(body)
        assert r.status_code == 422, (body, r.status_code, r.text)
        assert_error(r, 422, "VALIDATION_ERROR")
    assert_error(api.req("DELETE", "/sessions"), 422, "VALIDATION_ERROR")  # no body
    r = api.req("DELETE", "/sessions", content=b"{\"session_ids\": [",
                headers={"Content-Type": "application/json"})
    assert_error(r, 400, "INVALID_JSON")
    assert api.list_ok()["meta"]["total_count"] == 2


def test_bulk_delete_needs_session_types(svc):
    """Agno 3.1.10's DeleteSessionRequest requires both lists: FastAPI's
    "missing" item names the absent one, and nothing is deleted."""
    api = api_for(svc)
    make_sessions(api, 2)
    for body, field in (({"session_ids": ["s-00"]}, "session_types"),
                        ({"session_types": ["agent"]}, "session_ids")):
        r = api.bulk_delete(body)
        assert_error(r, 422, "VALIDATION_ERROR")
        assert [(d["type"], d["loc"]) for d in r.json()["detail"]] == \
            [("missing", ["body", field])], r.text
    assert api.list_ok()["meta"]["total_count"] == 2


# ---------------------------------------------------------------- GET /sessions/{id}/runs/{run_id}


def plant_two_workspaces(backend, api_a, api_b):
    """ws-a: s1 with runs r1, r2 and s2 with r-s2; ws-b: its own s1 with run b1."""
    api_a.create_ok({"session_id": "s1", "agent_id": "ag"})
    api_a.create_ok({"session_id": "s2", "agent_id": "ag"})
    api_b.create_ok({"session_id": "s1", "agent_id": "ag"})
    t = ms_now()
    for ws, sid, rid, dt, text in (("ws-a", "s1", "r1", 1000, "first"),
                                   ("ws-a", "s1", "r2", 2000, "second"),
                                   ("ws-a", "s2", "r-s2", 1500, "elsewhere"),
                                   ("ws-b", "s1", "b1", 1000, "theirs")):
        backend.db.insert_run(
            ws, sid, rid, t + dt, agent_id="ag", user_id="user-a",
            input={"input_content": f"{text} question"}, content=f"{text} answer",
            messages=[{"role": "user", "content": f"{text} question"},
                      {"role": "assistant", "content": f"{text} answer"}],
            metrics={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
            model="gpt-x", model_provider="OpenAI")


def test_session_run_get(svc, backend):
    api_a = api_for(svc, "ws-a", sub="user-a")
    api_b = api_for(svc, "ws-b", sub="user-b")
    plant_two_workspaces(backend, api_a, api_b)
    r = api_a.req("GET", "/sessions/s1/runs/r2")
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["run_id"] == "r2" and run["session_id"] == "s1"
    assert run["run_input"] == "second question" and run["content"] == "second answer"
    assert run["status"] == "COMPLETED" and run["agent_id"] == "ag"
    assert run["messages"][1] == {"role": "assistant", "content": "second answer", "id": "r2-1",
                                  "from_history": False}
    assert run["workspace_id"] == "ws-a"
    iso_ms(run["created_at"])
    # the same as the run in the session's list
    listed = {x["run_id"]: x for x in api_a.runs("s1").json()}
    assert listed["r2"] == run
    from agno.os import schema  # agno is required: an ImportError fails, never skips
    schema.RunSchema.model_validate(run)
    # a run of another session, a missing run, a missing session: 404
    assert_error(api_a.req("GET", "/sessions/s1/runs/r-s2"), 404, "NOT_FOUND")
    assert_error(api_a.req("GET", "/sessions/s1/runs/nope"), 404, "NOT_FOUND")
    assert_error(api_a.req("GET", "/sessions/nope/runs/r1"), 404, "NOT_FOUND")
    # another workspace: its own s1 holds b1 only, and A's runs are not found from B
    assert_error(api_b.req("GET", "/sessions/s1/runs/r1"), 404, "NOT_FOUND")
    assert_error(api_b.req("GET", "/sessions/s2/runs/r-s2"), 404, "NOT_FOUND")
    assert api_b.req("GET", "/sessions/s1/runs/b1").json()["workspace_id"] == "ws-b"
    assert_error(api_a.req("GET", "/sessions/s1/runs/b1"), 404, "NOT_FOUND")


# ---------------------------------------------------------------- GET /sessions/{id}/run-previews

PREVIEW_KEYS = {"run_id", "parent_run_id", "agent_id", "team_id", "workflow_id", "user_id",
                "status", "run_input", "content_preview", "created_at"}


def test_run_previews(svc, backend):
    api_a = api_for(svc, "ws-a", sub="user-a")
    api_b = api_for(svc, "ws-b", sub="user-b")
    plant_two_workspaces(backend, api_a, api_b)
    long_in, long_out = "é" * 300, "x" * 1000
    backend.db.insert_run("ws-a", "s1", "r3", ms_now() + 3000, agent_id="ag",
                          input={"input_content": long_in}, content=long_out,
                          messages=[{"role": "user", "content": long_in}])
    backend.db.insert_run("ws-a", "s1", "r4", ms_now() + 4000, status="RUNNING")
    r = api_a.req("GET", "/sessions/s1/run-previews")
    assert r.status_code == 200, r.text
    previews = r.json()
    assert [p["run_id"] for p in previews] == ["r1", "r2", "r3", "r4"], previews
    first = previews[0]
    assert first["run_input"] == "first question"
    assert first["content_preview"] == "first answer"
    assert first["status"] == "COMPLETED" and first["agent_id"] == "ag"
    assert first["user_id"] == "user-a" and first["workspace_id"] == "ws-a"
    iso_ms(first["created_at"])
    for p in previews:  # Agno's fields only (and where it is), none of them null
        assert set(p) <= PREVIEW_KEYS | {"workspace_id"}, p
        assert None not in p.values(), p
        assert "messages" not in p and "metrics" not in p
    assert previews[2]["run_input"] == long_in[:280]
    assert previews[2]["content_preview"] == long_out[:280]
    assert previews[3] == {"run_id": "r4", "status": "RUNNING", "workspace_id": "ws-a",
                           "created_at": previews[3]["created_at"], "parent_run_id": ""}
    from agno.os import schema  # agno is required: an ImportError fails, never skips
    for p in previews:
        schema.SessionRunPreviewSchema.model_validate(p)
    # paged like the runs: the newest limit, oldest first
    r = api_a.req("GET", "/sessions/s1/run-previews", params={"limit": 2})
    assert [p["run_id"] for p in r.json()] == ["r3", "r4"]
    r = api_a.req("GET", "/sessions/s1/run-previews", params={"limit": 2, "page": 2})
    assert [p["run_id"] for p in r.json()] == ["r1", "r2"]
    assert_error(api_a.req("GET", "/sessions/s1/run-previews", params={"limit": 0}), 422)
    # another workspace's session of the same id is its own; a missing one is 404
    assert [p["run_id"] for p in api_b.req("GET", "/sessions/s1/run-previews").json()] == ["b1"]
    assert_error(api_b.req("GET", "/sessions/s2/run-previews"), 404, "NOT_FOUND")
    api_a.create_ok({"session_id": "empty"})
    assert api_a.req("GET", "/sessions/empty/run-previews").json() == []


# ---------------------------------------------------------------- DELETE /sessions session_types


def test_bulk_delete_filters_by_session_types(svc, backend):
    api = api_for(svc)
    api.create_ok({"session_id": "ag-1"})
    api.create_ok({"session_id": "tm-1"}, type="team")
    api.create_ok({"session_id": "ag-2"})
    backend.db.insert_run("ws-a", "tm-1", "r-tm", ms_now())
    # each id goes only when it is a session of the type beside it
    r = api.bulk_delete({"session_ids": ["ag-1", "tm-1", "ag-2"],
                         "session_types": ["agent", "agent", "team"]})
    assert r.status_code == 204, r.text
    assert sorted(ids(api.list_ok())) == ["ag-2", "tm-1"]
    assert [x["run_id"] for x in backend.db.runs("ws-a", "tm-1")] == ["r-tm"]
    r = api.bulk_delete({"session_ids": ["tm-1", "ag-2"], "session_types": ["team", "agent"]})
    assert r.status_code == 204, r.text
    assert api.list_ok()["data"] == []
    assert backend.db.runs("ws-a", "tm-1") == []
    # Agno pairs the lists: different lengths are a 400
    api.create_ok({"session_id": "ag-3"})
    r = api.bulk_delete({"session_ids": ["ag-3"], "session_types": ["agent", "agent"]})
    assert_error(r, 400, "BAD_REQUEST")
    assert ids(api.list_ok()) == ["ag-3"]


def test_session_runs_take_agnos_filters(svc, backend):
    api = api_for(svc)
    api.create_ok({"session_id": "s1"})
    t = (ms_now() // 1000) * 1000  # a whole second, as Agno's bounds are
    for rid, dt, status in (("r1", 0, "COMPLETED"), ("r2", 10_000, "RUNNING"),
                            ("r3", 20_500, "PENDING"), ("r4", 30_000, "ERROR")):
        backend.db.insert_run("ws-a", "s1", rid, t + dt, status=status)
    s = t // 1000
    for route in ("runs", "run-previews"):
        def run_ids(**params):
            r = api.req("GET", f"/sessions/s1/{route}", params=params)
            assert r.status_code == 200, r.text
            return [x["run_id"] for x in r.json()]

        assert run_ids(created_after=s + 10) == ["r2", "r3", "r4"]  # both ends included
        assert run_ids(created_before=s + 20) == ["r1", "r2", "r3"]  # whole seconds
        assert run_ids(created_after=s + 5, created_before=s + 25) == ["r2", "r3"]
        assert run_ids(status=["running", "PENDING"]) == ["r2", "r3"]  # repeatable, any case
        assert run_ids(status="bogus") == []
        assert run_ids(status=["bogus", "error"]) == ["r4"]
        assert_error(api.req("GET", f"/sessions/s1/{route}", params={"created_after": "x"}), 422)
