"""Agent runs, black-box (issue 4): agents from YAML, the runs routes, SSE
events, tools (built-in and a real local HTTP tool), history, cancelling,
provider failures, concurrency, back-pressure, interrupted runs and drain.

The model is tests/support/mock_model.py, started once for the module. Each
test takes a "slot": an OpenAI-kind and an Anthropic-kind agent whose API key
("sk-test-<random>-<n>", from the agent's api_key_env) is the test's own, so
scripts and request logs never mix. One service is shared by most tests; the
ones that need other settings (one run per workspace, a 4 KiB SSE buffer, a
kill, a SIGTERM) start their own on the same agents."""

from __future__ import annotations

import concurrent.futures
import itertools
import json
import re
import secrets
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conftest import UUID_RE, assert_error, bearer, free_port, launch, make_token, wait_until
from runs_support import (MockModel, RunStream, ToolServer, assistant_tool_calls, check_run_stream,
                          content_of, conversation, tool_names, tool_results, wait_runs_settled,
                          write_agent)
from runs_fixtures import mock, tools  # noqa: F401 (pytest fixtures)
NSLOTS = 60          # per-test agent pairs
NCONCURRENT = 50     # agents for the concurrency test
TOOL_DELAY_MS = 600  # the "lookup" HTTP tool's answer delay
TOOL_TOKEN = "tool-token-" + secrets.token_hex(8)
RUN_KEYS = {"run_id", "agent_id", "agent_name", "session_id", "user_id", "content",
            "content_type", "model", "model_provider", "created_at", "status", "metrics",
            "messages", "input"}
METRIC_KEYS = {"input_tokens", "output_tokens", "total_tokens", "time_to_first_token",
               "duration"}

PROVIDERS = ["openai", "anthropic"]
MODEL_IDS = {"openai": "mock-gpt", "anthropic": "mock-claude"}
# As Agno spells them in events and run objects.
PROVIDER_NAMES = {"openai": "OpenAI", "anthropic": "Anthropic"}


# ================================================================ agents and the stack


def lookup_tool(tools_url: str) -> dict:
    return {
        "name": "lookup",
        "description": "Looks a word up in the workspace's records.",
        "parameters": {"type": "object",
                       "properties": {"q": {"type": "string", "description": "the word"}},
                       "required": ["q"]},
        "url": f"{tools_url}/lookup?delay_ms={TOOL_DELAY_MS}",
        "method": "POST",
        "headers": {"X-Api-Token": {"env": "E2E_TOOL_TOKEN"}},
        "timeout_ms": 5000,
    }


def broken_tool(tools_url: str) -> dict:
    return {
        "name": "broken",
        "description": "A tool whose service answers 500.",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        "url": f"{tools_url}/broken?status=500",
        "timeout_ms": 3000,
    }


def agent_doc(agent_id: str, provider: str, base_url: str, key_env: str, tools: list,
              **extra) -> dict:
    doc = {
        "id": agent_id,
        "name": f"Agent {agent_id}",
        "description": f"An e2e {provider} agent",
        "instructions": ["You are a test agent.", "Answer briefly."],
        "model": {"provider": provider, "id": MODEL_IDS[provider], "base_url": base_url,
                  "api_key_env": key_env},
        "tools": tools,
        "add_history_to_context": True,
        "num_history_runs": 2,
        "tool_call_limit": 4,
    }
    doc.update(extra)
    return doc


@dataclass
class Agent:
    id: str
    provider: str
    key: str
    stack: "Stack"

    def script(self, *steps: dict) -> None:
        self.stack.mock.script(self.key, list(steps))

    def model_requests(self, n: int | None = None, timeout: float = 5.0) -> list[dict]:
        if n is None:
            return self.stack.mock.requests(self.key)
        return self.stack.mock.wait_requests(self.key, n, timeout)


@dataclass
class User:
    sub: str
    ws: str

    @property
    def token(self) -> str:
        return make_token(sub=self.sub, workspaceId=self.ws)

    @property
    def h(self) -> dict:
        return bearer(self.token)


def new_user(ws: str | None = None) -> User:
    tag = secrets.token_hex(4)
    return User(f"user-{tag}", ws or f"ws-{tag}")


class Stack:
    """The mock model, the tool server, the agents directory and the env a
    service needs to use them."""

    def __init__(self, tmp: Path, mock: MockModel, tools: ToolServer):
        self.tmp = tmp
        self.mock = mock
        self.tools = tools
        self.agents_dir = tmp / "agents"
        self.agents_dir.mkdir()
        tag = secrets.token_hex(6)
        self.env: dict[str, str] = {"AGENTS_DIR": str(self.agents_dir),
                                    "E2E_TOOL_TOKEN": TOOL_TOKEN,
                                    "RATE_LIMIT_PER_MINUTE": "0",
                                    "SHUTDOWN_GRACE_SECONDS": "5"}
        self.keys: list[str] = []
        model_url = f"{mock.url}/v1"
        tools_all = ["current_time", "calculator", lookup_tool(tools.url), broken_tool(tools.url)]
        for i in range(NSLOTS):
            key, env = f"sk-test-{tag}-{i}", f"E2E_MODEL_KEY_{i}"
            self.env[env] = key
            self.keys.append(key)
            write_agent(self.agents_dir, agent_doc(f"oa-{i}", "openai", model_url, env, tools_all))
            write_agent(self.agents_dir, agent_doc(f"an-{i}", "anthropic", model_url, env, tools_all))
        for i in range(NCONCURRENT):
            key, env = f"sk-test-{tag}-c{i}", f"E2E_MODEL_KEY_C{i}"
            self.env[env] = key
            self.keys.append(key)
            write_agent(self.agents_dir, agent_doc(f"c-{i}", "openai", model_url, env, [],
                                                   add_history_to_context=False))
        # Nothing listens here: a connect is refused.
        dead = f"http://127.0.0.1:{free_port()}/v1"
        self.env["E2E_MODEL_KEY_DEAD"] = f"sk-test-{tag}-dead"
        for p in PROVIDERS:
            write_agent(self.agents_dir, agent_doc(f"dead-{p}", p, dead, "E2E_MODEL_KEY_DEAD", []))
        self._slots = itertools.count()

    def slot(self) -> int:
        i = next(self._slots)
        if i >= NSLOTS:
            raise AssertionError(f"more than NSLOTS={NSLOTS} slots taken: raise NSLOTS")
        return i

    def agent(self, provider: str) -> Agent:
        i = self.slot()
        prefix = "oa" if provider == "openai" else "an"
        return Agent(f"{prefix}-{i}", provider, self.keys[i], self)

    def concurrent_agent(self, i: int) -> Agent:
        return Agent(f"c-{i}", "openai", self.keys[NSLOTS + i], self)

    def server_env(self, **overrides) -> dict:
        return {**self.env, **{k: str(v) for k, v in overrides.items()}}


# Settings of the shared service: quick retries, a short stall timeout, pings,
# and the Prometheus counters open (tests wait on agentos_runs_in_flight).
SHARED = {"MODEL_MAX_RETRIES": 1, "MODEL_RETRY_BASE_MS": 50, "MODEL_STALL_TIMEOUT_SECONDS": 2,
          "MODEL_CONNECT_TIMEOUT_SECONDS": 2, "SSE_PING_SECONDS": 1, "METRICS_PUBLIC": "true"}
# How long a test waits for something that takes milliseconds (a row, a
# stream's end): far above what the ASan build needs on a loaded machine.
WAIT_S = 10.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory, mock, tools) -> Stack:
    return Stack(tmp_path_factory.mktemp("runs"), mock, tools)


@pytest.fixture(scope="module")
def srv(stack, tmp_path_factory):
    """The shared service."""
    s = launch(tmp_path_factory.mktemp("shared"), env=stack.server_env(**SHARED))
    yield s
    s.check_clean_exit()
    out = s.stderr_text() + s.stdout_text()
    leaked = [k for k in stack.keys if k in out] + ([TOOL_TOKEN] if TOOL_TOKEN in out else [])
    assert not leaked, f"model keys or tool header values in the service's output: {leaked[:3]}"


@pytest.fixture(scope="module")
def tight(stack, tmp_path_factory):
    """A service with one run per workspace and a 4 KiB SSE buffer."""
    s = launch(tmp_path_factory.mktemp("tight"),
               env=stack.server_env(**SHARED, MAX_CONCURRENT_RUNS_PER_WORKSPACE=1,
                                    SSE_MAX_BUFFER_BYTES=4096))
    yield s
    s.check_clean_exit()


@pytest.fixture(params=PROVIDERS)
def agent(request, stack) -> Agent:
    return stack.agent(request.param)


@pytest.fixture
def oa(stack) -> Agent:
    return stack.agent("openai")


@pytest.fixture
def user() -> User:
    return new_user()


# ================================================================ helpers


def stream(server, agent: Agent | str, user: User | None, message: str = "hello", **fields):
    aid = agent.id if isinstance(agent, Agent) else agent
    body = {"message": message, **fields}
    return RunStream(server.base_url, aid, user.token if user else None, json_body=body)


def run_sync(server, agent: Agent | str, user: User, message: str = "hello", **fields):
    aid = agent.id if isinstance(agent, Agent) else agent
    return server.request("POST", f"/agents/{aid}/runs", headers=user.h,
                          json={"message": message, "stream": False, **fields}, timeout=20)


def get_run(server, agent: Agent | str, user: User, run_id: str) -> httpx.Response:
    aid = agent.id if isinstance(agent, Agent) else agent
    return server.get(f"/agents/{aid}/runs/{run_id}", headers=user.h)


def wait_status(server, agent, user, run_id, statuses, timeout=WAIT_S) -> dict:
    def check():
        r = get_run(server, agent, user, run_id)
        if r.status_code == 200 and r.json()["status"] in statuses:
            return r.json()
        return None
    return wait_until(check, timeout, 0.05, what=f"run {run_id} in {statuses}")


def cancel(server, agent, user, run_id) -> httpx.Response:
    aid = agent.id if isinstance(agent, Agent) else agent
    return server.request("POST", f"/agents/{aid}/runs/{run_id}/cancel", headers=user.h)


def words(n: int, prefix: str = "w") -> str:
    return " ".join(f"{prefix}{i}" for i in range(n))


def check_metrics(m: dict, tin: int | None = None, tout: int | None = None) -> None:
    assert METRIC_KEYS <= set(m), m
    assert m["total_tokens"] == m["input_tokens"] + m["output_tokens"], m
    if tin is not None:
        assert (m["input_tokens"], m["output_tokens"]) == (tin, tout), m
    assert isinstance(m["duration"], (int, float)) and m["duration"] >= 0, m
    assert isinstance(m["time_to_first_token"], (int, float)), m
    assert 0 <= m["time_to_first_token"] <= m["duration"] + 1e-6, m


# ================================================================ agents, models


def test_agents_list_and_get(srv, stack, tools):
    h = bearer(make_token())
    r = srv.get("/agents", headers=h)
    assert r.status_code == 200, r.text
    listed = {a["id"]: a for a in r.json()}
    assert {"oa-0", "an-0", "c-0", "dead-openai"} <= set(listed), sorted(listed)[:10]
    for aid, provider in (("oa-0", "openai"), ("an-0", "anthropic")):
        one = srv.get(f"/agents/{aid}", headers=h)
        assert one.status_code == 200, one.text
        a = one.json()
        assert a == listed[aid]
        assert a["id"] == aid and a["name"] == f"Agent {aid}"
        assert a["description"] == f"An e2e {provider} agent"
        assert a["model"] == {"name": {"openai": "OpenAIChat", "anthropic": "Claude"}[provider],
                              "model": MODEL_IDS[provider],
                              "provider": {"openai": "OpenAI", "anthropic": "Anthropic"}[provider]}, a["model"]
        assert a["is_factory"] is False and a["tools"]["tool_call_limit"] > 0, a
        assert a["sessions"] == {"session_table": "sessions", "add_history_to_context": True,
                                 "num_history_runs": 2}
        tl = a["tools"]["tools"]
        assert [t["name"] for t in tl] == ["current_time", "calculator", "lookup", "broken"], tl
        for t in tl:
            assert isinstance(t["description"], str) and t["description"], t
            assert t["parameters"]["type"] == "object", t
        lookup = tl[2]
        assert lookup["description"] == "Looks a word up in the workspace's records."
        assert lookup["parameters"]["properties"]["q"]["type"] == "string"
        assert lookup["parameters"]["required"] == ["q"]
        # Where the tool lives and its header values are not the client's business.
        assert tools.url not in one.text and TOOL_TOKEN not in one.text
        assert "sk-test-" not in one.text
    # A token without a workspace may read the agents.
    assert srv.get("/agents", headers=bearer(make_token(workspaceId=None))).status_code == 200


def test_agent_not_found_and_auth(srv):
    body = assert_error(srv.get("/agents/no-such-agent", headers=bearer(make_token())), 404)
    assert body["detail"] == "Agent not found"
    assert_error(srv.get("/agents"), 401)
    assert_error(srv.get("/agents/oa-0"), 401)
    assert_error(srv.get("/agents", headers=bearer("not.a.token")), 403)
    assert_error(srv.get("/models"), 401)


def test_models(srv):
    r = srv.get("/models", headers=bearer(make_token()))
    assert r.status_code == 200, r.text
    models = r.json()
    assert {"id": "mock-gpt", "provider": "openai"} in models, models
    assert {"id": "mock-claude", "provider": "anthropic"} in models, models
    assert len(models) == len({(m["id"], m["provider"]) for m in models}), models


# ================================================================ a streamed run with tools


def test_streamed_run_with_two_parallel_http_tool_calls(srv, agent, user, tools):
    agent.script(
        {"tool_calls": [{"name": "lookup", "arguments": {"q": "alpha"}},
                        {"name": "lookup", "arguments": {"q": "beta"}}],
         "fragment_chars": 3, "usage": {"input_tokens": 21, "output_tokens": 4}},
        {"text": "Alpha and beta are both in the records.",
         "usage": {"input_tokens": 40, "output_tokens": 9}},
    )
    # stream defaults to true
    with RunStream(srv.base_url, agent.id, user.token, json_body={"message": "find them"}) as rs:
        assert rs.status_code == 200, rs.body()
        assert rs.resp.headers["content-type"].startswith("text/event-stream")
        frames = rs.read_all()
    end = check_run_stream(frames, "RunCompleted")
    names = [f.event for f in frames]
    run_id = frames[0].data["run_id"]
    started = frames[0].data
    assert started["agent_id"] == agent.id and started["agent_name"] == f"Agent {agent.id}"
    assert started["model"] == MODEL_IDS[agent.provider], started
    assert started["model_provider"] == PROVIDER_NAMES[agent.provider], started
    assert re.match(UUID_RE, run_id) and re.match(UUID_RE, started["session_id"]), started

    # Both calls start before either completes.
    tool_events = [n for n in names if n.startswith("ToolCall")]
    assert tool_events == ["ToolCallStarted", "ToolCallStarted", "ToolCallCompleted",
                           "ToolCallCompleted"], names
    assert names.index("ToolCallCompleted") < names.index("RunContent"), names
    starts = [f for f in frames if f.event == "ToolCallStarted"]
    dones = [f for f in frames if f.event == "ToolCallCompleted"]
    assert sorted(f.data["tool"]["tool_args"]["q"] for f in starts) == ["alpha", "beta"], starts
    ids = {f.data["tool"]["tool_call_id"] for f in starts}
    assert len(ids) == 2 and all(ids), starts
    for f in starts:
        assert f.data["tool"]["tool_name"] == "lookup", f.data
    for f in dones:
        t = f.data["tool"]
        assert t["tool_call_id"] in ids and t["tool_name"] == "lookup", t
        q = t["tool_args"]["q"]
        assert f"lookup:{q}" in t["result"], t
        assert t["tool_call_error"] is False, t
        m = t["metrics"]
        assert m["end_time"] >= m["start_time"], m
        assert m["duration"] >= TOOL_DELAY_MS / 1000 - 0.05, m

    # The tool server saw both, overlapping, with the caller's tenant.
    calls = tools.calls_for(run_id)
    assert len(calls) == 2, calls
    # Concurrent, not one after the other: the second call arrived before
    # the first was answered (calls in turn could never overlap).
    assert max(c.start for c in calls) < min(c.end for c in calls), calls
    assert sorted(c.body["q"] for c in calls) == ["alpha", "beta"]
    for c in calls:
        assert c.path == "POST /lookup", c
        assert c.headers.get("x-workspace-id") == user.ws, c.headers
        assert c.headers.get("x-user-id") == user.sub, c.headers
        assert c.headers.get("x-api-token") == TOOL_TOKEN, c.headers
        assert c.headers.get("content-type", "").startswith("application/json"), c.headers

    # The results went back to the model.
    reqs = agent.model_requests()
    assert len(reqs) == 2, reqs
    first, second = reqs
    assert first["body"].get("stream") is True, first["body"]
    assert first["body"]["model"] == MODEL_IDS[agent.provider]
    assert {"current_time", "calculator", "lookup", "broken"} <= set(tool_names(first))
    if agent.provider == "openai":
        assert first["body"].get("stream_options", {}).get("include_usage") is True
        assert first["headers"].get("authorization") == f"Bearer {agent.key}"
        assert first["path"].endswith("/v1/chat/completions"), first["path"]
    else:
        assert first["headers"].get("x-api-key") == agent.key
        assert first["headers"].get("anthropic-version"), first["headers"]
        assert first["path"].endswith("/v1/messages"), first["path"]
    replayed = assistant_tool_calls(second)
    assert set(replayed) == ids, (replayed, ids)
    assert sorted(a["q"] for _, a in replayed.values()) == ["alpha", "beta"]
    results = tool_results(second)
    assert set(results) == ids, results
    by_id = {f.data["tool"]["tool_call_id"]: f.data["tool"]["tool_args"]["q"] for f in starts}
    for tid, text in results.items():
        assert f"lookup:{by_id[tid]}" in text, (tid, text)

    # The answer, streamed and whole.
    assert content_of(frames) == "Alpha and beta are both in the records."
    assert names.count("RunContent") >= 2, names
    assert end["content"] == "Alpha and beta are both in the records."
    check_metrics(end["metrics"], 61, 13)
    assert end["metrics"]["duration"] >= TOOL_DELAY_MS / 1000 - 0.05

    # And the row.
    row = wait_status(srv, agent, user, run_id, ("COMPLETED",))
    assert row["content"] == end["content"]
    assert row["user_id"] == user.sub
    assert (row["metrics"]["input_tokens"], row["metrics"]["output_tokens"]) == (61, 13)
    assert len(row["tools"]) == 2, row["tools"]


def test_builtin_tools(srv, agent, user):
    agent.script(
        {"tool_calls": [{"name": "calculator", "arguments": {"expression": "(2+3)*4"}},
                        {"name": "current_time", "arguments": {}}]},
        {"text": "It is 20."},
    )
    frames = stream(srv, agent, user, "what is (2+3)*4 and the time?").read_all()
    end = check_run_stream(frames, "RunCompleted")
    done = {f.data["tool"]["tool_name"]: f.data["tool"] for f in frames
            if f.event == "ToolCallCompleted"}
    assert set(done) == {"calculator", "current_time"}, done
    assert done["calculator"]["tool_call_error"] is False
    assert "20" in done["calculator"]["result"], done["calculator"]
    assert done["current_time"]["tool_call_error"] is False
    assert str(time.gmtime().tm_year) in done["current_time"]["result"], done["current_time"]
    assert end["content"] == "It is 20."
    second = agent.model_requests()[1]
    assert any("20" in t for t in tool_results(second).values()), tool_results(second)


def test_failing_and_unknown_tools_are_results_not_the_end(srv, oa, user, tools):
    oa.script(
        {"tool_calls": [{"name": "broken", "arguments": {"q": "x"}},
                        {"name": "no_such_tool", "arguments": {}}]},
        {"text": "The tools failed, sorry."},
    )
    frames = stream(srv, oa, user, "try the tools").read_all()
    end = check_run_stream(frames, "RunCompleted")
    done = {f.data["tool"]["tool_name"]: f.data["tool"] for f in frames
            if f.event == "ToolCallCompleted"}
    assert done["broken"]["tool_call_error"] is True, done
    assert "500" in done["broken"]["result"], done
    assert done["no_such_tool"]["tool_call_error"] is True, done
    assert end["content"] == "The tools failed, sorry."
    results = tool_results(oa.model_requests()[1])
    assert len(results) == 2 and any("500" in v for v in results.values()), results


def test_tool_call_limit(srv, agent, user):
    # The agents allow 4 tool calls per run; the model asks for 5.
    agent.script(
        {"tool_calls": [{"name": "calculator", "arguments": {"expression": f"{i}+1"}}
                        for i in range(5)]},
        {"text": "Done counting."},
    )
    frames = stream(srv, agent, user, "count").read_all()
    end = check_run_stream(frames, "RunCompleted")
    assert end["content"] == "Done counting."
    done = [f.data["tool"] for f in frames if f.event == "ToolCallCompleted"]
    assert len(done) == 5, done
    assert [t["tool_call_error"] for t in done].count(True) == 1, done
    assert "limit" in [t for t in done if t["tool_call_error"]][0]["result"].lower(), done
    reqs = agent.model_requests()
    assert len(reqs) == 2, reqs
    assert tool_names(reqs[0]), reqs[0]["body"]
    assert reqs[0]["body"].get("tool_choice") in (None, "auto", {"type": "auto"}), reqs[0]["body"]
    # Once the limit is reached the model may not call tools any more: no
    # tools offered, or tool_choice "none".
    second = reqs[1]["body"]
    assert (not tool_names(reqs[1]) or second.get("tool_choice") in ("none", {"type": "none"})), \
        {k: v for k, v in second.items() if k != "messages"}


def test_sse_pings_while_the_model_is_slow(srv, oa, user):
    # Bytes keep coming from the model (no stall), but nothing for the client
    # for over 2 s after the first word: SSE_PING_SECONDS=1 sends ": ping".
    oa.script({"text": "hi", "chunk_delay_ms": 800})
    rs = stream(srv, oa, user, "take your time")
    frames = rs.read_all()
    end = check_run_stream(frames, "RunCompleted")
    assert end["content"] == "hi"
    assert "ping" in rs.comments, rs.comments


# ================================================================ non-streamed runs and inputs


def check_run_object(run: dict, agent: Agent, user: User, message: str, content: str) -> None:
    assert RUN_KEYS <= set(run), sorted(run)
    assert run["status"] == "COMPLETED", run
    assert re.match(UUID_RE, run["run_id"]), run
    assert run["agent_id"] == agent.id and run["agent_name"] == f"Agent {agent.id}"
    assert run["user_id"] == user.sub
    assert run["content"] == content
    assert run["content_type"] == "str"
    assert run["model"] == MODEL_IDS[agent.provider] and run["model_provider"] == PROVIDER_NAMES[agent.provider]
    assert run["input"] == {"input_content": message}, run["input"]
    assert isinstance(run["created_at"], int) and abs(run["created_at"] - time.time()) < 60
    check_metrics(run["metrics"])
    roles = [(m["role"], m["content"]) for m in run["messages"]]
    assert roles == [("user", message), ("assistant", content)], roles
    for m in run["messages"]:
        assert isinstance(m["created_at"], int), m


def test_non_streamed_run(srv, agent, user):
    agent.script({"text": "A whole answer.", "usage": {"input_tokens": 12, "output_tokens": 3}})
    r = run_sync(srv, agent, user, "answer whole")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    run = r.json()
    check_run_object(run, agent, user, "answer whole", "A whole answer.")
    check_metrics(run["metrics"], 12, 3)
    assert re.match(UUID_RE, run["session_id"]), run
    row = get_run(srv, agent, user, run["run_id"]).json()
    assert row["status"] == "COMPLETED" and row["content"] == "A whole answer."
    assert row["input"]["input_content"] == "answer whole"
    assert isinstance(row["created_at"], int), row  # RunOutput: epoch seconds


def test_form_urlencoded_input(srv, oa, user):
    oa.script({"text": "From a form."})
    sid = f"form-{secrets.token_hex(4)}"
    r = srv.request("POST", f"/agents/{oa.id}/runs", headers=user.h,
                    data={"message": "hé & co = form", "stream": "false", "session_id": sid,
                          "user_id": "someone-else"})
    assert r.status_code == 200, r.text
    run = r.json()
    check_run_object(run, oa, user, "hé & co = form", "From a form.")
    assert run["session_id"] == sid
    assert run["user_id"] == user.sub  # the token wins over the form's user_id
    assert conversation(oa.model_requests()[0])[-1] == ("user", "hé & co = form")


def test_multipart_input(srv, oa, user):
    oa.script({"text": "From multipart."})
    boundary = "----e2e" + secrets.token_hex(8)
    sid = f"mp-{secrets.token_hex(4)}"
    parts = [("message", "line one\r\nline two"), ("stream", "false"), ("session_id", sid)]
    body = b""
    for name, value in parts:
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                 f"{value}\r\n").encode()
    body += f"--{boundary}--\r\n".encode()
    r = srv.request("POST", f"/agents/{oa.id}/runs",
                    headers={**user.h, "Content-Type": f"multipart/form-data; boundary={boundary}"},
                    content=body)
    assert r.status_code == 200, r.text
    run = r.json()
    check_run_object(run, oa, user, "line one\r\nline two", "From multipart.")
    assert run["session_id"] == sid


def test_streamed_run_from_a_form(srv, oa, user):
    oa.script({"text": "streamed from a form"})
    rs = RunStream(srv.base_url, oa.id, user.token, data={"message": "form stream"})
    assert rs.status_code == 200
    end = check_run_stream(rs.read_all(), "RunCompleted")
    assert end["content"] == "streamed from a form"


def test_bad_run_requests(srv, oa, user, stack):
    path = f"/agents/{oa.id}/runs"
    assert_error(srv.request("POST", path, headers=user.h, json={"stream": False}), 422)
    assert_error(srv.request("POST", path, headers=user.h, json={"message": ""}), 422)
    assert_error(srv.request("POST", path, headers=user.h, data={"stream": "false"}), 422)
    assert_error(srv.request("POST", path, headers=user.h, json={"message": 5}), 422)
    assert_error(srv.request("POST", path, headers=user.h,
                             json={"message": "x", "stream": "maybe"}), 422)
    body = assert_error(srv.request("POST", "/agents/nope/runs", headers=user.h,
                                    json={"message": "x"}), 404)
    assert body["detail"] == "Agent not found"
    assert_error(srv.request("POST", path, json={"message": "x"}), 401)
    assert_error(srv.request("POST", path, headers=bearer("garbage"), json={"message": "x"}), 403)
    assert_error(srv.request("POST", path, headers=bearer(make_token(exp=int(time.time()) - 3600,
                                                                     iat=int(time.time()) - 7200)),
                             json={"message": "x"}), 403)
    # Runs are workspace-scoped: a token without a workspace cannot start one.
    assert_error(srv.request("POST", path, headers=bearer(make_token(workspaceId=None)),
                             json={"message": "x"}), 403)
    # None of these reached the model.
    assert oa.model_requests() == []


# ================================================================ history and sessions


def test_history_across_runs_in_one_session(srv, agent, user):
    agent.script({"text": "Nice to meet you, Ada.", "usage": {"input_tokens": 10, "output_tokens": 5}},
                 {"text": "Your name is Ada.", "usage": {"input_tokens": 20, "output_tokens": 4}},
                 {"text": "I do not know.", "usage": {"input_tokens": 8, "output_tokens": 4}})
    first = run_sync(srv, agent, user, "My name is Ada.")
    assert first.status_code == 200, first.text
    sid = first.json()["session_id"]
    assert re.match(UUID_RE, sid), sid  # made when none was given
    second = run_sync(srv, agent, user, "What is my name?", session_id=sid)
    assert second.status_code == 200, second.text
    assert second.json()["session_id"] == sid
    other = run_sync(srv, agent, user, "What is my name, then?")
    assert other.status_code == 200 and other.json()["session_id"] != sid

    r1, r2, r3 = agent.model_requests()
    assert conversation(r1) == [("user", "My name is Ada.")], r1["body"]
    assert conversation(r2) == [("user", "My name is Ada."), ("assistant", "Nice to meet you, Ada."),
                                ("user", "What is my name?")], r2["body"]
    assert conversation(r3) == [("user", "What is my name, then?")], r3["body"]
    # The instructions are the system prompt.
    sys_text = (r1["body"].get("system") if agent.provider == "anthropic" else
                r1["body"]["messages"][0]["content"])
    assert "You are a test agent." in json.dumps(sys_text), r1["body"]

    # The session was made by the first run, named by its message.
    listed = srv.get("/sessions", headers=user.h, params={"type": "agent"})
    assert listed.status_code == 200, listed.text
    mine = {s["session_id"]: s for s in listed.json()["data"]}
    assert sid in mine, mine
    s = mine[sid]
    assert s["session_name"] == "My name is Ada."
    assert s["agent_id"] == agent.id and s["user_id"] == user.sub
    assert s["total_tokens"] == 39, s
    detail = srv.get(f"/sessions/{sid}", headers=user.h).json()
    assert detail["total_tokens"] == 39
    assert [(m["role"], m["content"]) for m in detail["chat_history"]] == [
        ("user", "My name is Ada."), ("assistant", "Nice to meet you, Ada."),
        ("user", "What is my name?"), ("assistant", "Your name is Ada.")]


def test_history_keeps_the_last_num_history_runs(srv, oa, user):
    oa.script(*({"text": f"answer {i}"} for i in range(4)))
    sid = f"hist-{secrets.token_hex(4)}"
    for i in range(4):
        r = run_sync(srv, oa, user, f"question {i}", session_id=sid)
        assert r.status_code == 200, r.text
    last = oa.model_requests()[3]
    # num_history_runs is 2: runs 1 and 2, not run 0.
    assert conversation(last) == [("user", "question 1"), ("assistant", "answer 1"),
                                  ("user", "question 2"), ("assistant", "answer 2"),
                                  ("user", "question 3")], last["body"]


def test_history_keeps_tool_traffic_and_leaves_failed_runs_out(srv, agent, user):
    agent.script({"tool_calls": [{"name": "calculator", "arguments": {"expression": "1+1"}}]},
                 {"text": "It is 2."},
                 {"status": 500}, {"status": 500},
                 {"text": "third"})
    sid = f"hist-{secrets.token_hex(4)}"
    first = run_sync(srv, agent, user, "one plus one?", session_id=sid)
    assert first.status_code == 200 and first.json()["status"] == "COMPLETED", first.text
    call_id = first.json()["tools"][0]["tool_call_id"]
    failed = run_sync(srv, agent, user, "this one fails", session_id=sid)
    assert failed.status_code == 200 and failed.json()["status"] == "ERROR", failed.text
    assert run_sync(srv, agent, user, "and now?", session_id=sid).status_code == 200
    last = agent.model_requests()[-1]
    # The earlier run's text, its tool call and the call's result, in the
    # provider's own form; the failed run not at all.
    assert conversation(last) == [("user", "one plus one?"), ("assistant", "It is 2."),
                                  ("user", "and now?")], last["body"]
    assert assistant_tool_calls(last) == {call_id: ("calculator", {"expression": "1+1"})}, \
        last["body"]
    results = tool_results(last)
    assert set(results) == {call_id} and "2" in results[call_id], last["body"]
    assert "this one fails" not in json.dumps(last["body"])


# ================================================================ cancelling


@pytest.mark.parametrize("provider", PROVIDERS)
def test_cancel_by_route(srv, stack, user, provider):
    agent = stack.agent(provider)
    # 120 words 150 ms apart: the model alone would go on for 18 s.
    text = words(120)
    agent.script({"text": text, "chunk_delay_ms": 150})
    rs = stream(srv, agent, user, "talk slowly")
    first = rs.until("RunContent")
    run_id = first.data["run_id"]
    row = get_run(srv, agent, user, run_id)
    assert row.status_code == 200 and row.json()["status"] == "RUNNING", row.text
    r = cancel(srv, agent, user, run_id)
    assert r.status_code == 200 and r.json() == {}, r.text
    # That the cancel ends the stream promptly is the point here: the bound
    # is generous (the end comes within milliseconds) yet far below the 18 s
    # the model would take. The stream ends: RunCancelled, then the close.
    frames = rs.read_all_within(WAIT_S)
    end = check_run_stream(frames, "RunCancelled")
    assert "reason" in end, end
    got = content_of(frames)
    assert got and text.startswith(got) and got != text, got
    row = wait_status(srv, agent, user, run_id, ("CANCELLED",))
    assert row["status"] == "CANCELLED"
    # Cancelling an ended run is fine, and so (as in Agno 3.1.10) is an unknown one.
    assert cancel(srv, agent, user, run_id).status_code == 200
    unknown = cancel(srv, agent, user, "00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 200 and unknown.json() == {}, unknown.text
    # The model was called once: a cancelled run does not go on. Once no run
    # is in flight, nothing of this one can still call the model.
    wait_runs_settled(srv)
    assert len(agent.model_requests()) == 1


def test_cancel_during_tool_calls(srv, oa, user, tools):
    oa.script({"tool_calls": [{"name": "lookup", "arguments": {"q": "slow"}}]},
              {"text": "never asked"})
    rs = stream(srv, oa, user, "look it up")
    started = rs.until("ToolCallStarted")
    run_id = started.data["run_id"]
    assert cancel(srv, oa, user, run_id).status_code == 200
    end = check_run_stream(rs.read_all(), "RunCancelled")
    assert end["run_id"] == run_id
    wait_status(srv, oa, user, run_id, ("CANCELLED",))
    # The tool answers after the cancel (it waits TOOL_DELAY_MS), and then
    # no run is in flight: had its result reached the run, the run would
    # have called the model again before ending.
    wait_until(lambda: (c := tools.calls_for(run_id)) and all(x.end for x in c), WAIT_S, 0.05,
               what="the tool's answer")
    wait_runs_settled(srv)
    assert len(oa.model_requests()) == 1  # the tool's result went nowhere


@pytest.mark.parametrize("provider", PROVIDERS)
def test_cancel_by_disconnect(srv, stack, user, provider):
    agent = stack.agent(provider)
    agent.script({"text": words(40), "chunk_delay_ms": 150})
    rs = stream(srv, agent, user, "talk slowly, I may leave")
    run_id = rs.until("RunContent").data["run_id"]
    rs.close()
    row = wait_status(srv, agent, user, run_id, ("CANCELLED", "COMPLETED", "ERROR"))
    assert row["status"] == "CANCELLED", row


def test_background_run_survives_a_disconnect(srv, oa, user):
    text = words(10)
    oa.script({"text": text, "chunk_delay_ms": 120})
    rs = stream(srv, oa, user, "in the background", background=True)
    run_id = rs.until("RunContent").data["run_id"]
    rs.close()
    row = wait_status(srv, oa, user, run_id, ("CANCELLED", "COMPLETED", "ERROR"))
    assert row["status"] == "COMPLETED", row
    assert row["content"] == text


def test_background_run_without_a_stream(srv, oa, user):
    oa.script({"text": "done later", "chunk_delay_ms": 100})
    r = srv.request("POST", f"/agents/{oa.id}/runs", headers=user.h,
                    json={"message": "later", "stream": False, "background": True})
    assert r.status_code in (200, 202), r.text
    run = r.json()
    assert run["status"] in ("PENDING", "RUNNING"), run
    row = wait_status(srv, oa, user, run["run_id"], ("COMPLETED", "ERROR", "CANCELLED"))
    assert row["status"] == "COMPLETED" and row["content"] == "done later", row
    assert row["session_id"] == run["session_id"]


# ================================================================ provider failures


def failed_run(srv, agent, user, message="fail please", within: float = WAIT_S) -> tuple[dict, float]:
    """The RunError of a run expected to fail, and the seconds it took. within
    is a generous bound on the stream's end (a failure takes milliseconds,
    a timeout's seconds), there so that a run that never ends fails."""
    t0 = time.monotonic()
    frames = stream(srv, agent, user, message).read_all_within(within)
    took = time.monotonic() - t0
    end = check_run_stream(frames, "RunError")
    assert isinstance(end.get("content"), str) and end["content"], end
    row = wait_status(srv, agent, user, end["run_id"], ("ERROR",))
    assert row["content"] == end["content"], (row, end)
    return end, took


def test_429_with_retry_after_then_success(srv, agent, user):
    agent.script({"status": 429, "retry_after": 1, "message": "slow down"},
                 {"text": "after the wait"})
    frames = stream(srv, agent, user, "rate limited").read_all()
    end = check_run_stream(frames, "RunCompleted")
    assert end["content"] == "after the wait"
    reqs = agent.model_requests()
    assert len(reqs) == 2, reqs
    gap = reqs[1]["time"] - reqs[0]["time"]
    assert gap >= 0.9, f"Retry-After: 1 not honoured (retried after {gap:.2f}s)"
    assert reqs[1]["body"] == reqs[0]["body"]


def test_500_is_retried_then_a_run_error(srv, agent, user):
    agent.script({"status": 500, "message": "upstream exploded"},
                 {"status": 500, "message": "upstream exploded"},
                 {"text": "must not be reached"})
    end, _ = failed_run(srv, agent, user)
    assert "upstream exploded" in end["content"], end
    assert "500" in end["content"], end
    assert len(agent.model_requests()) == 2  # MODEL_MAX_RETRIES=1


def test_non_retryable_provider_status_is_a_run_error(srv, oa, user):
    oa.script({"status": 401, "message": "bad key for the e2e"})
    end, _ = failed_run(srv, oa, user)
    assert "bad key for the e2e" in end["content"] and "401" in end["content"], end
    assert len(oa.model_requests()) == 1


def test_model_stall_is_a_run_error(srv, agent, user):
    # MODEL_STALL_TIMEOUT_SECONDS=2: the stream goes quiet after a few bytes.
    agent.script({"text": words(20), "stall_after_bytes": 200, "stall_seconds": 15})
    end, took = failed_run(srv, agent, user, within=2 + WAIT_S)
    assert took >= 1.8, f"a 2 s stall timeout fired after {took:.1f}s"
    assert re.search(r"stall|slow|timed? ?out", end["content"], re.I), end
    # The 2 s stall timeout, no other, ended it.
    assert f"for {SHARED['MODEL_STALL_TIMEOUT_SECONDS']} s" in end["content"], end
    assert len(agent.model_requests()) == 1  # bytes had arrived: not retried


def test_model_silent_before_any_byte_is_a_run_error(srv, oa, user):
    # No status line at all: the stall timeout applies before the first byte
    # too (a retry may follow; MODEL_MAX_RETRIES=1).
    oa.script({"text": "late", "delay_first_byte_ms": 15000},
              {"text": "late", "delay_first_byte_ms": 15000})
    end, took = failed_run(srv, oa, user, within=2 * 2 + WAIT_S)
    assert re.search(r"stall|slow|timed? ?out", end["content"], re.I), end
    # Each try ended at the 2 s stall timeout, not at a longer one, and
    # there were at most two.
    assert f"for {SHARED['MODEL_STALL_TIMEOUT_SECONDS']} s" in end["content"], end
    assert 1 <= len(oa.model_requests()) <= 2


def test_connection_dropped_mid_stream_is_a_run_error(srv, agent, user):
    agent.script({"text": words(30), "drop_after_bytes": 400})
    end, _ = failed_run(srv, agent, user)
    assert "model" in end["content"].lower(), end
    assert len(agent.model_requests()) == 1  # bytes had arrived: not retried


def test_connection_reset_mid_stream_is_a_run_error(srv, oa, user):
    oa.script({"text": words(30), "drop_after_bytes": 400, "drop_mode": "reset"})
    end, _ = failed_run(srv, oa, user)
    assert "model" in end["content"].lower(), end


def test_provider_error_event_is_a_run_error(srv, agent, user):
    agent.script({"text": "partial", "provider_error": {"type": "overloaded_error",
                                                          "message": "the mock is overloaded"}})
    end, _ = failed_run(srv, agent, user)
    assert "the mock is overloaded" in end["content"], end


@pytest.mark.parametrize("provider", PROVIDERS)
def test_connect_refused_is_a_run_error(srv, user, provider):
    end, _ = failed_run(srv, f"dead-{provider}", user)
    assert "could not reach the model" in end["content"], end
    # The retries really went out: the reason is the connect error itself,
    # the refusal and not the 2 s connect timeout.
    assert "onnect" in end["content"] and "restart" not in end["content"], end
    assert not re.search(r"timed? ?out|stall", end["content"], re.I), end


def test_failed_non_streamed_run_says_error(srv, oa, user):
    oa.script({"status": 500}, {"status": 500})
    r = run_sync(srv, oa, user, "fail whole")
    assert r.status_code == 200, r.text  # Agno: the run, status ERROR
    body = r.json()
    assert body.get("status") == "ERROR", body
    assert isinstance(body.get("content"), str) and body["content"], body


# ================================================================ many at once


def test_50_concurrent_streamed_runs(srv, stack):
    agents = [stack.concurrent_agent(i) for i in range(NCONCURRENT)]
    users = [new_user() for _ in agents]
    texts = [f"answer number {i} for run {i}" for i in range(NCONCURRENT)]
    for a, t in zip(agents, texts):
        a.script({"text": t, "chunk_delay_ms": 20})

    def one(i: int):
        with stream(srv, agents[i], users[i], f"question {i}") as rs:
            assert rs.status_code == 200, (i, rs.body())
            # A generous bound (each run takes well under a second): no
            # run is held up behind the others or by a timeout.
            return rs.read_all_within(30)

    with concurrent.futures.ThreadPoolExecutor(NCONCURRENT) as pool:
        results = list(pool.map(one, range(NCONCURRENT)))
    run_ids = set()
    asked = []
    for i, frames in enumerate(results):
        end = check_run_stream(frames, "RunCompleted")
        assert end["agent_id"] == f"c-{i}", end
        assert end["content"] == texts[i], (i, end)
        assert content_of(frames) == texts[i], i
        run_ids.add(end["run_id"])
        reqs = agents[i].model_requests()
        assert len(reqs) == 1 and conversation(reqs[0]) == [("user", f"question {i}")], reqs
        asked.append(reqs[0]["time"])
    assert len(run_ids) == NCONCURRENT
    # Served at once, not one after the other: runs in turn would ask the
    # model only after the last answer ended, and the mock takes over ANSWER_S
    # for each (nine 20 ms gaps between its ten events: a floor, however
    # slow the machine). Here many ask while others are being answered.
    ANSWER_S = 0.1
    asked.sort()
    overlapping = sum(1 for a, b in zip(asked, asked[1:]) if b - a < ANSWER_S)
    assert overlapping >= NCONCURRENT // 5, (overlapping, asked)
    for i in (0, NCONCURRENT // 2, NCONCURRENT - 1):
        row = get_run(srv, agents[i], users[i], results[i][0].data["run_id"]).json()
        assert row["status"] == "COMPLETED" and row["content"] == texts[i], row


# ================================================================ reading runs back


def test_runs_listed_with_status_and_tokens(srv, agent, user):
    sid = f"list-{secrets.token_hex(4)}"
    agent.script({"text": "first answer", "usage": {"input_tokens": 11, "output_tokens": 7}},
                 {"status": 500}, {"status": 500},
                 {"text": words(40), "chunk_delay_ms": 150},
                 {"text": "last answer", "usage": {"input_tokens": 30, "output_tokens": 2}})
    ok1 = run_sync(srv, agent, user, "first", session_id=sid).json()
    err = stream(srv, agent, user, "second", session_id=sid).read_all()[-1].data
    rs = stream(srv, agent, user, "third", session_id=sid)
    cancelled_id = rs.until("RunContent").data["run_id"]
    assert cancel(srv, agent, user, cancelled_id).status_code == 200
    rs.read_all()
    ok2 = run_sync(srv, agent, user, "fourth", session_id=sid).json()

    r = srv.get(f"/agents/{agent.id}/runs", headers=user.h, params={"session_id": sid})
    assert r.status_code == 200, r.text
    runs = {x["run_id"]: x for x in r.json()}
    expect = {ok1["run_id"]: "COMPLETED", err["run_id"]: "ERROR", cancelled_id: "CANCELLED",
              ok2["run_id"]: "COMPLETED"}
    assert {k: v["status"] for k, v in runs.items()} == expect, runs
    a, b = runs[ok1["run_id"]], runs[ok2["run_id"]]
    assert (a["metrics"]["input_tokens"], a["metrics"]["output_tokens"],
            a["metrics"]["total_tokens"]) == (11, 7, 18), a["metrics"]
    assert (b["metrics"]["input_tokens"], b["metrics"]["output_tokens"],
            b["metrics"]["total_tokens"]) == (30, 2, 32), b["metrics"]
    assert a["content"] == "first answer" and b["content"] == "last answer"
    assert a["run_input"] == "first" and runs[cancelled_id]["run_input"] == "third"
    for x in runs.values():
        assert x["session_id"] == sid and x["agent_id"] == agent.id and x["user_id"] == user.sub

    # The session's tokens follow its runs.
    s = srv.get(f"/sessions/{sid}", headers=user.h)
    assert s.status_code == 200, s.text
    assert s.json()["total_tokens"] == 50, s.json()
    # Agno's session metrics: the split of the same tokens
    assert s.json()["metrics"] == {"input_tokens": 41, "output_tokens": 9, "total_tokens": 50}
    assert s.json()["session_name"] == "first"
    sr = srv.get(f"/sessions/{sid}/runs", headers=user.h, params={"type": "agent"})
    assert sr.status_code == 200, sr.text
    listed = sr.json()
    assert [x["run_id"] for x in listed] == [ok1["run_id"], err["run_id"], cancelled_id,
                                             ok2["run_id"]], listed
    assert [x["status"] for x in listed] == ["COMPLETED", "ERROR", "CANCELLED", "COMPLETED"]
    # A run of another agent is not listed under this one.
    other = srv.get(f"/agents/c-0/runs", headers=user.h, params={"session_id": sid})
    assert other.status_code == 200 and other.json() == [], other.text


def test_another_workspaces_runs_are_invisible(srv, oa, user):
    oa.script({"text": "mine"}, {"text": words(12), "chunk_delay_ms": 100})
    run = run_sync(srv, oa, user, "private").json()
    rid, sid = run["run_id"], run["session_id"]
    intruder = User(user.sub, f"{user.ws}-other")  # same person, another workspace
    assert_error(get_run(srv, oa, intruder, rid), 404)
    # A cancel answers as for an unknown run id: nothing says the run exists.
    unknown = cancel(srv, oa, intruder, "00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 200 and unknown.json() == {}, unknown.text
    r = cancel(srv, oa, intruder, rid)
    assert (r.status_code, r.json()) == (unknown.status_code, unknown.json()), r.text
    r = srv.get(f"/agents/{oa.id}/runs", headers=intruder.h, params={"session_id": sid})
    assert r.status_code == 200 and r.json() == [], r.text
    r = srv.get(f"/agents/{oa.id}/runs", headers=intruder.h)
    assert r.status_code == 200 and r.json() == [], r.text
    assert_error(srv.get(f"/sessions/{sid}", headers=intruder.h), 404)
    # A live run cannot be cancelled from another workspace either: the
    # answer is the unknown id's, and the run goes on to its end.
    rs = stream(srv, oa, user, "live one")
    live = rs.until("RunContent").data["run_id"]
    r = cancel(srv, oa, intruder, live)
    assert (r.status_code, r.json()) == (unknown.status_code, unknown.json()), r.text
    assert_error(get_run(srv, oa, intruder, live), 404)
    end = check_run_stream(rs.read_all(), "RunCompleted")
    assert end["content"] == words(12)
    # The owner still sees both.
    assert get_run(srv, oa, user, rid).status_code == 200
    assert get_run(srv, oa, user, live).json()["status"] == "COMPLETED"


def test_a_run_is_read_under_its_own_agent_only(srv, oa, user):
    oa.script({"text": "x"})
    run = run_sync(srv, oa, user, "which agent").json()
    assert_error(get_run(srv, "c-0", user, run["run_id"]), 404)
    # Under another agent the run is as unknown, which a cancel answers 200 {} (Agno 3.1.10).
    r = cancel(srv, "c-0", user, run["run_id"])
    assert r.status_code == 200 and r.json() == {}, r.text
    assert_error(cancel(srv, "no-such-agent", user, run["run_id"]), 404)


def test_a_live_run_is_not_cancelled_under_another_agent(srv, oa, user):
    """The cancel route names the agent: a grant on one agent (agents:<id>:run)
    must never stop another agent's run, live in this process."""
    oa.script({"text": words(12), "chunk_delay_ms": 100})
    rs = stream(srv, oa, user, "keep going")
    live = rs.until("RunContent").data["run_id"]
    r = cancel(srv, "c-0", user, live)
    assert r.status_code == 200 and r.json() == {}, r.text  # as for an unknown run
    end = check_run_stream(rs.read_all(), "RunCompleted")
    assert end["content"] == words(12)


# ================================================================ limits and back-pressure


def test_max_concurrent_runs_per_workspace(tight, stack):
    a = stack.agent("openai")
    u = new_user()
    a.script({"text": words(30), "chunk_delay_ms": 100}, {"text": "after"})
    rs = stream(tight, a, u, "the one run")
    run_id = rs.until("RunStarted").data["run_id"]
    second = tight.request("POST", f"/agents/{a.id}/runs", headers=u.h,
                           json={"message": "a second one", "stream": False})
    assert_error(second, 429, "TOO_MANY_RUNS")
    # Another workspace is not limited by this one.
    b = stack.agent("anthropic")
    b.script({"text": "elsewhere"})
    other = run_sync(tight, b, new_user(), "elsewhere")
    assert other.status_code == 200 and other.json()["content"] == "elsewhere", other.text
    # Once the run ends, the workspace may start another.
    assert cancel(tight, a, u, run_id).status_code == 200
    check_run_stream(rs.read_all(), "RunCancelled")
    again = run_sync(tight, a, u, "now")
    assert again.status_code == 200 and again.json()["content"] == "after", again.text


def slow_reader(server, agent: Agent, user: User) -> socket.socket:
    """Starts a streamed run on a raw socket with a tiny receive buffer that
    is never read."""
    body = json.dumps({"message": "flood me"}).encode()
    head = (f"POST /agents/{agent.id}/runs HTTP/1.1\r\nHost: e2e\r\n"
            f"Authorization: Bearer {user.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(head + body)
    return sock


def health_answers(server) -> None:
    """GET /health answers 200 within a generous bound: it takes milliseconds,
    while a loop stuck on a slow reader's socket would not answer at all."""
    try:
        r = httpx.get(f"{server.base_url}/health", timeout=WAIT_S)
    except httpx.HTTPError as e:  # not wait_until's to retry
        raise AssertionError(f"/health did not answer: {e!r}") from None
    assert r.status_code == 200, r.text


def check_cut_off(server, agent: Agent, user: User, sock: socket.socket) -> None:
    def cut_off() -> list[dict]:
        # The server stays responsive meanwhile: /health answers before
        # each look at the log, until the reader is cut off.
        health_answers(server)
        return [l for l in server.log_lines() if "too slow" in str(l.get("msg"))
                and l.get("workspace_id") == user.ws]

    try:
        cut = wait_until(cut_off, 20, 0.05, what="an 'SSE reader cut off: too slow' log line")
        run_id = cut[0]["run_id"]
        row = wait_status(server, agent, user, run_id, ("CANCELLED", "COMPLETED", "ERROR"))
        assert row["status"] == "CANCELLED", (row["status"], row["metrics"])
        health_answers(server)
    finally:
        sock.close()
    health_answers(server)


def test_slow_sse_reader_is_cut_off(tight, stack):
    # A long answer streamed at a model's pace (6000 chunks ~1 ms apart,
    # about 7 MB of frames): far more than the socket buffers hold.
    a, u = stack.agent("openai"), new_user()
    a.script({"text": "x" * (1000 * 6000), "chunks": 6000, "chunk_delay_ms": 1})
    check_cut_off(tight, a, u, slow_reader(tight, a, u))


def test_slow_sse_reader_of_a_fast_model_is_cut_off(tight, stack):
    # The same against a model that sends its answer as fast as it can.
    a, u = stack.agent("openai"), new_user()
    a.script({"text": "x" * (1000 * 4000), "chunks": 4000})
    check_cut_off(tight, a, u, slow_reader(tight, a, u))


def test_fast_sse_reader_is_not_cut_off(tight, stack):
    # SSE_MAX_BUFFER_BYTES bounds what a slow reader makes the server hold;
    # a client that reads as fast as it can must get its whole answer, even
    # when the model sends many small deltas at once. (The answer stays
    # under 4 KiB: RunCompleted carries all of it in one frame.)
    a, u = stack.agent("anthropic"), new_user()
    text = "y" * 2000
    a.script({"text": text, "chunks": 200})
    frames = stream(tight, a, u, "burst").read_all()
    end = check_run_stream(frames, "RunCompleted")
    assert end["content"] == text


# ================================================================ process lifetime


def test_interrupted_run_is_marked_error_after_a_restart(stack, tmp_path, start_server):
    a = stack.agent("openai")
    u = new_user()
    data = tmp_path / "store"
    data.mkdir()
    env = stack.server_env(AGENTOS_DATA_DIR=str(data), MODEL_STALL_TIMEOUT_SECONDS=60)
    env.pop("DATABASE_URL", None)
    a.script({"text": "never finished", "stall_after_bytes": 0, "stall_seconds": 20})
    first = launch(tmp_path / "killed", env=env)
    try:
        rs = stream(first, a, u, "about to be interrupted")
        started = rs.until("RunStarted").data
        run_id, sid = started["run_id"], started["session_id"]
        row = get_run(first, a, u, run_id)
        assert row.status_code == 200 and row.json()["status"] == "RUNNING", row.text
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(5)
        rs.close()
    finally:
        if first.proc.poll() is None:
            first.proc.kill()
            first.proc.wait()
        first.close_http()
    second = start_server(env=env)
    # The sweep at start-up marks it: the next sweep is a minute later, far
    # beyond this generous bound (the start-up one takes milliseconds).
    row = wait_status(second, a, u, run_id, ("ERROR",), timeout=2 * WAIT_S)
    assert "interrupted" in (row["content"] or ""), row
    swept = second.wait_log(lambda l: l.get("msg") == "runs interrupted by a stopped process "
                            "marked ERROR", timeout=WAIT_S)
    assert [l.get("runs") for l in swept] == [1], swept
    listed = second.get(f"/agents/{a.id}/runs", headers=u.h, params={"session_id": sid}).json()
    assert [(x["run_id"], x["status"]) for x in listed] == [(run_id, "ERROR")], listed


def test_sigterm_lets_a_run_in_flight_complete(stack, start_server):
    a = stack.agent("anthropic")
    u = new_user()
    text = words(12)
    a.script({"text": text, "chunk_delay_ms": 120})
    s = start_server(env=stack.server_env(SHUTDOWN_GRACE_SECONDS=10))
    rs = stream(s, a, u, "finish before you go")
    run_id = rs.until("RunContent").data["run_id"]
    s.sigterm()
    end = check_run_stream(rs.read_all(), "RunCompleted")
    assert end["content"] == text and end["run_id"] == run_id
    assert s.proc.wait(10) == 0


def test_every_event_has_nested_depth_zero(srv, agent, user):
    # Agno's BaseAgentRunEvent always carries nested_depth (0 at top level).
    agent.script({"text": "hello there", "usage": {"input_tokens": 3, "output_tokens": 2}})
    with RunStream(srv.base_url, agent.id, user.token, json_body={"message": "hi"}) as rs:
        assert rs.status_code == 200, rs.body()
        frames = rs.read_all()
    check_run_stream(frames, "RunCompleted")
    for f in frames:
        assert f.data.get("nested_depth") == 0, (f.event, f.data)
