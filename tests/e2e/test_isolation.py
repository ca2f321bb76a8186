"""Tenant isolation on the sessions routes, on both back ends: another
workspace's session is a 404 (never a 403) on every route, and nothing a
caller of workspace B does changes workspace A's rows. Plus the tenant
middleware in front of them: no token 401, a token without workspaceId 403."""

import jwt
import pytest

from conftest import SECRET, api_for, assert_error, claims_for, make_token, ms_now


def snapshot(api, backend, ws: str, sids) -> dict:
    """What A sees of its sessions, through the API and in the tables."""
    out = {}
    for sid in sids:
        r = api.get(sid)
        assert r.status_code == 200, (sid, r.status_code, r.text)
        runs = api.runs(sid)
        assert runs.status_code == 200, runs.text
        out[sid] = (r.json(), runs.json(), backend.db.session(ws, sid), backend.db.runs(ws, sid))
    return out


def test_another_workspace_never_sees_a_session(svc, backend):
    a = api_for(svc, "ws-a", sub="alice")
    b = api_for(svc, "ws-b", sub="bob")
    # a user who belongs to both workspaces: the token's workspace decides
    alice_in_b = api_for(svc, "ws-b", sub="alice")
    a.create_ok({"session_id": "a-1", "session_name": "secret plans", "agent_id": "ag",
                 "session_state": {"k": "v"}, "metadata": {"m": 1}})
    a.create_ok({"session_id": "a-2", "session_name": "more secrets", "agent_id": "ag"})
    t = ms_now()
    backend.db.insert_run("ws-a", "a-1", "run-a-1", t, agent_id="ag", user_id="alice",
                          input={"input_content": "hello"}, content="hi",
                          messages=[{"role": "user", "content": "hello"}])
    backend.db.insert_run("ws-a", "a-2", "run-a-2", t + 1, agent_id="ag")
    b.create_ok({"session_id": "b-1", "session_name": "B's own"})
    before = snapshot(a, backend, "ws-a", ["a-1", "a-2"])

    for caller in (b, alice_in_b):
        # list: only B's own, whatever the filters
        for params, want in (({}, ["b-1"]), ({"limit": 100}, ["b-1"]),
                             ({"type": "agent"}, ["b-1"]), ({"user_id": "alice"}, []),
                             ({"component_id": "ag"}, []), ({"session_name": "secret"}, [])):
            body = caller.list_ok(**params)
            assert [s["session_id"] for s in body["data"]] == want, (params, body)
            assert body["meta"]["total_count"] == len(want), (params, body["meta"])
        for sid in ("a-1", "a-2"):
            missing = "nope-" + sid  # what a session that exists nowhere gets
            pairs = [
                (caller.get(sid), caller.get(missing)),
                (caller.runs(sid), caller.runs(missing)),
                (caller.rename(sid, {"session_name": "pwned"}),
                 caller.rename(missing, {"session_name": "pwned"})),
                (caller.patch(sid, {"session_state": {"pwned": True}, "metadata": {}}),
                 caller.patch(missing, {"session_state": {"pwned": True}, "metadata": {}})),
                (caller.delete(sid), caller.delete(missing)),
            ]
            for got, want in pairs:
                assert_error(got, 404, "NOT_FOUND")
                # the same answer as for an id that exists nowhere: nothing leaks
                assert got.json() == want.json(), (got.text, want.text)
        # bulk delete of A's ids: the same answer as for ids that exist nowhere
        got = caller.bulk_delete({"session_ids": ["a-1", "a-2"],
                                  "session_types": ["agent", "agent"]})
        want = caller.bulk_delete({"session_ids": ["nope-1", "nope-2"],
                                   "session_types": ["agent", "agent"]})
        assert got.status_code != 403, got.text
        assert got.status_code in (204, 404), (got.status_code, got.text)
        assert (got.status_code, got.content) == (want.status_code, want.content)

    # A's rows are exactly as they were
    assert snapshot(a, backend, "ws-a", ["a-1", "a-2"]) == before
    assert sorted(s["session_id"] for s in a.list_ok()["data"]) == ["a-1", "a-2"]
    assert backend.db.count_all_runs("a-1") == 1
    # and B's session is still there (B's bulk deletes named only A's ids)
    assert [s["session_id"] for s in b.list_ok()["data"]] == ["b-1"]


def test_the_same_id_in_two_workspaces_are_two_sessions(svc, backend):
    a = api_for(svc, "ws-a", sub="alice")
    b = api_for(svc, "ws-b", sub="bob")
    a.create_ok({"session_id": "shared", "session_name": "A", "session_state": {"w": "a"}})
    b.create_ok({"session_id": "shared", "session_name": "B", "session_state": {"w": "b"}})
    t = ms_now()
    backend.db.insert_run("ws-a", "shared", "ra", t, input={"input_content": "from A"},
                          messages=[{"role": "user", "content": "from A"}])
    before = snapshot(a, backend, "ws-a", ["shared"])

    assert b.runs("shared").json() == []
    assert b.get("shared").json()["chat_history"] == []
    assert [x["run_id"] for x in a.runs("shared").json()] == ["ra"]

    r = b.rename("shared", {"session_name": "B renamed"})
    assert r.status_code == 200 and r.json()["session_name"] == "B renamed", r.text
    r = b.patch("shared", {"session_state": {"w": "b2"}, "metadata": {"x": 1}})
    assert r.status_code == 200 and r.json()["session_state"] == {"w": "b2"}, r.text
    assert snapshot(a, backend, "ws-a", ["shared"]) == before

    assert b.delete("shared").status_code == 204
    assert_error(b.get("shared"), 404, "NOT_FOUND")
    assert snapshot(a, backend, "ws-a", ["shared"]) == before

    b.create_ok({"session_id": "shared"})
    assert b.bulk_delete({"session_ids": ["shared"], "session_types": ["agent"]}).status_code == 204
    assert_error(b.get("shared"), 404, "NOT_FOUND")
    assert snapshot(a, backend, "ws-a", ["shared"]) == before
    assert backend.db.session("ws-b", "shared") is None


def test_many_workspaces_each_see_only_their_own(svc, backend):
    apis = {f"ws-{i}": api_for(svc, f"ws-{i}", sub="same-user") for i in range(5)}
    for ws, api in apis.items():
        for j in range(3):
            api.create_ok({"session_id": f"s{j}", "session_name": f"{ws}/s{j}",
                           "agent_id": "shared-agent"})
    for ws, api in apis.items():
        body = api.list_ok(component_id="shared-agent", user_id="same-user")
        assert body["meta"]["total_count"] == 3
        assert sorted(s["session_name"] for s in body["data"]) == [f"{ws}/s{j}"
                                                                  for j in range(3)]
    apis["ws-0"].bulk_delete({"session_ids": ["s0", "s1", "s2"],
                              "session_types": ["agent"] * 3})
    assert apis["ws-0"].list_ok()["meta"]["total_count"] == 0
    for ws in ("ws-1", "ws-2", "ws-3", "ws-4"):
        assert apis[ws].list_ok()["meta"]["total_count"] == 3
        assert len(backend.db.sessions(ws)) == 3


# ---------------------------------------------------------------- the middleware


ROUTES = [
    ("GET", "/sessions", None),
    ("POST", "/sessions", {"session_id": "x"}),
    ("DELETE", "/sessions", {"session_ids": ["x"], "session_types": ["agent"]}),
    ("GET", "/sessions/x", None),
    ("PATCH", "/sessions/x", {"session_name": "y"}),
    ("DELETE", "/sessions/x", None),
    ("GET", "/sessions/x/runs", None),
    ("POST", "/sessions/x/rename", {"session_name": "y"}),
]
ROUTE_IDS = [f"{m} {p}" for m, p, _ in ROUTES]


def _call(server, method, path, body, headers):
    kw = {"json": body} if body is not None else {}
    return server.request(method, path, headers=headers, **kw)


def _null_workspace_token() -> str:
    return jwt.encode({**claims_for(), "workspaceId": None}, SECRET.encode(), algorithm="HS256")


@pytest.mark.parametrize("method,path,body", ROUTES, ids=ROUTE_IDS)
def test_sessions_routes_need_a_workspace(server, method, path, body):
    assert_error(_call(server, method, path, body, {}), 401, "UNAUTHORIZED")
    for token in (make_token(workspaceId=None), make_token(workspaceId=""),
                  _null_workspace_token()):
        r = _call(server, method, path, body, {"Authorization": f"Bearer {token}"})
        assert_error(r, 403, "WORKSPACE_REQUIRED")
    r = _call(server, method, path, body, {"Authorization": "Bearer junk"})
    assert_error(r, 403, "INVALID_TOKEN")


def test_nothing_is_written_without_a_workspace(server):
    token = make_token(workspaceId=None)
    r = server.request("POST", "/sessions", json={"session_id": "nows"},
                       headers={"Authorization": f"Bearer {token}"})
    assert_error(r, 403, "WORKSPACE_REQUIRED")
    for ws in ("ws-1", "null", "None", "undefined", "*"):
        assert_error(api_for(server, ws).get("nows"), 404, "NOT_FOUND")
