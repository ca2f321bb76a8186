"""Agno's own Python client, agno.client.AgentOSClient 3.1.10, driven against
our server (issue 8 item 8): as a service caller inside one workspace (the
key with X-Workspace-Id and X-User-Id) and as an operator (the key alone).
The client passes credentials as per-call `headers=`; it raises on any HTTP
error status and parses every reply with Agno's own models, so each call
below either succeeds and parses or fails the test."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest

from compat_support import AGENT_ID, OPERATOR, SERVICE, WS


@pytest.fixture
def client(compat):
    from agno.client import AgentOSClient
    return AgentOSClient(compat.server.base_url, timeout=20)


def run_async(flow):
    """One event loop per flow; Agno's client keeps a global async httpx
    client, closed at the end so the next loop makes its own."""
    from agno.utils.http import get_default_async_client

    async def wrapped():
        try:
            return await flow()
        finally:
            await get_default_async_client().aclose()
    return asyncio.run(wrapped())


def streamed_run(client, compat, headers: dict, session_id: str) -> list:
    """A streamed tool run through the client: its parsed events."""
    compat.tool_run_script()

    async def flow():
        return [e async for e in client.run_agent_stream(AGENT_ID, "what time is it?",
                                                         session_id=session_id,
                                                         headers=headers)]
    return run_async(flow)


def check_tool_run_events(events: list, session_id: str) -> None:
    from agno.run.agent import (RunCompletedEvent, RunContentEvent, RunStartedEvent,
                                ToolCallCompletedEvent, ToolCallStartedEvent)
    kinds = [type(e) for e in events]
    assert kinds and kinds[0] is RunStartedEvent, kinds
    assert kinds[-1] is RunCompletedEvent, kinds
    assert ToolCallStartedEvent in kinds and ToolCallCompletedEvent in kinds, kinds
    assert "".join(e.content for e in events if isinstance(e, RunContentEvent)) == "It is noon."
    assert {e.session_id for e in events} == {session_id}
    assert len({e.run_id for e in events}) == 1
    done = events[-1]
    assert done.content == "It is noon." and done.metrics.total_tokens > 0, done
    tool = next(e for e in events if isinstance(e, ToolCallCompletedEvent)).tool
    assert tool.tool_name == "current_time" and tool.result, tool


# ================================================================ service caller


def test_service_agents(client):
    from agno.os.routers.agents.schema import AgentResponse
    from agno.os.schema import AgentSummaryResponse
    agent = client.get_agent(AGENT_ID, headers=SERVICE)
    assert isinstance(agent, AgentResponse) and agent.id == AGENT_ID
    listed = run_async(lambda: client.list_agents(headers=SERVICE))
    assert [a.id for a in listed] == [AGENT_ID]
    assert all(isinstance(a, AgentSummaryResponse) for a in listed)
    with pytest.raises(httpx.HTTPStatusError) as e:
        client.get_agent("no-such-agent", headers=SERVICE)
    assert e.value.response.status_code == 404


def test_service_streamed_run_then_sessions_and_runs(client, compat):
    sid = "client-s-" + secrets.token_hex(4)
    events = streamed_run(client, compat, SERVICE, sid)
    check_tool_run_events(events, sid)
    run_id = events[0].run_id

    async def flow():
        sessions = await client.get_sessions(headers=SERVICE)
        session = await client.get_session(sid, headers=SERVICE)
        runs = await client.get_session_runs(sid, headers=SERVICE)
        return sessions, session, runs
    sessions, session, runs = run_async(flow)
    assert sid in [s.session_id for s in sessions.data]
    assert sessions.meta.total_count >= 1
    assert session.session_id == sid and session.agent_id == AGENT_ID
    assert [m["role"] for m in session.chat_history][:1] == ["user"]
    assert [r.run_id for r in runs] == [run_id]
    assert runs[0].content == "It is noon."


def test_service_non_streamed_run(client, compat):
    from agno.run.agent import RunOutput
    compat.tool_run_script()
    sid = "client-n-" + secrets.token_hex(4)
    run = run_async(lambda: client.run_agent(AGENT_ID, "what time is it?", session_id=sid,
                                             headers=SERVICE))
    assert isinstance(run, RunOutput)
    assert run.status == "COMPLETED" and run.content == "It is noon.", run
    assert run.session_id == sid and run.tools and run.tools[0].tool_name == "current_time"


def test_service_failed_run_is_status_error(client, compat):
    """A failed non-streamed run answers 200 with status ERROR: the client
    raises on anything else."""
    compat.script({"status": 400, "message": "bad request"})
    run = run_async(lambda: client.run_agent(AGENT_ID, "hello", headers=SERVICE))
    assert str(run.status.value if hasattr(run.status, "value") else run.status) == "ERROR", run


def test_service_metrics(client):
    from agno.os.routers.metrics.schemas import DayAggregatedMetrics, MetricsResponse

    async def flow():
        return (await client.get_metrics(headers=SERVICE),
                await client.refresh_metrics(headers=SERVICE))
    got, refreshed = run_async(flow)
    assert isinstance(got, MetricsResponse) and got.metrics
    assert got.metrics[-1].agent_runs_count >= 1
    assert refreshed and all(isinstance(d, DayAggregatedMetrics) for d in refreshed)


def test_service_config(client):
    from agno.os.schema import ConfigResponse
    cfg = client.get_config(headers=SERVICE)
    assert isinstance(cfg, ConfigResponse) and [a.id for a in cfg.agents] == [AGENT_ID]


def test_service_session_run_and_previews(client, compat):
    previews = client.get_session_run_previews(compat.session_id, headers=SERVICE)
    assert [p.run_id for p in previews] == [compat.run_id]
    run = run_async(lambda: client.get_session_run(compat.session_id, compat.run_id,
                                                   headers=SERVICE))
    assert run.run_id == compat.run_id


# ================================================================ operator


def test_operator_agents(client):
    assert client.get_agent(AGENT_ID, headers=OPERATOR).id == AGENT_ID
    assert [a.id for a in run_async(lambda: client.list_agents(headers=OPERATOR))] == [AGENT_ID]


def test_operator_run_must_name_a_workspace(client, compat):
    """Our documented difference: an operator write that creates data names a
    workspace (403 WORKSPACE_REQUIRED); with X-Workspace-Id the client's
    streamed run works."""
    with pytest.raises(httpx.HTTPStatusError) as e:
        streamed_run(client, compat, OPERATOR, "op-s-" + secrets.token_hex(4))
    assert e.value.response.status_code == 403
    sid = "op-ws-" + secrets.token_hex(4)
    events = streamed_run(client, compat, {**OPERATOR, "X-Workspace-Id": WS}, sid)
    check_tool_run_events(events, sid)


def test_operator_config(client):
    assert [a.id for a in client.get_config(headers=OPERATOR).agents] == [AGENT_ID]


def test_operator_sessions_runs_and_metrics(client, compat):
    """An operator reads every workspace: the seeded session among them."""
    async def flow():
        sessions = await client.get_sessions(headers=OPERATOR)
        session = await client.get_session(compat.session_id, headers=OPERATOR)
        runs = await client.get_session_runs(compat.session_id, headers=OPERATOR)
        metrics = await client.get_metrics(headers=OPERATOR)
        return sessions, session, runs, metrics
    sessions, session, runs, metrics = run_async(flow)
    assert compat.session_id in [s.session_id for s in sessions.data]
    assert session.session_id == compat.session_id
    assert [r.run_id for r in runs] == [compat.run_id]
    assert metrics.metrics
