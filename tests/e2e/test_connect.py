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
