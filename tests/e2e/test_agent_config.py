"""Issue 10, items 4 and 5: agents fail fast on their model configuration,
and take the Agno keys they document.

- A missing model key is a warning at start naming the agent and the
  variable (before: an Anthropic agent started silently), and a run of the
  agent ends at once in RunError "model key missing" (before: the first run
  found a missing OPENAI_API_KEY after three retries). AGENTS_REQUIRE_KEYS=true
  stops start-up instead. A local model server needs no key.
- add_datetime_to_context, expected_output and additional_context reach the
  model's system message as Agno writes them; retries bounds the model
  call's retries.
- GET and DELETE HTTP tools send the arguments as query parameters.
- Agno keys we do not implement are "not supported", not "unknown key"."""

from __future__ import annotations

import datetime
import re
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import launch, make_token, run_to_exit
from runs_support import RunStream, check_run_stream, tool_results, write_agent
from runs_fixtures import mock, tools  # noqa: F401 (pytest fixtures)

KEY = f"sk-test-config-{secrets.token_hex(4)}"
KEYLESS = {"OPENAI_API_KEY": None, "ANTHROPIC_API_KEY": None, "OPENAI_BASE_URL": None,
           "ANTHROPIC_BASE_URL": None, "AGENTS_REQUIRE_KEYS": None}


def keyless_agents(directory):
    directory.mkdir(exist_ok=True)
    # The defaults: api.openai.com and api.anthropic.com, no key set.
    write_agent(directory, {"id": "no-key-openai", "model": {"provider": "openai", "id": "gpt"}})
    write_agent(directory, {"id": "no-key-claude",
                            "model": {"provider": "anthropic", "id": "claude"}})
    # Local servers need none.
    write_agent(directory, {"id": "local-ollama", "model": {"provider": "ollama", "id": "llama"}})
    write_agent(directory, {"id": "local-vllm",
                            "model": {"provider": "openai", "id": "q",
                                      "base_url": "http://127.0.0.1:9/v1"}})
    return directory


def run(srv, agent_id: str, message: str = "hello"):
    ws = f"ws-{secrets.token_hex(4)}"
    token = make_token(sub=f"user-{ws}", workspaceId=ws)
    rs = RunStream(srv.base_url, agent_id, token, json_body={"message": message})
    try:
        assert rs.status_code == 200, rs.body()
        frames = rs.read_all()
    finally:
        rs.close()
    return frames, check_run_stream(frames)


# ================================================================ missing keys


@pytest.fixture(scope="module")
def keyless(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("keyless")
    agents = keyless_agents(tmp / "agents")
    # The old default of three retries, with a back-off that would show.
    s = launch(tmp, env={**KEYLESS, "AGENTS_DIR": str(agents), "MODEL_MAX_RETRIES": "3",
                         "MODEL_RETRY_BASE_MS": "500", "RATE_LIMIT_PER_MINUTE": "0"})
    yield s
    s.check_clean_exit()


def test_a_missing_key_is_a_warning_at_start(keyless):
    text = keyless.stderr_text()
    warns = [l for l in keyless.log_lines() if l.get("level") == "warn"
             and "model key missing" in l.get("msg", "")]
    by_agent = {l.get("agent_id"): l for l in warns}
    assert set(by_agent) == {"no-key-openai", "no-key-claude"}, text
    assert by_agent["no-key-openai"]["variable"] == "OPENAI_API_KEY"
    assert by_agent["no-key-claude"]["variable"] == "ANTHROPIC_API_KEY"
    for agent_id, l in by_agent.items():
        assert agent_id in l["msg"] and l["variable"] in l["msg"], l


@pytest.mark.parametrize("agent_id,var", [("no-key-openai", "OPENAI_API_KEY"),
                                          ("no-key-claude", "ANTHROPIC_API_KEY")])
def test_a_run_without_its_key_fails_at_once(keyless, agent_id, var):
    frames, end = run(keyless, agent_id)
    assert end["event"] == "RunError", end
    assert "model key missing" in end["content"] and var in end["content"], end
    assert end.get("error_type") == "model_provider_error", end
    # No model call was made, let alone retried (the old code tried three
    # times and ended in "could not reach the model"); no wall-clock window.
    assert "ModelRequestStarted" not in [f.event for f in frames], frames


def test_agents_require_keys_stops_start(tmp_path):
    agents = keyless_agents(tmp_path / "agents")
    r = run_to_exit(tmp_path, env={**KEYLESS, "AGENTS_DIR": str(agents),
                                   "AGENTS_REQUIRE_KEYS": "true"})
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "model key missing" in r.stderr, r.stderr
    assert re.search(r"agent no-key-(openai|claude)", r.stderr), r.stderr
    assert re.search(r"(OPENAI|ANTHROPIC)_API_KEY", r.stderr), r.stderr

    r = run_to_exit(tmp_path, env={**KEYLESS, "AGENTS_DIR": str(agents),
                                   "AGENTS_REQUIRE_KEYS": "maybe"})
    assert r.returncode == 2 and "AGENTS_REQUIRE_KEYS must be true or false" in r.stderr, r.stderr


def test_agents_require_keys_starts_when_every_key_is_there(tmp_path):
    agents = keyless_agents(tmp_path / "agents")
    s = launch(tmp_path, env={**KEYLESS, "AGENTS_DIR": str(agents), "AGENTS_REQUIRE_KEYS": "true",
                              "OPENAI_API_KEY": "sk-test-x", "ANTHROPIC_API_KEY": "sk-test-y"})
    try:
        assert "model key missing" not in s.stderr_text()
    finally:
        s.check_clean_exit()


def test_keys_in_the_env_file_reach_the_agents(tmp_path):
    """A key in .env counts as set (it was read only for the service's own
    settings, so the agents never saw it)."""
    agents = keyless_agents(tmp_path / "agents")
    dotenv = tmp_path / "keys.env"
    dotenv.write_text("OPENAI_API_KEY=sk-test-from-env-file\nANTHROPIC_API_KEY=sk-test-y\n")
    s = launch(tmp_path, env={**KEYLESS, "AGENTS_DIR": str(agents), "AGENTS_REQUIRE_KEYS": "true",
                              "AGENTOS_ENV_FILE": str(dotenv)})
    try:
        assert "model key missing" not in s.stderr_text()
    finally:
        s.check_clean_exit()


# ================================================================ the system message, retries


@pytest.fixture(scope="module")
def srv(mock, tools, tmp_path_factory):  # noqa: F811 (the fixtures above)
    tmp = tmp_path_factory.mktemp("agent-config")
    agents = tmp / "agents"
    agents.mkdir()
    base = f"{mock.url}/v1"
    for provider in ("openai", "anthropic"):
        write_agent(agents, {
            "id": f"context-{provider}", "instructions": "Be brief.",
            "add_datetime_to_context": True,
            "expected_output": "  A list of three items.  ",
            "additional_context": "The customer is ACME.",
            "model": {"provider": provider, "id": "m", "base_url": base, "api_key_env": "K"}})
    write_agent(agents, {"id": "plain", "instructions": "Be brief.",
                         "model": {"id": "m", "base_url": base, "api_key_env": "K"}})
    write_agent(agents, {"id": "no-retries", "retries": 0,
                         "model": {"id": "m", "base_url": base, "api_key_env": "K"}})
    write_agent(agents, {"id": "two-retries", "retries": 2,
                         "model": {"id": "m", "base_url": base, "api_key_env": "K"}})
    write_agent(agents, {
        "id": "query-tools",
        "model": {"id": "m", "base_url": base, "api_key_env": "K"},
        "tools": [
            {"name": "find", "description": "Find records", "url": f"{tools.url}/find?fixed=1",
             "method": "GET"},
            {"name": "drop", "description": "Drop a record", "url": f"{tools.url}/drop",
             "method": "delete", "headers": {"X-Api-Token": "t-1"}},
        ]})
    env = {"AGENTS_DIR": str(agents), "K": KEY, "RATE_LIMIT_PER_MINUTE": "0",
           "MODEL_MAX_RETRIES": "3", "MODEL_RETRY_BASE_MS": "10"}
    s = launch(tmp, env=env)
    yield s
    s.check_clean_exit()


def system_text(record: dict) -> str:
    body = record["body"]
    if record["api"] == "anthropic":
        sys = body.get("system")
        return sys if isinstance(sys, str) else "".join(b.get("text", "") for b in sys or [])
    return "".join(m["content"] for m in body["messages"] if m["role"] == "system")


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_the_system_message_carries_the_context(srv, mock, provider):  # noqa: F811
    mock.script(KEY, [{"text": "1. a 2. b 3. c"}])
    before = len(mock.requests(KEY))
    _, end = run(srv, f"context-{provider}")
    assert end["event"] == "RunCompleted", end
    text = system_text(mock.requests(KEY)[before])
    m = re.fullmatch(r"Be brief\.\n\n<additional_information>\n- The current time is "
                     r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{6})?)\.\n</additional_information>"
                     r"\n\n<expected_output>\nA list of three items\.\n</expected_output>\n\n"
                     r"The customer is ACME\.", text)
    assert m, text
    # Agno's str(datetime.now()): the server's local time (the same zone as ours).
    sent = datetime.datetime.fromisoformat(m.group(1))
    assert abs((datetime.datetime.now() - sent).total_seconds()) < 60, (sent, text)


def test_without_the_new_keys_the_system_message_is_the_instructions(srv, mock):  # noqa: F811
    mock.script(KEY, [{"text": "ok"}])
    before = len(mock.requests(KEY))
    _, end = run(srv, "plain")
    assert end["event"] == "RunCompleted", end
    assert system_text(mock.requests(KEY)[before]) == "Be brief."


@pytest.mark.parametrize("agent_id,calls", [("no-retries", 1), ("two-retries", 3)])
def test_retries_bound_the_model_calls(srv, mock, agent_id, calls):  # noqa: F811
    # MODEL_MAX_RETRIES is 3 here: the agent's retries win.
    mock.script(KEY, [{"status": 503}] * 5)
    before = len(mock.requests(KEY))
    _, end = run(srv, agent_id)
    assert end["event"] == "RunError", end
    time.sleep(0.2)  # nothing more goes out
    assert len(mock.requests(KEY)) - before == calls
    mock.script(KEY, [])


# ================================================================ GET and DELETE tools


def tool_run(srv, mock, tools, call: dict):  # noqa: F811
    mock.script(KEY, [{"tool_calls": [call]}, {"text": "done"}])
    before = len(mock.requests(KEY))
    frames, end = run(srv, "query-tools")
    assert end["event"] == "RunCompleted", end
    reqs = mock.requests(KEY)[before:]
    assert len(reqs) == 2, reqs
    return frames[0].data["run_id"], tool_results(reqs[1])


def test_a_get_tool_sends_the_arguments_as_query_parameters(srv, mock, tools):  # noqa: F811
    args = {"q": "a b&c=d/é", "n": 3, "ratio": 1.5, "flag": True, "tags": ["x", "y z"],
            "none": None, "filter": {"k": "v"}}
    run_id, results = tool_run(srv, mock, tools, {"name": "find", "arguments": args})
    calls = tools.calls_for(run_id)
    assert len(calls) == 1, calls
    c = calls[0]
    assert c.path == "GET /find", c
    assert c.body is None, c
    assert c.query == {"fixed": ["1"], "q": ["a b&c=d/é"], "n": ["3"], "ratio": ["1.5"],
                       "flag": ["true"], "tags": ["x", "y z"], "filter": ['{"k":"v"}']}, c.query
    assert c.headers.get("x-workspace-id", "").startswith("ws-"), c.headers
    assert "application/json" not in c.headers.get("content-type", ""), c.headers
    assert list(results.values()) == ['{"found": "find:None", "workspace": '
                                      f'"{c.headers["x-workspace-id"]}", "user": '
                                      f'"{c.headers["x-user-id"]}"}}'], results


def test_a_delete_tool_sends_the_arguments_as_query_parameters(srv, mock, tools):  # noqa: F811
    run_id, _ = tool_run(srv, mock, tools, {"name": "drop", "arguments": {"id": "r-1"}})
    calls = tools.calls_for(run_id)
    assert len(calls) == 1, calls
    c = calls[0]
    assert c.path == "DELETE /drop" and c.query == {"id": ["r-1"]}, c
    assert c.body is None and c.headers.get("x-api-token") == "t-1", c
    assert "content-type" not in c.headers, c.headers


def test_a_query_past_its_bound_is_a_tool_error_the_model_reads(srv, mock, tools):  # noqa: F811
    run_id, results = tool_run(srv, mock, tools, {"name": "find", "arguments": {"q": "x" * 9000}})
    assert tools.calls_for(run_id) == []
    (text,) = results.values()
    assert text.startswith("Error: the arguments do not fit in the tool's URL"), text


# ================================================================ Agno's other keys


@pytest.mark.parametrize("key,value", [("markdown", True), ("debug_mode", True),
                                       ("timezone_identifier", "UTC"), ("knowledge", "x")])
def test_agno_keys_we_do_not_implement_are_not_supported(tmp_path, key, value):
    agents = tmp_path / "agents"
    agents.mkdir()
    write_agent(agents, {"id": "agno", key: value,
                         "model": {"id": "m", "base_url": "http://127.0.0.1:9/v1"}})
    r = run_to_exit(tmp_path, env={"AGENTS_DIR": str(agents)})
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert f"'{key}' is not supported" in r.stderr and "unknown key" not in r.stderr, r.stderr


# ================================================================ the reference


def test_docs_agents_md_lists_every_key_and_built_in_tool():
    repo = Path(__file__).resolve().parents[2]
    doc = (repo / "docs" / "agents.md").read_text()
    registry_c = (repo / "src/agent/registry.c").read_text()
    top = re.findall(r'\{"(\w+)", (?:registry_)?f_\w+\}', registry_c)
    tools_c = (repo / "src/agent/registry_tools.c").read_text()
    sub = re.findall(r'!strcmp\(key, "(\w+)"\)', tools_c)
    builtins = re.findall(r'^    \{"(\w+)",$', (repo / "src/agent/tools_builtin.c").read_text(),
                          re.M)
    assert len(top) >= 18 and len(sub) >= 10 and len(builtins) >= 4, (top, sub, builtins)
    missing = [k for k in [*top, *sub, *builtins] if f"`{k}`" not in doc]
    assert missing == [], missing
