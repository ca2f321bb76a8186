"""A model API key the service cannot put in a header (issue 9): one whose
environment value holds a control character. The run must end in RunError
naming the key's variable, never the key, and no request may reach the
model at all (the old code sent one with no auth header). A key that is
fine goes through the same path, so the test is not vacuous."""

from __future__ import annotations

import secrets

import pytest

from conftest import launch, make_token
from runs_support import RunStream, check_run_stream, write_agent
from runs_fixtures import mock  # noqa: F401 (pytest fixture)

GOOD_KEY = f"sk-test-good-{secrets.token_hex(4)}"
# A BEL inside, and a line break that would end the header and start another.
BAD_KEYS = {"K_BELL": "sk-test-bell\x07" + secrets.token_hex(4),
            "K_CRLF": "sk-test-crlf\r\nX-Injected: " + secrets.token_hex(4)}


@pytest.fixture(scope="module")
def srv(mock, tmp_path_factory):  # noqa: F811 (the fixture above)
    tmp = tmp_path_factory.mktemp("model-keys")
    agents = tmp / "agents"
    agents.mkdir()
    base = f"{mock.url}/v1"
    for provider in ("openai", "anthropic"):
        write_agent(agents, {"id": f"good-{provider}", "name": "good",
                             "model": {"provider": provider, "id": "m", "base_url": base,
                                       "api_key_env": "K_GOOD"}})
        for var in BAD_KEYS:
            write_agent(agents, {"id": f"bad-{var.lower()}-{provider}", "name": "bad",
                                 "model": {"provider": provider, "id": "m", "base_url": base,
                                           "api_key_env": var}})
    env = {"AGENTS_DIR": str(agents), "K_GOOD": GOOD_KEY, "RATE_LIMIT_PER_MINUTE": "0",
           "MODEL_MAX_RETRIES": "0", **BAD_KEYS}
    s = launch(tmp, env=env)
    yield s
    s.check_clean_exit()  # exit 0, and no sanitizer report


def run(srv, agent_id: str) -> dict:
    ws = f"ws-{secrets.token_hex(4)}"
    token = make_token(sub=f"user-{ws}", workspaceId=ws)
    rs = RunStream(srv.base_url, agent_id, token, json_body={"message": "hello"})
    try:
        assert rs.status_code == 200, rs.body()
        frames = rs.read_all()
    finally:
        rs.close()
    return check_run_stream(frames)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_good_key_reaches_the_model(srv, mock, provider):  # noqa: F811
    mock.script(GOOD_KEY, [{"text": f"hi from {provider}"}])
    before = len(mock.requests(GOOD_KEY))
    end = run(srv, f"good-{provider}")
    assert end["event"] == "RunCompleted", end
    assert end["content"] == f"hi from {provider}"
    assert len(mock.requests(GOOD_KEY)) == before + 1


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("var", sorted(BAD_KEYS))
def test_a_key_with_a_control_character_is_a_run_error_and_no_call(srv, mock, provider,
                                                                   var):  # noqa: F811
    end = run(srv, f"bad-{var.lower()}-{provider}")
    assert end["event"] == "RunError", end
    text = end["content"]
    assert "control character" in text and var in text, text
    key = BAD_KEYS[var]
    for part in (key, key.split("\x07")[-1], key.split(": ")[-1]):
        assert part not in text, text  # never the key, nor any piece of it
    # Nothing without auth (logged under ""), nor under any key.
    assert mock.requests("") == [], mock.requests("")
    for k in (key, key.strip(), key.split("\r")[0], key.split("\x07")[0]):
        assert mock.requests(k) == [], k
