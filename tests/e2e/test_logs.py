"""The access log: one JSON line per request on stderr, tagged with the
tenant, and never the token or the secret."""

import re
import uuid
from datetime import datetime

import pytest

from conftest import SECRET, assert_error, make_token, post_body

LINE_FIELDS = {"ts", "level", "request_id", "method", "path", "status", "duration_us",
               "workspace_id", "user_id"}


def rid() -> str:
    return f"log-{uuid.uuid4().hex}"


def one_line_for(server, request_id: str) -> dict:
    lines = server.wait_log(lambda l: l.get("request_id") == request_id)
    assert len(lines) == 1, (request_id, lines, server.stderr_text()[-4000:])
    line = lines[0]
    missing = LINE_FIELDS - set(line)
    assert not missing, (missing, line)
    datetime.fromisoformat(line["ts"].replace("Z", "+00:00"))
    assert isinstance(line["duration_us"], int) and line["duration_us"] >= 0, line
    return line


@pytest.fixture(scope="module")
def used(server):
    """Drives a few requests through the shared server; returns what was sent."""
    sent = {}
    good = make_token(sub="log-user", workspaceId="log-ws", email="log@example.com")
    expired = make_token(sub="log-user", exp=1000, iat=1)
    bad_sig = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    sent["tokens"] = [good, expired, bad_sig]

    sent["health"] = rid()
    assert server.get("/health", headers={"X-Request-ID": sent["health"]}).status_code == 200
    sent["me"] = rid()
    r = server.get("/me", headers={"X-Request-ID": sent["me"], "Authorization": f"Bearer {good}"})
    assert r.status_code == 200
    sent["me_expired"] = rid()
    r = server.get("/me", headers={"X-Request-ID": sent["me_expired"],
                                   "Authorization": f"Bearer {expired}"})
    assert_error(r, 403, "TOKEN_EXPIRED")
    sent["me_bad"] = rid()
    r = server.get("/me", headers={"X-Request-ID": sent["me_bad"],
                                   "Authorization": f"Bearer {bad_sig}"})
    assert_error(r, 403, "INVALID_TOKEN")
    sent["me_anon"] = rid()
    assert_error(server.get("/me", headers={"X-Request-ID": sent["me_anon"]}), 401)
    sent["missing"] = rid()
    assert_error(server.get("/no/such/path", headers={"X-Request-ID": sent["missing"]}), 404)
    sent["post"] = rid()
    assert_error(server.request("POST", "/health", headers={"X-Request-ID": sent["post"]}), 405)
    sent["generated"] = server.get("/ready").headers["x-request-id"]
    sent["big"] = post_body(server.port, "/health", 2 * 1024 * 1024).status
    return sent


def test_health_line(server, used):
    line = one_line_for(server, used["health"])
    assert line["method"] == "GET"
    assert line["path"] == "/health"
    assert line["status"] == 200
    assert line["level"] == "info"
    assert line["user_id"] is None and line["workspace_id"] is None


def test_me_line_carries_user_and_workspace(server, used):
    line = one_line_for(server, used["me"])
    assert line["method"] == "GET"
    assert line["path"] == "/me"
    assert line["status"] == 200
    assert line["user_id"] == "log-user"
    assert line["workspace_id"] == "log-ws"


@pytest.mark.parametrize("key,status", [("me_expired", 403), ("me_bad", 403),
                                        ("me_anon", 401), ("missing", 404), ("post", 405)])
def test_refused_requests_are_logged_without_a_tenant(server, used, key, status):
    line = one_line_for(server, used[key])
    assert line["status"] == status
    assert line["user_id"] is None and line["workspace_id"] is None


def test_method_and_path_of_error_lines(server, used):
    assert one_line_for(server, used["missing"])["path"] == "/no/such/path"
    post = one_line_for(server, used["post"])
    assert (post["method"], post["path"]) == ("POST", "/health")


def test_generated_request_id_is_logged(server, used):
    assert re.match(r"^[0-9a-f-]{36}$", used["generated"])
    line = one_line_for(server, used["generated"])
    assert line["path"] == "/ready"


def test_every_stderr_line_is_json(server, used):
    text = server.stderr_text()
    lines = [l for l in text.splitlines() if l.strip()]
    assert lines
    bad = [l for l in lines if not l.startswith("{")]
    assert not bad, bad
    assert len(server.log_lines()) == len(lines)
    for l in server.log_lines():
        assert {"ts", "level"} <= set(l), l


def test_no_token_or_secret_in_output(server, used):
    text = server.stderr_text() + server.stdout_text()
    assert SECRET not in text
    for tok in used["tokens"]:
        assert tok not in text
        assert tok.split(".")[2] not in text  # not even the signature
        assert tok.split(".")[1] not in text  # nor the payload

