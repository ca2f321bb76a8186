"""OS_SECURITY_KEY callers: a service inside X-Workspace-Id, an operator
without it; end-user tokens never become operators; a bad key never falls
through to another kind of credential."""

import pytest

from conftest import assert_error, make_token

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
    # without the filter: not yet across workspaces
    assert_error(srv.request("GET", "/sessions", headers=h), 403, "WORKSPACE_REQUIRED")
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
