"""SSE events and run objects as Agno 3.1.10 sends them (issue 8, item 4):
ModelRequestStarted/Completed around each model call, RunContentCompleted,
ToolCallCompleted.content, ToolCallError, the tool object with its nulls,
RunError.error_type, RunCancelled's reason and partial content, and
metrics.details in the stream, the non-streamed run and the stored run.

The field lists come from agno/run/agent.py (the event dataclasses) and
agno/models/response.py (ToolExecution); tests/compat/test_event_parser.py
checks the same frames against Agno's own classes and parser."""

from __future__ import annotations

import re

from runs_fixtures import mock, tools  # noqa: F401 (pytest fixtures)
from runs_support import check_run_stream, content_of
from test_runs import (MODEL_IDS, PROVIDER_NAMES, agent, cancel, check_metrics,  # noqa: F401
                       get_run, oa, run_sync, srv, stack, stream, tight, user, wait_status,
                       words)

# ToolExecution.to_dict: every key, always.
TOOL_KEYS = {"tool_call_id", "tool_name", "tool_args", "tool_call_error", "result", "metrics",
             "child_run_id", "stop_after_tool_call", "created_at", "requires_confirmation",
             "confirmed", "confirmation_note", "requires_user_input", "user_input_schema",
             "user_feedback_schema", "answered", "external_execution_required",
             "external_execution_silent", "approval_type", "approval_id", "parent_tool_call_id"}
BASE_KEYS = {"created_at", "event", "agent_id", "agent_name", "run_id", "session_id",
             "nested_depth"}
DETAIL_PROVIDERS = {"openai": "OpenAI Chat", "anthropic": "Anthropic"}

TOOL_SCRIPT = (
    {"tool_calls": [{"name": "current_time", "arguments": {"timezone": "UTC"}}],
     "usage": {"input_tokens": 11, "output_tokens": 7}},
    {"text": "It is noon.", "usage": {"input_tokens": 20, "output_tokens": 3}},
)


def collapse(names: list[str]) -> list[str]:
    """Runs of RunContent as one."""
    out: list[str] = []
    for n in names:
        if not (n == "RunContent" and out and out[-1] == "RunContent"):
            out.append(n)
    return out


def check_no_top_level_nulls(frames) -> None:
    for f in frames:
        assert BASE_KEYS <= set(f.data), f.data
        assert f.data["nested_depth"] == 0, f.data
        nulls = [k for k, v in f.data.items() if v is None]
        assert not nulls, (f.event, nulls)


def test_tool_run_sequence_and_fields(srv, agent, user):
    agent.script(*TOOL_SCRIPT)
    frames = stream(srv, agent, user, "what time is it?").read_all()
    end = check_run_stream(frames, "RunCompleted")
    names = [f.event for f in frames]
    assert collapse(names) == [
        "RunStarted", "ModelRequestStarted", "ModelRequestCompleted", "ToolCallStarted",
        "ToolCallCompleted", "ModelRequestStarted", "RunContent", "ModelRequestCompleted",
        "RunContentCompleted", "RunCompleted"], names
    check_no_top_level_nulls(frames)
    by = {}
    for f in frames:
        by.setdefault(f.event, []).append(f.data)
    provider = PROVIDER_NAMES[agent.provider]
    for ev in by["ModelRequestStarted"]:
        assert ev["model"] == MODEL_IDS[agent.provider] and ev["model_provider"] == provider, ev
    done = by["ModelRequestCompleted"]
    assert [(d["input_tokens"], d["output_tokens"], d["total_tokens"]) for d in done] == \
        [(11, 7, 18), (20, 3, 23)], done
    for d in done:
        assert d["model"] == MODEL_IDS[agent.provider] and d["model_provider"] == provider, d
        assert isinstance(d["time_to_first_token"], float) and d["time_to_first_token"] >= 0, d
        assert (d["reasoning_tokens"], d["cache_read_tokens"], d["cache_write_tokens"]) == (0, 0, 0)

    started, completed = by["ToolCallStarted"][0]["tool"], by["ToolCallCompleted"][0]
    assert set(started) == TOOL_KEYS, sorted(started)
    assert started["tool_name"] == "current_time" and started["tool_args"] == {"timezone": "UTC"}
    assert started["tool_call_error"] is None and started["result"] is None
    assert started["metrics"] is None and started["stop_after_tool_call"] is False
    assert isinstance(started["created_at"], int)
    for k in TOOL_KEYS - {"tool_call_id", "tool_name", "tool_args", "tool_call_error", "result",
                          "metrics", "stop_after_tool_call", "created_at"}:
        assert started[k] is None, k
    tool = completed["tool"]
    assert set(tool) == TOOL_KEYS, sorted(tool)
    assert tool["tool_call_id"] == started["tool_call_id"]
    assert tool["tool_call_error"] is False and tool["result"]
    assert set(tool["metrics"]) == {"start_time", "end_time", "duration"}, tool["metrics"]
    assert re.fullmatch(r"current_time\(timezone=UTC\) completed in \d+\.\d{4}s\. ",
                        completed["content"]), completed["content"]

    for c in by["RunContent"]:
        assert c["content_type"] == "str" and c["workflow_agent"] is False, c
        assert c["reasoning_content"] == "" and c["model_provider_data"]["id"], c
    assert end["model_provider_data"] == by["RunContent"][-1]["model_provider_data"], end
    assert set(by["RunContentCompleted"][0]) == BASE_KEYS, by["RunContentCompleted"][0]
    assert content_of(frames) == end["content"] == "It is noon."
    m = end["metrics"]
    check_metrics(m, 31, 10)
    assert m["details"] == {"model": [{"input_tokens": 31, "output_tokens": 10, "total_tokens": 41,
                                       "id": MODEL_IDS[agent.provider],
                                       "provider": DETAIL_PROVIDERS[agent.provider]}]}, m

    # The stored run has the same metrics.
    row = wait_status(srv, agent, user, end["run_id"], ("COMPLETED",))
    assert row["metrics"]["details"] == m["details"], row["metrics"]
    assert row["tools"][0]["result"] == tool["result"], row["tools"]


def test_plain_run_sequence(srv, oa, user):
    oa.script({"text": "one two three"})
    frames = stream(srv, oa, user, "count").read_all()
    names = [f.event for f in frames]
    assert collapse(names) == ["RunStarted", "ModelRequestStarted", "RunContent",
                               "ModelRequestCompleted", "RunContentCompleted", "RunCompleted"], names


def test_non_streamed_run_metrics_details(srv, agent, user):
    agent.script({"text": "A whole answer.", "usage": {"input_tokens": 12, "output_tokens": 3}})
    r = run_sync(srv, agent, user, "answer whole")
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["model_provider"] == PROVIDER_NAMES[agent.provider], run
    details = {"model": [{"input_tokens": 12, "output_tokens": 3, "total_tokens": 15,
                          "id": MODEL_IDS[agent.provider],
                          "provider": DETAIL_PROVIDERS[agent.provider]}]}
    assert run["metrics"]["details"] == details, run["metrics"]
    row = get_run(srv, agent, user, run["run_id"]).json()
    assert row["metrics"]["details"] == details, row["metrics"]


def test_failing_tool_is_a_tool_call_error(srv, oa, user, tools):
    oa.script({"tool_calls": [{"name": "broken", "arguments": {"q": "x"}}]},
              {"text": "It failed."})
    frames = stream(srv, oa, user, "use the broken tool").read_all()
    check_run_stream(frames, "RunCompleted")
    names = [f.event for f in frames]
    tool_events = [n for n in names if n.startswith("ToolCall")]
    assert tool_events == ["ToolCallStarted", "ToolCallCompleted", "ToolCallError"], names
    completed = next(f.data for f in frames if f.event == "ToolCallCompleted")
    err = next(f.data for f in frames if f.event == "ToolCallError")
    assert completed["tool"]["tool_call_error"] is True, completed
    assert completed["content"].startswith("broken(q=x) completed in "), completed
    assert set(err) == {*BASE_KEYS, "tool", "error"}, sorted(err)
    assert set(err["tool"]) == TOOL_KEYS
    assert "500" in err["error"] and err["error"] == err["tool"]["result"], err
    check_no_top_level_nulls(frames)


def test_run_error_has_error_type(srv, agent, user):
    # Two 500s: the shared service retries once.
    agent.script({"status": 500, "message": "upstream down"}, {"status": 500, "message": "upstream down"})
    frames = stream(srv, agent, user, "fail please").read_all()
    end = check_run_stream(frames, "RunError")
    assert [f.event for f in frames] == ["RunStarted", "ModelRequestStarted", "RunError"]
    assert end["error_type"] == "model_provider_error", end
    assert "upstream down" in end["content"], end
    check_no_top_level_nulls(frames)
    # Answered whole: still 200, the run's status says it failed.
    agent.script({"status": 500}, {"status": 500})
    r = run_sync(srv, agent, user, "fail again")
    assert r.status_code == 200 and r.json()["status"] == "ERROR", r.text


def test_cancelled_run_has_reason_and_partial_content(srv, agent, user):
    agent.script({"text": words(40), "chunk_delay_ms": 100})
    rs = stream(srv, agent, user, "talk slowly")
    first = rs.until("RunContent")
    run_id = first.data["run_id"]
    # Some text went out before the cancel.
    while content_of(rs.frames) != "w0 w1 w2 w3":
        f = rs.next()
        assert f is not None and f.event == "RunContent", f
    assert cancel(srv, agent, user, run_id).status_code == 200
    frames = rs.read_all()
    end = check_run_stream(frames, "RunCancelled")
    assert end["reason"] == f"Run {run_id} was cancelled", end
    streamed = content_of(frames)
    assert end["content"] == streamed and streamed.startswith("w0 w1 w2 w3"), (end, streamed)
    assert streamed != words(40)
    wait_status(srv, agent, user, run_id, ("CANCELLED",), timeout=3)


def test_cancel_content_too_large_for_a_frame_is_omitted(tight, oa, user):
    """A 4 KiB SSE cap: a RunCancelled holding more text than one frame may
    goes without it (content_omitted), rather than ending the stream short."""
    oa.script({"text": words(2000), "chunks": 400, "chunk_delay_ms": 5})
    rs = stream(tight, oa, user, "talk a lot")
    first = rs.until("RunContent")
    while len(content_of(rs.frames)) < 5000:
        f = rs.next()
        assert f is not None and f.event == "RunContent", f
    assert cancel(tight, oa, user, first.data["run_id"]).status_code == 200
    frames = rs.read_all()
    end = check_run_stream(frames, "RunCancelled")
    assert "content" not in end and end["content_omitted"] is True, end
    assert end["reason"] == f"Run {first.data['run_id']} was cancelled", end
