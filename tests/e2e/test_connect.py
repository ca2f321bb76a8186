"""The routes the Control Plane's connect flow reads first (issue 8 item 3)."""
import pytest

from conftest import assert_error, bearer, make_token


def test_root_has_agno_links(server):
    body = server.get("/").json()
    assert body["health"] == "/health"
    assert body["info"] == "/info"
    assert body["docs"] == "/docs"
    assert body["name"] == "AgentOS API" and body["id"] and body["version"] == "0.1.0"


@pytest.mark.parametrize("path", ["/teams", "/workflows"])
def test_empty_lists(server, path):
    r = server.get(path, headers=bearer(make_token()))
    assert r.status_code == 200, r.text
    assert r.json() == []


@pytest.mark.parametrize("path", ["/teams", "/workflows"])
def test_empty_lists_need_a_token(server, path):
    assert_error(server.get(path), 401)


# ---------------------------------------------------------------- /info, /config, os_id

from conftest import REPO  # noqa: E402

KEY = "connect-key-for-tests-0123456789ab"
AGENTS = {"AGENTS_DIR": str(REPO / "agents" / "platform")}


def test_root_id_is_the_os_id(server):
    assert server.get("/").json()["id"] == server.get("/info").json()["os_id"]


def test_info_is_agnos_shape_and_public(server):
    from agno.os.schema import InfoResponse

    r = server.get("/info")
    assert r.status_code == 200, r.text
    body = r.json()
    InfoResponse.model_validate(body)
    assert set(body) == set(InfoResponse.model_fields)
    assert body["os_version"] == "0.1.0"
    assert body["team_count"] == 0 and body["workflow_count"] == 0
    assert body["mcp"]["enabled"] is False
    assert body["auth_mode"] == "jwt"
    # Never authenticated (as in Agno): even a bad token is not looked at.
    assert server.get("/info", headers=bearer("not-a-token")).status_code == 200


def test_info_auth_mode_key_only(start_server):
    s = start_server(env={"BETTER_AUTH_SECRET": None, "AGENTOS_ENV": "development",
                          "OS_SECURITY_KEY": KEY})
    assert s.get("/info").json()["auth_mode"] == "security_key"


def test_config_validates_against_agnos_config_response(start_server):
    from agno.os.schema import ConfigResponse

    s = start_server(env=AGENTS)
    r = s.get("/config", headers=bearer(make_token()))
    assert r.status_code == 200, r.text
    body = r.json()
    cfg = ConfigResponse.model_validate(body)
    assert cfg.os_id == s.get("/info").json()["os_id"]
    assert [a.id for a in cfg.agents] == ["workspace-assistant"]
    agent = body["agents"][0]
    assert agent["model"] == {"id": "gpt-4o-mini", "provider": "OpenAI"}
    assert agent["db_id"] == body["os_database"]
    assert body["available_models"] == [{"id": "gpt-4o-mini", "provider": "OpenAI"}]
    assert body["databases"] == [body["os_database"]]
    for section, table in (("session", "sessions"), ("metrics", "usage_daily")):
        dbs = body[section]["dbs"]
        assert [d["db_id"] for d in dbs] == [body["os_database"]]
        assert dbs[0]["tables"] == [table]
    assert body["teams"] == [] and body["workflows"] == [] and body["interfaces"] == []
    # Nulls are left out, except company, which Agno always sends.
    nulls = [k for k, v in body.items() if v is None]
    assert nulls == ["company"]
    assert s.get("/info").json()["agent_count"] == 1


def test_config_needs_a_credential(start_server):
    s = start_server(env={"OS_SECURITY_KEY": KEY})
    assert_error(s.get("/config"), 401)
    assert_error(s.get("/config", headers=bearer("bad.token.here")), 403)
    # An operator (the key alone) and a service call both read it.
    assert s.get("/config", headers=bearer(KEY)).status_code == 200
    r = s.get("/config", headers={**bearer(KEY), "X-Workspace-Id": "ws-1"})
    assert r.status_code == 200


def test_os_id_survives_a_restart(backend, start_server):
    first = start_server(env=backend.env)
    os_id = first.get("/info").json()["os_id"]
    assert first.get("/config", headers=bearer(make_token())).json()["os_id"] == os_id
    assert first.stop() == 0
    second = start_server(env=backend.env)
    assert second.get("/info").json()["os_id"] == os_id
    assert second.get("/config", headers=bearer(make_token())).json()["os_id"] == os_id


def test_agentos_id_overrides(backend, start_server):
    first = start_server(env=backend.env)
    made = first.get("/info").json()["os_id"]
    assert first.stop() == 0
    s = start_server(env={**backend.env, "AGENTOS_ID": "my-agent-os"})
    assert s.get("/info").json()["os_id"] == "my-agent-os"
    assert s.get("/").json()["id"] == "my-agent-os"
    assert s.get("/config", headers=bearer(make_token())).json()["os_id"] == "my-agent-os"
    assert made != "my-agent-os"


def test_agentos_id_must_pass_the_id_rule(tmp_path):
    from conftest import run_to_exit

    r = run_to_exit(tmp_path, env={"AGENTOS_ID": "x" * 129})
    assert r.returncode != 0
    assert "AGENTOS_ID" in r.stderr
