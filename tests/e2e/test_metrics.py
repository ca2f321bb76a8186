"""Metrics (issue 8, items 5 and 6): Agno's GET /metrics and POST
/metrics/refresh for the caller's workspace, from the daily rollups; and
the Prometheus text at GET /metrics/prometheus, parsed here by a small
parser of the 0.0.4 text format (no package for it in the venv)."""

from __future__ import annotations

import datetime as dt
import re
import secrets

import pytest

from conftest import assert_error, bearer, launch, make_token, wait_until
from runs_support import write_agent
from runs_fixtures import mock  # noqa: F401 (pytest fixtures)
# Agno 3.1.10's nine counters, in its order (agno/db/*/utils.py calculate_date_metrics).
TOKENS = ["input_tokens", "output_tokens", "total_tokens", "audio_total_tokens",
          "audio_input_tokens", "audio_output_tokens", "cache_read_tokens", "cache_write_tokens",
          "reasoning_tokens"]
DAY_KEYS = {"id", "agent_runs_count", "agent_sessions_count", "team_runs_count",
            "team_sessions_count", "workflow_runs_count", "workflow_sessions_count", "users_count",
            "token_metrics", "model_metrics", "date", "created_at", "updated_at"}


def start(tmp_path_factory, mock, **env):
    tmp = tmp_path_factory.mktemp("metrics")
    agents = tmp / "agents"
    agents.mkdir()
    key = f"sk-test-{secrets.token_hex(6)}"
    for aid, provider, model in (("oa", "openai", "mock-gpt"), ("an", "anthropic", "mock-claude")):
        write_agent(agents, {"id": aid, "name": f"Agent {aid}", "instructions": ["Be brief."],
                             "model": {"provider": provider, "id": model,
                                       "base_url": f"{mock.url}/v1",
                                       "api_key_env": "E2E_METRICS_KEY"}})
    s = launch(tmp, env={"AGENTS_DIR": str(agents), "E2E_METRICS_KEY": key,
                         "RATE_LIMIT_PER_MINUTE": "0", **env})
    s.key = key
    return s


@pytest.fixture(scope="module")
def srv(tmp_path_factory, mock):
    s = start(tmp_path_factory, mock)
    yield s
    s.check_clean_exit()


@pytest.fixture(scope="module")
def public(tmp_path_factory, mock):
    s = start(tmp_path_factory, mock, METRICS_PUBLIC="true")
    yield s
    s.check_clean_exit()


def user(ws: str | None = None, sub: str | None = None) -> dict:
    tag = secrets.token_hex(4)
    return bearer(make_token(sub=sub or f"user-{tag}", workspaceId=ws or f"ws-{tag}"))


def run(s, mock, h, agent: str, tin: int, tout: int, text: str = "fine") -> None:
    mock.script(s.key, [{"text": text, "usage": {"input_tokens": tin, "output_tokens": tout}}])
    r = s.request("POST", f"/agents/{agent}/runs", headers=h,
                  data={"message": "hi", "stream": "false"})
    assert r.status_code == 200, (r.status_code, r.text)


def today() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")


def metrics(s, h, **params) -> dict:
    r = s.get("/metrics", headers=h, params=params)
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()


def day_runs(body: dict) -> int:
    return sum(d["agent_runs_count"] for d in body["metrics"])


# ================================================================ GET /metrics


def test_metrics_has_the_workspace_runs_and_nothing_of_another(srv, mock):
    check_workspace_metrics(srv, mock)


def test_metrics_on_postgres(tmp_path_factory, mock, pg_url, pg_schema):
    s = start(tmp_path_factory, mock, DATABASE_URL=pg_url, DATABASE_SCHEMA=pg_schema)
    try:
        check_workspace_metrics(s, mock)
    finally:
        s.check_clean_exit()


def check_workspace_metrics(srv, mock):
    ws = f"ws-{secrets.token_hex(4)}"
    alice, bob = user(ws, "alice"), user(ws, "bob")
    other = user()
    run(srv, mock, alice, "oa", 11, 4)
    run(srv, mock, bob, "an", 7, 2)
    run(srv, mock, other, "oa", 1000, 1000)  # another workspace: never counted above
    body = wait_until(lambda: (b := metrics(srv, alice)) and day_runs(b) == 2 and b,
                      timeout=20, what="the two runs in /metrics")
    assert set(body) == {"metrics", "updated_at"}
    (day,) = body["metrics"]
    assert set(day) == DAY_KEYS
    assert day["id"] == f"{today()}_daily"
    assert day["date"] == f"{today()}T00:00:00Z"
    assert list(day["token_metrics"]) == TOKENS
    tm = day["token_metrics"]
    assert tm["input_tokens"] == 18
    assert tm["total_tokens"] == tm["input_tokens"] + tm["output_tokens"]
    assert day["users_count"] == 2
    assert day["agent_sessions_count"] == 2  # each run made its session: created today
    models = {m["model_id"]: m["count"] for m in day["model_metrics"]}
    assert models == {"mock-gpt": 1, "mock-claude": 1}
    assert all(set(m) == {"model_id", "model_provider", "count"} for m in day["model_metrics"])
    # providers spelled as Agno does
    assert {m["model_provider"] for m in day["model_metrics"]} == {"OpenAI", "Anthropic"}, day
    assert body["updated_at"] and body["updated_at"].endswith("Z")
    for k in ("date", "created_at", "updated_at"):  # date-times, as pydantic reads them
        dt.datetime.fromisoformat(day[k].replace("Z", "+00:00"))
    assert all(isinstance(day[k], int) and day[k] >= 0 for k in DAY_KEYS if k.endswith("_count"))
    # A range that ends yesterday has none of it.
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    assert metrics(srv, alice, ending_date=yesterday)["metrics"] == []
    # The other workspace sees its own run only.
    ob = wait_until(lambda: (b := metrics(srv, other)) and day_runs(b) == 1 and b, timeout=20)
    assert ob["metrics"][0]["token_metrics"]["input_tokens"] == 1000


def test_refresh_answers_the_days(srv, mock):
    h = user()
    run(srv, mock, h, "oa", 5, 5)
    wait_until(lambda: day_runs(metrics(srv, h)) == 1, timeout=20)
    r = srv.request("POST", "/metrics/refresh", headers=h)
    assert r.status_code == 200, r.text
    (day,) = r.json()
    assert set(day) == DAY_KEYS and day["agent_runs_count"] == 1
    r = srv.request("POST", "/metrics/refresh", headers=h, params={"background": "true"})
    assert r.status_code == 202 and r.json()["status"]


@pytest.mark.parametrize("params", [
    {"starting_date": "2026-13-01"}, {"ending_date": "2026-02-30"}, {"starting_date": "yesterday"},
    {"starting_date": ""}, {"ending_date": "2026-1-01"},
    {"starting_date": "2026-05-02", "ending_date": "2026-05-01"},  # backwards
    {"starting_date": "2024-01-01", "ending_date": "2026-01-01"},  # over 366 days
])
def test_bad_dates_are_422(srv, params):
    assert_error(srv.get("/metrics", headers=user(), params=params), 422)


def test_metrics_needs_a_workspace_token(srv):
    assert_error(srv.get("/metrics"), 401)
    assert_error(srv.get("/metrics", headers=bearer(make_token(sub="u", workspaceId=None))), 403)


# ================================================================ Prometheus

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse(text: str) -> dict:
    """{(name, frozenset(labels)): value}; asserts every line is well formed
    and every sample's family has a TYPE before it."""
    types, out = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram"), line
            types[name] = kind
            continue
        if line.startswith("#"):
            assert line.startswith("# HELP "), line
            continue
        m = SAMPLE.match(line)
        assert m, f"bad sample line: {line!r}"
        name, labels = m.group(1), {}
        if m.group(3):
            pos = 0
            for lm in LABEL.finditer(m.group(3)):
                assert lm.start() == pos, line
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
            assert pos == len(m.group(3)), line
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or family in types, f"no TYPE for {name}"
        key = (name, frozenset(labels.items()))
        assert key not in out, f"duplicate series {line!r}"
        out[key] = float(m.group(4))
    return out


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(s) -> dict:
    r = s.get("/metrics/prometheus")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(r.text)


def test_prometheus_counters_move(public, mock):
    before = scrape(public)
    h = user()
    sid = secrets.token_hex(6)
    assert_error(public.get(f"/sessions/raw-path-{sid}", headers=h), 404)
    run(public, mock, h, "oa", 30, 6)
    run(public, mock, h, "an", 20, 3)
    mock.script(public.key, [{"status": 400, "body": {"error": {"message": "bad"}}}])
    public.request("POST", "/agents/oa/runs", headers=h, data={"message": "x", "stream": "false"})
    after = wait_until(lambda: (a := scrape(public)) and value(
        a, "agentos_runs_total", outcome="ERROR") > value(
        before, "agentos_runs_total", outcome="ERROR") and a, timeout=20)
    text = public.get("/metrics/prometheus").text
    assert sid not in text  # the raw path is never a label
    route = {"method": "GET", "route": "/sessions/{session_id}", "status": "404"}
    assert value(after, "agentos_http_requests_total", **route) >= 1 + value(
        before, "agentos_http_requests_total", **route)
    runs = {"method": "POST", "route": "/agents/{agent_id}/runs", "status": "200"}
    assert value(after, "agentos_http_requests_total", **runs) >= 2 + value(
        before, "agentos_http_requests_total", **runs)
    assert value(after, "agentos_runs_total", outcome="COMPLETED") >= 2 + value(
        before, "agentos_runs_total", outcome="COMPLETED")
    assert value(after, "agentos_runs_in_flight") == 0
    for provider, tin in (("OpenAI", 30), ("Anthropic", 20)):
        got = value(after, "agentos_model_tokens_total", provider=provider, direction="input")
        assert got >= tin + value(before, "agentos_model_tokens_total", provider=provider,
                                  direction="input")
        count = value(after, "agentos_model_request_duration_seconds_count", provider=provider)
        assert count >= 1
        inf = value(after, "agentos_model_request_duration_seconds_bucket", provider=provider,
                    le="+Inf")
        assert inf == count
    n = value(after, "agentos_http_request_duration_seconds_count")
    assert n > value(before, "agentos_http_request_duration_seconds_count")
    assert value(after, "agentos_http_request_duration_seconds_bucket", le="+Inf") == n
    # The same token again is a cache hit: the ratio has both sides.
    assert value(after, "agentos_token_cache_hits_total") >= 1
    assert value(after, "agentos_token_cache_misses_total") >= 1
    assert ("agentos_store_errors_total", frozenset()) in after
    assert ("agentos_redis_errors_total", frozenset()) in after


def test_prometheus_is_closed_without_metrics_public(srv):
    assert_error(srv.get("/metrics/prometheus"), 401)
    assert_error(srv.get("/metrics/prometheus", headers=user()), 403)
    assert_error(srv.get("/metrics/prometheus", headers=bearer(make_token(sub="u", workspaceId=None))), 403)
