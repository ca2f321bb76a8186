"""OS_SECURITY_KEY callers: a service inside X-Workspace-Id, an operator
without it; end-user tokens never become operators; a bad key never falls
through to another kind of credential."""

import secrets

import pytest

from conftest import assert_error, fresh_rate_window, launch, make_token
from runs_support import write_agent
from runs_fixtures import mock  # noqa: F401 (pytest fixtures)

KEY = "os-key-for-tests-0123456789abcdef"


@pytest.fixture
def srv(start_server):
    return start_server(env={"OS_SECURITY_KEY": KEY})


def key_headers(workspace=None, user=None, key=KEY) -> dict[str, str]:
    h = {"Authorization": f"Bearer {key}"}
    if workspace is not None:
        h["X-Workspace-Id"] = workspace
    if user is not None:
        h["X-User-Id"] = user
    return h


def user_headers(**claims) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(**claims)}"}


def test_key_with_workspace_acts_as_a_user_of_it(srv):
    h = key_headers("ws-svc", "svc-user")
    r = srv.request("POST", "/sessions", headers=h, json={"session_id": "svc-s1"})
    assert r.status_code in (200, 201), r.text
    me = srv.request("GET", "/me", headers=h)
    assert me.status_code == 200, me.text
    assert me.json()["workspace_id"] == "ws-svc" and me.json()["user_id"] == "svc-user"
    # exactly that workspace: its session is seen there, not in another one
    mine = srv.request("GET", "/sessions", headers=h)
    assert mine.status_code == 200, mine.text
    assert [s["session_id"] for s in mine.json()["data"]] == ["svc-s1"]
    other = srv.request("GET", "/sessions", headers=key_headers("ws-other"))
    assert other.status_code == 200 and other.json()["data"] == []
    # the same data as a user of that workspace sees
    u = srv.request("GET", "/sessions", headers=user_headers(workspaceId="ws-svc"))
    assert [s["session_id"] for s in u.json()["data"]] == ["svc-s1"]


def test_key_header_ids_follow_the_id_rule(srv):
    r = srv.request("GET", "/sessions", headers=key_headers("x" * 200))
    assert_error(r, 400, "INVALID_HEADER")


def test_operator_without_workspace_may_not_create(srv):
    h = key_headers()
    assert_error(srv.request("POST", "/sessions", headers=h, json={"session_id": "op"}),
                 403, "WORKSPACE_REQUIRED")
    assert_error(srv.request("POST", "/agents/assistant/runs", headers=h,
                             data={"message": "hi"}), 403, "WORKSPACE_REQUIRED")
    # routes with no workspace are open to it
    assert srv.request("GET", "/agents", headers=h).status_code == 200
    me = srv.request("GET", "/me", headers=h)
    assert me.status_code == 200 and me.json()["workspace_id"] is None


def test_operator_reads_one_workspace_by_filter(srv):
    for ws, sid in (("ws-a", "a-1"), ("ws-b", "b-1")):
        r = srv.request("POST", "/sessions", headers=key_headers(ws), json={"session_id": sid})
        assert r.status_code in (200, 201), r.text
    h = key_headers()
    for ws, sid in (("ws-a", "a-1"), ("ws-b", "b-1")):
        r = srv.request("GET", "/sessions", headers=h, params={"workspace_id": ws})
        assert r.status_code == 200, r.text
        assert [s["session_id"] for s in r.json()["data"]] == [sid]
        one = srv.request("GET", f"/sessions/{sid}", headers=h, params={"workspace_id": ws})
        assert one.status_code == 200, one.text
    # another workspace's session is not found through the filter
    r = srv.request("GET", "/sessions/b-1", headers=h, params={"workspace_id": "ws-a"})
    assert r.status_code == 404, r.text
    # without the filter: every workspace
    r = srv.request("GET", "/sessions", headers=h)
    assert r.status_code == 200, r.text
    assert sorted((s["workspace_id"], s["session_id"]) for s in r.json()["data"]) == [
        ("ws-a", "a-1"), ("ws-b", "b-1")]
    # the filter is the id rule's
    assert_error(srv.request("GET", "/sessions", headers=h, params={"workspace_id": "x" * 200}),
                 422)
    # a filter in the URL never lets an operator write
    r = srv.request("POST", "/sessions", headers=h, params={"workspace_id": "ws-a"},
                    json={"session_id": "op-write"})
    assert_error(r, 403, "WORKSPACE_REQUIRED")
    r = srv.request("DELETE", "/sessions/a-1", headers=h, params={"workspace_id": "ws-a"})
    assert_error(r, 403, "WORKSPACE_REQUIRED")


def test_end_user_token_ignores_the_workspace_filter(srv):
    r = srv.request("POST", "/sessions", headers=key_headers("ws-a"), json={"session_id": "a-2"})
    assert r.status_code in (200, 201), r.text
    u = user_headers(workspaceId="ws-u")
    r = srv.request("GET", "/sessions", headers=u, params={"workspace_id": "ws-a"})
    assert r.status_code == 200 and r.json()["data"] == []
    r = srv.request("GET", "/sessions", headers=user_headers(workspaceId=None),
                    params={"workspace_id": "ws-a"})
    assert_error(r, 403, "WORKSPACE_REQUIRED")


def test_bad_key_never_falls_through(srv):
    for bad in (KEY[:-1], KEY + "x", KEY.upper(), "x" * len(KEY)):
        for ws in (None, "ws-svc"):
            r = srv.request("GET", "/me", headers=key_headers(ws, key=bad))
            assert_error(r, 403, "INVALID_TOKEN")
    # a well-formed user token signed with the key as its secret is not the key
    tok = make_token(secret=KEY, workspaceId=None)
    assert_error(srv.request("GET", "/me", headers={"Authorization": f"Bearer {tok}"}),
                 403, "INVALID_TOKEN")


def test_end_user_token_is_never_operator(srv):
    # without a workspace: workspace routes stay closed, X-Workspace-Id is ignored
    h = user_headers(workspaceId=None)
    h["X-Workspace-Id"] = "ws-svc"
    r = srv.request("GET", "/sessions", headers=h)
    assert_error(r, 403, "WORKSPACE_REQUIRED")
    assert "X-Workspace-Id" not in r.json()["detail"]
    me = srv.request("GET", "/me", headers=h)
    assert me.status_code == 200 and me.json()["workspace_id"] is None
    # with its own workspace, the header does not move it to another one
    h = user_headers(workspaceId="ws-mine")
    h["X-Workspace-Id"] = "ws-svc"
    assert srv.request("GET", "/me", headers=h).json()["workspace_id"] == "ws-mine"


def test_without_a_configured_key_the_key_is_just_a_bad_token(start_server):
    s = start_server()
    assert_error(s.request("GET", "/me", headers=key_headers()), 403, "INVALID_TOKEN")


def test_log_names_the_principal_never_the_key(srv):
    srv.request("GET", "/agents", headers=key_headers())
    srv.request("GET", "/me", headers=key_headers("ws-log"))
    op = srv.wait_log(lambda l: l.get("principal") == "operator")
    svc = srv.wait_log(lambda l: l.get("principal") == "service")
    assert op and op[0]["credential"] == "os_security_key" and op[0]["workspace_id"] is None
    assert op[0]["path"] == "/agents"
    assert svc and svc[0]["workspace_id"] == "ws-log"
    srv.stop()
    assert KEY not in srv.stderr_text() and KEY not in srv.stdout_text()


def test_the_key_scrapes_prometheus_and_end_users_do_not(srv):
    r = srv.get("/metrics/prometheus", headers=key_headers())
    assert r.status_code == 200, r.text
    assert "# TYPE" in r.text
    assert srv.get("/metrics/prometheus", headers=key_headers(workspace="ws-p")).status_code == 200
    assert_error(srv.get("/metrics/prometheus", headers=key_headers(key=KEY + "x")), 403)
    assert_error(srv.get("/metrics/prometheus", headers=user_headers(sub="u-p", workspaceId="ws-p")),
                 403)


# ================================================================ reads across workspaces


class World:
    """One server, two workspaces with a user each: sessions (one id in both)
    and real runs driven through the mock model with each user's token."""

    def __init__(self, server, mock, model_key):
        self.s, self.mock, self.model_key = server, mock, model_key
        tag = secrets.token_hex(3)
        self.a, self.b = f"ws-a-{tag}", f"ws-b-{tag}"
        self.ua = user_headers(sub="user-a", workspaceId=self.a)
        self.ub = user_headers(sub="user-b", workspaceId=self.b)
        self.op = key_headers()
        self.runs = {}
        for h, ws in ((self.ua, self.a), (self.ub, self.b)):
            for sid in ("shared", f"only-{ws}"):
                r = server.request("POST", "/sessions", headers=h,
                                   json={"session_id": sid, "agent_id": "oa"})
                assert r.status_code == 201, r.text
            self.runs[ws] = self.run(h, f"only-{ws}", f"answer for {ws}")

    def run(self, h, session_id, text):
        self.mock.script(self.model_key, [{"text": text,
                                           "usage": {"input_tokens": 3, "output_tokens": 4}}])
        r = self.s.request("POST", "/agents/oa/runs", headers=h,
                           data={"message": "hi", "stream": "false", "session_id": session_id})
        assert r.status_code == 200, (r.status_code, r.text)
        assert r.json()["status"] == "COMPLETED", r.json()
        return r.json()["run_id"]

    def get(self, path, h=None, **params):
        return self.s.request("GET", path, headers=h or self.op, params=params)

    def ok(self, path, h=None, **params):
        r = self.get(path, h, **params)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json()


@pytest.fixture(scope="module")
def world(tmp_path_factory, mock):
    tmp = tmp_path_factory.mktemp("operator")
    agents = tmp / "agents"
    agents.mkdir()
    model_key = f"sk-test-{secrets.token_hex(6)}"
    write_agent(agents, {"id": "oa", "name": "Agent oa", "instructions": ["Be brief."],
                         "model": {"provider": "openai", "id": "mock-gpt",
                                   "base_url": f"{mock.url}/v1", "api_key_env": "E2E_OP_KEY"}})
    s = launch(tmp, env={"AGENTS_DIR": str(agents), "E2E_OP_KEY": model_key,
                         "OS_SECURITY_KEY": KEY, "RATE_LIMIT_PER_MINUTE": "0"})
    yield World(s, mock, model_key)
    s.check_clean_exit()


def mine(items, w):
    """(workspace_id, id) of the items in this world's two workspaces."""
    return sorted((x["workspace_id"], x.get("session_id") if "total_tokens" in x else x["run_id"])
                  for x in items if x.get("workspace_id") in (w.a, w.b))


def test_operator_lists_sessions_of_every_workspace(world):
    w = world
    page = w.ok("/sessions", limit=1000)
    assert all("workspace_id" in x for x in page["data"])
    assert mine(page["data"], w) == sorted([(w.a, "shared"), (w.a, f"only-{w.a}"),
                                            (w.b, "shared"), (w.b, f"only-{w.b}")])
    assert page["meta"]["total_count"] >= 4
    one = w.ok("/sessions", workspace_id=w.a)
    assert sorted((x["workspace_id"], x["session_id"]) for x in one["data"]) == [
        (w.a, f"only-{w.a}"), (w.a, "shared")]
    assert one["meta"]["total_count"] == 2
    # the filters and paging of one workspace's list apply across them too
    both = w.ok("/sessions", session_name="", limit=1000, sort_by="updated_at", sort_order="asc")
    assert mine(both["data"], w) == mine(page["data"], w)
    first = w.ok("/sessions", limit=1, page=1)["data"]
    second = w.ok("/sessions", limit=1, page=2)["data"]
    assert len(first) == 1 and len(second) == 1 and first != second


def test_a_user_still_sees_only_their_workspace(world):
    w = world
    page = w.ok("/sessions", w.ua, workspace_id=w.b)  # the filter is not theirs to use
    assert sorted(x["session_id"] for x in page["data"]) == [f"only-{w.a}", "shared"]
    assert {x["workspace_id"] for x in page["data"]} == {w.a}
    assert_error(w.get(f"/sessions/only-{w.b}", w.ua), 404, "NOT_FOUND")
    assert_error(w.get(f"/sessions/only-{w.b}/runs/{w.runs[w.b]}", w.ua), 404, "NOT_FOUND")
    assert_error(w.get(f"/agents/oa/runs/{w.runs[w.b]}", w.ua), 404, "NOT_FOUND")
    runs = w.ok("/agents/oa/runs", w.ua)
    assert [(x["workspace_id"], x["run_id"]) for x in runs] == [(w.a, w.runs[w.a])]
    assert w.ok("/sessions/shared", w.ua)["workspace_id"] == w.a


def test_operator_reads_one_session_in_any_workspace(world):
    w = world
    d = w.ok(f"/sessions/only-{w.b}")
    assert d["workspace_id"] == w.b and d["session_id"] == f"only-{w.b}"
    assert [m["content"] for m in d["chat_history"]][-1] == f"answer for {w.b}"
    runs = w.ok(f"/sessions/only-{w.b}/runs")
    assert [(x["workspace_id"], x["run_id"]) for x in runs] == [(w.b, w.runs[w.b])]
    run = w.ok(f"/sessions/only-{w.b}/runs/{w.runs[w.b]}")
    assert run["workspace_id"] == w.b and run["content"] == f"answer for {w.b}"
    previews = w.ok(f"/sessions/only-{w.a}/run-previews")
    assert [(x["workspace_id"], x["run_id"]) for x in previews] == [(w.a, w.runs[w.a])]
    # the run is looked up in the session's own workspace only
    assert_error(w.get(f"/sessions/only-{w.b}/runs/{w.runs[w.a]}"), 404, "NOT_FOUND")
    assert_error(w.get("/sessions/no-such-session"), 404, "NOT_FOUND")


def test_a_session_id_in_two_workspaces_is_409_until_one_is_named(world):
    w = world
    for path in ("/sessions/shared", "/sessions/shared/runs", "/sessions/shared/run-previews",
                 f"/sessions/shared/runs/{w.runs[w.a]}"):
        body = assert_error(w.get(path), 409, "AMBIGUOUS_ID")
        assert w.a in body["workspace_ids"] and w.b in body["workspace_ids"], body
    for ws in (w.a, w.b):
        d = w.ok("/sessions/shared", workspace_id=ws)
        assert d["workspace_id"] == ws
        assert w.ok("/sessions/shared/runs", workspace_id=ws) == []


def test_operator_lists_and_reads_runs_of_every_workspace(world):
    w = world
    runs = w.ok("/agents/oa/runs", limit=100)
    assert mine(runs, w) == sorted([(w.a, w.runs[w.a]), (w.b, w.runs[w.b])])
    assert all("workspace_id" in x for x in runs)
    only_b = w.ok("/agents/oa/runs", workspace_id=w.b)
    assert [(x["workspace_id"], x["run_id"]) for x in only_b] == [(w.b, w.runs[w.b])]
    by_session = w.ok("/agents/oa/runs", session_id=f"only-{w.a}")
    assert [(x["workspace_id"], x["run_id"]) for x in by_session] == [(w.a, w.runs[w.a])]
    out = w.ok(f"/agents/oa/runs/{w.runs[w.a]}")
    assert out["workspace_id"] == w.a and out["session_id"] == f"only-{w.a}"
    assert isinstance(out["created_at"], int)
    assert_error(w.get(f"/agents/oa/runs/{w.runs[w.a]}", workspace_id=w.b), 404, "NOT_FOUND")
    assert_error(w.get("/agents/oa/runs/no-such-run"), 404, "NOT_FOUND")


def test_operator_metrics_cover_every_workspace(world):
    w = world

    def runs(**params):
        return sum(d["agent_runs_count"] for d in w.ok("/metrics", **params)["metrics"])

    total, in_a = runs(), runs(workspace_id=w.a)
    assert in_a == 1 and runs(workspace_id=w.b) == 1
    assert total >= 2
    assert sum(d["agent_runs_count"] for d in w.ok("/metrics", w.ua)["metrics"]) == 1


def test_operator_writes_still_need_a_workspace(world):
    w = world
    sid, rid = f"only-{w.a}", w.runs[w.a]
    writes = [("POST", "/sessions", {"json": {"session_id": "op"}}),
              ("DELETE", "/sessions", {"json": {"session_ids": [sid], "session_types": ["agent"]}}),
              ("PATCH", f"/sessions/{sid}", {"json": {"session_name": "x"}}),
              ("POST", f"/sessions/{sid}/rename", {"json": {"session_name": "x"}}),
              ("DELETE", f"/sessions/{sid}", {}),
              ("POST", "/agents/oa/runs", {"data": {"message": "hi", "stream": "false"}}),
              ("POST", f"/agents/oa/runs/{rid}/cancel", {}),
              ("POST", "/metrics/refresh", {})]
    for method, path, kw in writes:
        for params in (None, {"workspace_id": w.a}):
            r = w.s.request(method, path, headers=w.op, params=params, **kw)
            assert_error(r, 403, "WORKSPACE_REQUIRED")
    # nothing changed
    d = w.ok(f"/sessions/{sid}")
    assert d["session_name"] == "" and d["runs_count"] == 1
    assert w.ok("/sessions", w.ua)["meta"]["total_count"] == 2


def test_reads_across_workspaces_count_in_the_operators_bucket(start_server):
    s = start_server(env={"OS_SECURITY_KEY": KEY, "RATE_LIMIT_PER_MINUTE": "3"})
    fresh_rate_window()
    for path in ("/sessions", "/metrics", "/agents"):  # one bucket for every operator route
        assert s.request("GET", path, headers=key_headers()).status_code == 200
    assert_error(s.request("GET", "/sessions", headers=key_headers()), 429, "RATE_LIMITED")
    # a workspace's own bucket is untouched
    r = s.request("GET", "/sessions", headers=user_headers(workspaceId="ws-rl"))
    assert r.status_code == 200, r.text
