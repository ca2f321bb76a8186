"""Input hardening (issue 7, items 2, 11 and 14): one id rule for every id
that enters (body and form fields, id query values, path parameters, token
claims), no header injection into HTTP tools, NUL in a path id, and the small
mismatches (huge integers, non-UTF-8 forms, media types, unknown agents,
long names).

One service for the module, on SQLite, with one agent whose HTTP tool is a
local recorder (runs_support.ToolServer) and whose model is the scripted mock."""

from __future__ import annotations

import secrets
import socket

import httpx
import pytest

from conftest import assert_error, bearer, detail_text, launch, make_token, read_response
from runs_support import ToolServer, check_run_stream, write_agent, RunStream
from runs_fixtures import mock, tools  # noqa: F401 (pytest fixtures)
AGENT = "hard-1"
FORGED = "s1\r\nX-Workspace-Id: wb"


@pytest.fixture(scope="module")
def key():
    return f"sk-test-{secrets.token_hex(6)}"


@pytest.fixture(scope="module")
def srv(tmp_path_factory, mock, tools, key):
    tmp = tmp_path_factory.mktemp("hardening")
    agents = tmp / "agents"
    agents.mkdir()
    write_agent(agents, {
        "id": AGENT, "name": "Hardening agent", "instructions": ["Answer briefly."],
        "model": {"provider": "openai", "id": "mock-gpt", "base_url": f"{mock.url}/v1",
                  "api_key_env": "E2E_HARD_KEY"},
        "tools": [{"name": "lookup", "description": "Looks a word up.",
                   "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
                   "url": f"{tools.url}/lookup", "method": "POST", "timeout_ms": 5000}],
        "tool_call_limit": 2,
    })
    s = launch(tmp / "srv", env={"AGENTS_DIR": str(agents), "E2E_HARD_KEY": key,
                                 "RATE_LIMIT_PER_MINUTE": "0", "MODEL_MAX_RETRIES": "0"})
    yield s
    s.check_clean_exit()


@pytest.fixture
def ws():
    return f"ws-{secrets.token_hex(4)}"


@pytest.fixture
def h(ws):
    return bearer(make_token(sub="user-h", workspaceId=ws))


def post_run(srv, h, **body):
    return srv.request("POST", f"/agents/{AGENT}/runs", headers=h, json=body, timeout=20)


# ================================================================ item 2: header injection


def test_forged_session_id_never_reaches_a_tool(srv, mock, tools, key, ws, h):
    mock.script(key, [{"tool_calls": [{"name": "lookup", "arguments": {"q": "a"}}]},
                      {"text": "done"}])
    before = len(mock.requests(key))
    for stream in (False, True):
        r = post_run(srv, h, message="look it up", session_id=FORGED, stream=stream)
        body = assert_error(r, 422, "VALIDATION_ERROR")
        assert "session_id" in detail_text(body), body
    r = srv.request("POST", f"/agents/{AGENT}/runs", headers=h, timeout=20,
                    data={"message": "look it up", "session_id": FORGED, "stream": "false"})
    assert_error(r, 422, "VALIDATION_ERROR")
    for bad in ("s1\u0000x", "s1\nx", "s\u0085", "x" * 129):
        assert_error(post_run(srv, h, message="m", session_id=bad, stream=False), 422)
    # Nothing ran: no model request, no tool call, no forged workspace anywhere.
    assert len(mock.requests(key)) == before
    with tools.lock:
        seen = [c.headers for c in tools.calls]
    assert all(c.get("x-workspace-id") != "wb" for c in seen), seen

    # The same run with a clean id goes through, and the tool sees the caller's tenant.
    r = post_run(srv, h, message="look it up", session_id="s1", stream=False)
    assert r.status_code == 200, r.text
    run = r.json()
    calls = tools.calls_for(run["run_id"])
    assert len(calls) == 1, calls
    assert calls[0].headers.get("x-workspace-id") == ws, calls[0].headers
    assert calls[0].headers.get("x-session-id") == "s1", calls[0].headers


def test_bad_token_id_claims_are_invalid_tokens(srv):
    for claims in ({"sub": "u\r\nX-Workspace-Id: wb"}, {"workspaceId": "ws\r\nX-A: b"},
                   {"sub": "u\u0000v"}, {"workspaceId": "w" * 129}, {"sub": "u\u0007"}):
        r = srv.get("/me", headers=bearer(make_token(**claims)))
        assert_error(r, 403, "INVALID_TOKEN")
    assert srv.get("/me", headers=bearer(make_token(sub="u" * 128))).status_code == 200


# ================================================================ ids in bodies and queries


def test_session_ids_obey_the_rule_at_creation(srv, h):
    for bad in ("a" * 256, "a" * 129, "x\ny", "x\u0000y", "\u0001"):
        r = srv.request("POST", "/sessions", headers=h, json={"session_id": bad})
        assert_error(r, 422, "VALIDATION_ERROR")
    r = srv.request("POST", "/sessions", headers=h, json={"agent_id": "a\r\nb"})
    assert_error(r, 422, "VALIDATION_ERROR")
    # What can be created can be read back.
    longest = "L" * 128
    r = srv.request("POST", "/sessions", headers=h, json={"session_id": longest})
    assert r.status_code == 201, r.text
    r = srv.get(f"/sessions/{longest}", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["session_id"] == longest
    r = srv.request("DELETE", "/sessions", headers=h, json={"session_ids": ["ok", "a\nb"],
                                                           "session_types": ["agent", "agent"]})
    assert_error(r, 422, "VALIDATION_ERROR")


def test_id_query_values_obey_the_rule(srv, h):
    assert_error(srv.get(f"/agents/{AGENT}/runs?session_id=a%0D%0Ab", headers=h), 422)
    assert_error(srv.get(f"/agents/{AGENT}/runs?session_id=a%00b", headers=h), 422)
    assert_error(srv.get("/sessions?user_id=a%0Ab", headers=h), 422)
    assert_error(srv.get("/sessions?component_id=" + "c" * 129, headers=h), 422)
    assert srv.get(f"/agents/{AGENT}/runs?session_id=fine", headers=h).status_code == 200


# ================================================================ item 11: NUL in a path id


def test_nul_in_a_path_id_never_addresses_another(srv, h):
    r = srv.request("POST", "/sessions", headers=h,
                    json={"session_id": "victim", "session_name": "kept"})
    assert r.status_code == 201, r.text
    for bad in ("victim%00x", "victim%00", "victim%0Ax", "victim%0D%0Ax", "victim%01"):
        assert_error(srv.get(f"/sessions/{bad}", headers=h), 422, "VALIDATION_ERROR")
        assert_error(srv.get(f"/sessions/{bad}/runs", headers=h), 422)
        assert_error(srv.request("PATCH", f"/sessions/{bad}", headers=h,
                                 json={"session_name": "pwned"}), 422)
        assert_error(srv.request("POST", f"/sessions/{bad}/rename", headers=h,
                                 json={"session_name": "pwned"}), 422)
        assert_error(srv.request("DELETE", f"/sessions/{bad}", headers=h), 422)
    r = srv.get("/sessions/victim", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["session_name"] == "kept"
    # Agent and run ids in paths, likewise.
    assert_error(srv.request("POST", f"/agents/{AGENT}%00x/runs", headers=h,
                             json={"message": "m"}), 422)
    assert_error(srv.get(f"/agents/{AGENT}%00x/runs", headers=h), 422)
    assert_error(srv.get(f"/agents/{AGENT}%00x", headers=h), 422)
    assert_error(srv.get(f"/agents/{AGENT}/runs/r%00x", headers=h), 422)
    assert_error(srv.request("POST", f"/agents/{AGENT}/runs/r%0Ax/cancel", headers=h), 422)


def test_nul_in_a_path_id_on_the_raw_wire(srv, h):
    """Straight bytes, no client library between: h2o decodes %00 itself."""
    assert srv.request("POST", "/sessions", headers=h,
                       json={"session_id": "victim"}).status_code == 201
    auth = h["Authorization"]
    req = (f"DELETE /sessions/victim%00x HTTP/1.1\r\nHost: t\r\nAuthorization: {auth}\r\n"
           "Connection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(req)
        assert_error(read_response(s), 422)
    assert srv.get("/sessions/victim", headers=h).status_code == 200


# ================================================================ item 14: small mismatches


def test_huge_integer_is_a_bad_value_not_bad_json(srv, h):
    huge = '{"session_id": "n1", "metadata": {"n": 123456789012345678901234567890}}'
    r = srv.request("POST", "/sessions", headers={**h, "Content-Type": "application/json"},
                    content=huge)
    body = assert_error(r, 422, "VALIDATION_ERROR")
    assert "too large" in detail_text(body), body
    r = srv.request("POST", f"/agents/{AGENT}/runs", timeout=20,
                    headers={**h, "Content-Type": "application/json"},
                    content='{"message": "m", "n": 99999999999999999999999}')
    assert "too large" in detail_text(assert_error(r, 422))
    # Real syntax errors stay 400.
    r = srv.request("POST", "/sessions", headers={**h, "Content-Type": "application/json"},
                    content='{"session_id": ')
    assert_error(r, 400, "INVALID_JSON")


def test_non_utf8_form_message_is_invalid_not_missing(srv, h):
    ctype = {"Content-Type": "application/x-www-form-urlencoded"}
    r = srv.request("POST", f"/agents/{AGENT}/runs", headers={**h, **ctype}, timeout=20,
                    content=b"message=%FF%FEabc&stream=false")
    body = assert_error(r, 422, "VALIDATION_ERROR")
    assert "UTF-8" in detail_text(body) and "required" not in detail_text(body), body
    assert detail_text(body).startswith("message"), body
    boundary = "b0undary"
    parts = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\n"
             ).encode() + b"\xff\xfe" + f"\r\n--{boundary}--\r\n".encode()
    r = srv.request("POST", f"/agents/{AGENT}/runs", timeout=20, content=parts,
                    headers={**h, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    body = assert_error(r, 422, "VALIDATION_ERROR")
    assert "UTF-8" in detail_text(body), body


def test_media_type_is_matched_exactly(srv, mock, key, h):
    for ctype in ("application/jsonx", "application/json-patch+json",
                  "application/x-www-form-urlencodedx", "multipart/form-datax; boundary=b"):
        r = srv.request("POST", f"/agents/{AGENT}/runs", timeout=20,
                        headers={**h, "Content-Type": ctype},
                        content='{"message": "m", "stream": false}')
        assert_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    # With parameters, in any case, it is still JSON.
    mock.script(key, [{"text": "fine"}])
    r = srv.request("POST", f"/agents/{AGENT}/runs", timeout=20,
                    headers={**h, "Content-Type": "Application/JSON; charset=utf-8"},
                    content='{"message": "m", "stream": false}')
    assert r.status_code == 200, r.text


def test_unknown_agent_runs_is_404(srv, h):
    body = assert_error(srv.get("/agents/no-such-agent/runs", headers=h), 404, "NOT_FOUND")
    assert body["detail"] == "Agent not found"
    assert srv.get(f"/agents/{AGENT}/runs", headers=h).status_code == 200


def test_huge_model_reply_header_is_a_clear_error(srv, mock, key, h):
    mock.script(key, [{"text": "never seen", "headers": {"X-Big": "a" * (2 * 1024 * 1024)}}])
    r = post_run(srv, h, message="m", stream=False)
    # A failed run answers 200 with the run, status ERROR (as Agno does).
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ERROR", body
    assert "response headers too large" in body["content"], body
    assert "memory" not in body["content"].lower(), body


def test_long_name_claim_is_cut_not_refused(srv):
    name = "N" * 300
    r = srv.me(make_token(name=name, email="e" * 400 + "@example.com"))
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["name"] == name[:255], len(me["name"])
    assert len(me["email"].encode()) == 255
    # Cut at a character, never inside one: 200 two-byte characters -> 127.
    r = srv.me(make_token(name="é" * 200))
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "é" * 127
