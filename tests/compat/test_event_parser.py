"""Our SSE frames against Agno 3.1.10 itself (issue 8, item 8: event parser).

The same scripted tool run (a tool call, then the answer; and a failing
tool) goes once through our service and once through a real Agno `Agent`
(OpenAIChat on the same mock model, with Python tools of the same names).
Our frames are parsed with the parser Agno's own `AgentOSClient` uses
(`_parse_sse_events` with `run_output_event_from_dict`); every event must
parse to Agno's class for its name, survive the round trip, and carry the
field set Agno's event of the same kind carries, in the same order of
events.

It runs on tests/e2e's runs service and mock model (test_runs' fixtures,
reached through this directory's conftest). agno is pinned in the test
requirements, so a missing agno is an import error, never a skip. (Named
test_event_parser, not test_events: tests/e2e has a test_events module, and
pytest's rootdir imports need each test file's basename to be unique.)"""

from __future__ import annotations

import asyncio
import json
import secrets

import agno.agent as agno_agent  # required: an ImportError fails the suite, never skips
import pytest
from agno.client.os import AgentOSClient
from agno.models.openai import OpenAIChat
from agno.run.agent import RUN_EVENT_TYPE_REGISTRY, run_output_event_from_dict

from runs_fixtures import mock, tools  # noqa: F401 (pytest fixtures)
from runs_support import check_run_stream
from test_runs import MODEL_IDS, oa, srv, stack, stream, user  # noqa: F401

# Fields Agno fills that we do not: its session_state bookkeeping
# ({"current_session_id", "current_run_id"}); we have no session state.
NOT_FILLED = {
    "RunCompleted": {"session_state"},
}

TOOL_RUN = [
    {"tool_calls": [{"name": "current_time", "arguments": {"timezone": "UTC"}}],
     "usage": {"input_tokens": 11, "output_tokens": 7}},
    {"text": "It is noon.", "usage": {"input_tokens": 20, "output_tokens": 3}},
]
FAILING_TOOL_RUN = [
    {"tool_calls": [{"name": "broken", "arguments": {"q": "x"}}]},
    {"text": "It failed."},
]


def current_time(timezone: str) -> str:
    """The time now."""
    return "12:00"


def broken(q: str) -> str:
    """A tool that fails."""
    raise RuntimeError("broken is broken")


def agno_events(mock, steps: list[dict]) -> list[dict]:
    """The script through a real Agno agent: its events' to_dict()."""
    key = f"sk-test-compat-{secrets.token_hex(6)}"
    mock.script(key, steps)
    agent = agno_agent.Agent(id="compat", name="Compat",
                             model=OpenAIChat(id=MODEL_IDS["openai"], api_key=key,
                                              base_url=f"{mock.url}/v1", max_retries=0),
                             tools=[current_time, broken])

    async def run() -> list[dict]:
        return [ev.to_dict() async for ev in agent.arun("go", stream=True, stream_events=True)]

    return asyncio.run(run())


def parse_with_agno(frames) -> list:
    """Our frames as SSE lines through AgentOSClient's own parser."""
    lines = []
    for f in frames:
        lines += [f"event: {f.event}", "data: " + json.dumps(f.data, separators=(",", ":")), ""]

    async def source():
        for line in lines:
            yield line

    async def collect():
        # _parse_sse_events uses nothing of the client but its code.
        return [ev async for ev in AgentOSClient._parse_sse_events(None, source(),
                                                                   run_output_event_from_dict)]

    return asyncio.run(collect())


def shape(events: list[dict]) -> list[str]:
    """Event names, empty RunContent deltas left out (Agno sends one for the
    first chunk of every model reply) and runs of RunContent as one."""
    out: list[str] = []
    for e in events:
        n = e["event"]
        if n == "RunContent" and not e.get("content"):
            continue
        if not (n == "RunContent" and out and out[-1] == "RunContent"):
            out.append(n)
    return out


def keys_by_event(events: list[dict]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for e in events:
        if e["event"] == "RunContent" and not e.get("content"):
            continue
        out.setdefault(e["event"], set()).update(e)
    return out


@pytest.mark.parametrize("steps", [TOOL_RUN, FAILING_TOOL_RUN], ids=["tool", "failing_tool"])
def test_our_frames_parse_and_match_agno(srv, mock, oa, user, steps):
    oa.script(*steps)
    frames = stream(srv, oa, user, "go").read_all()
    check_run_stream(frames, "RunCompleted")
    ours = [f.data for f in frames]

    parsed = parse_with_agno(frames)
    assert len(parsed) == len(frames), [type(e).__name__ for e in parsed]
    for f, ev in zip(frames, parsed):
        assert type(ev) is RUN_EVENT_TYPE_REGISTRY[f.event], (f.event, type(ev))
        back = ev.to_dict()
        # What Agno reads back is what we sent (to_dict drops top-level nulls,
        # as we do; the tool keeps its nulls on both sides).
        assert back == f.data, (f.event, back, f.data)

    theirs = agno_events(mock, steps)
    assert shape(ours) == shape(theirs), (shape(ours), shape(theirs))
    our_keys, their_keys = keys_by_event(ours), keys_by_event(theirs)
    for name, keys in their_keys.items():
        want = keys - NOT_FILLED.get(name, set())
        assert our_keys[name] == want, (name, sorted(our_keys[name] ^ want))
    # The tool object, key for key.
    for name in ("ToolCallStarted", "ToolCallCompleted", "ToolCallError"):
        a = [e["tool"] for e in ours if e["event"] == name]
        b = [e["tool"] for e in theirs if e["event"] == name]
        assert [set(t) for t in a] == [set(t) for t in b], name
        assert [[k for k, v in t.items() if v is None] for t in a] == \
            [[k for k, v in t.items() if v is None] for t in b], name
    # metrics.details has Agno's shape.
    ours_end, theirs_end = ours[-1]["metrics"], theirs[-1]["metrics"]
    assert set(ours_end) == set(theirs_end), (ours_end, theirs_end)
    assert [set(m) for m in ours_end["details"]["model"]] == \
        [set(m) for m in theirs_end["details"]["model"]]
    assert ours_end["details"]["model"][0]["provider"] == \
        theirs_end["details"]["model"][0]["provider"] == "OpenAI Chat"


def test_run_object_parses_as_agno_run_output(srv, oa, user):
    """The non-streamed run (and the stored one) through RunOutput.from_dict,
    as AgentOSClient reads them: status, metrics with details, tools."""
    from agno.run.agent import RunOutput, RunStatus

    oa.script(*TOOL_RUN)
    r = srv.request("POST", f"/agents/{oa.id}/runs", headers=user.h,
                    json={"message": "go", "stream": False}, timeout=20)
    assert r.status_code == 200, r.text
    for doc in (r.json(), srv.get(f"/agents/{oa.id}/runs/{r.json()['run_id']}",
                                  headers=user.h).json()):
        run = RunOutput.from_dict(doc)
        assert run.status == RunStatus.completed and run.content == "It is noon.", doc
        model = run.metrics.details["model"][0]
        assert (model.input_tokens, model.output_tokens, model.total_tokens) == (31, 10, 41)
        assert model.id == MODEL_IDS["openai"] and model.provider == "OpenAI Chat"
        assert [t.tool_name for t in run.tools] == ["current_time"], doc["tools"]
        assert run.tools[0].tool_call_error is False and run.tools[0].result
