"""What the compatibility tests measure with: Agno's own app and OpenAPI
document (the oracle), and the stack our server runs on (one agent on the
scripted model, OS_SECURITY_KEY for service and operator calls)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import jsonschema
import pytest

from runs_support import MockModel, write_agent

KEY = "compat-os-key-0123456789abcdef"
WS = "ws-compat"
USER = "user-compat"
AGENT_ID = "compat-agent"
MODEL_ID = "gpt-4o-mini"


def pending(*branches: str):
    """A check of what another branch is building: a strict xfail, so it
    fails the moment the work lands and the integrator removes the mark."""
    return pytest.mark.xfail(strict=True, reason="lands with " + " + ".join(branches))


# ================================================================ the oracle


def _date_time(value) -> bool:
    """RFC 3339 date-time, as pydantic and FastAPI write it ("...Z")."""
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


_FORMATS = jsonschema.FormatChecker(formats=())
_FORMATS.checks("date-time")(_date_time)


def current_time() -> str:
    """The current date and time."""
    return '{"time": "12:00"}'


# Requests Agno answers 422, by name: (method, path template, path, request kwargs).
# Agno's reply to each is recorded; ours must have the same items (type, loc).
CASES_422 = {
    "form_missing_message": ("POST", "/agents/{agent_id}/runs", f"/agents/{AGENT_ID}/runs",
                             {"data": {"stream": "false"}}),
    "form_bad_bool": ("POST", "/agents/{agent_id}/runs", f"/agents/{AGENT_ID}/runs",
                      {"data": {"message": "x", "stream": "maybe"}}),
    "query_bad_date": ("GET", "/metrics", "/metrics", {"params": {"starting_date": "bad"}}),
    "query_bad_int": ("GET", "/sessions", "/sessions", {"params": {"limit": "abc"}}),
    "query_bad_enum": ("GET", "/sessions", "/sessions", {"params": {"sort_order": "up"}}),
    "query_bad_type": ("GET", "/sessions", "/sessions", {"params": {"type": "bogus"}}),
    "body_bad_string": ("POST", "/sessions", "/sessions", {"json": {"session_name": 5}}),
    "body_bad_dict": ("POST", "/sessions", "/sessions", {"json": {"session_state": "x"}}),
    "body_missing_name": ("POST", "/sessions/{session_id}/rename", "/sessions/x/rename",
                          {"json": {}}),
    "patch_bad_string": ("PATCH", "/sessions/{session_id}", "/sessions/x",
                         {"json": {"session_name": 3}}),
    "delete_missing_types": ("DELETE", "/sessions", "/sessions",
                             {"json": {"session_ids": ["x"]}}),
}

TOOL_SCRIPT = [{"tool_calls": [{"name": "current_time", "arguments": {}}]}, {"text": "It is noon."}]


@dataclass
class Oracle:
    """A real agno 3.1.10 AgentOS, built in-process: its OpenAPI document, a
    test client on the app itself, and Agno's own replies for the same script
    our server is given (one tool-using run on the scripted model, which runs
    locally: nothing reaches the network)."""

    spec: dict
    client: object  # fastapi.testclient.TestClient on Agno's app
    replies: dict = field(default_factory=dict)

    @classmethod
    def build(cls, tmp: Path, mock: MockModel) -> "Oracle":
        from agno.agent import Agent
        from agno.db.sqlite import SqliteDb
        from agno.models.openai import OpenAIChat
        from agno.os import AgentOS
        from fastapi.testclient import TestClient

        key = f"sk-test-agno-{secrets.token_hex(6)}"
        db = SqliteDb(db_file=str(tmp / "agno.db"))
        agent = Agent(id=AGENT_ID, name="Compat Agent", description="An agent",
                      instructions=["Answer briefly."], db=db, tools=[current_time],
                      add_history_to_context=True, num_history_runs=2, tool_call_limit=4,
                      model=OpenAIChat(id=MODEL_ID, api_key=key, base_url=f"{mock.url}/v1"))
        app = AgentOS(id="agno-os", agents=[agent], telemetry=False).get_app()
        oracle = cls(spec=app.openapi(), client=TestClient(app))
        mock.script(key, TOOL_SCRIPT)
        oracle._record(mock)
        return oracle

    def _get(self, name: str, path: str, **kw) -> None:
        r = self.client.get(path, **kw)
        assert r.status_code == 200, (name, r.status_code, r.text[:300])
        self.replies[name] = r.json()

    def _record(self, mock: MockModel) -> None:
        """Agno's replies, by name, for the routes we share."""
        c = self.client
        r = c.post(f"/agents/{AGENT_ID}/runs", data={"message": "what time is it?", "stream": "false",
                                                     "session_id": "agno-s", "user_id": USER})
        assert r.status_code == 200, r.text[:300]
        run = self.replies["run"] = r.json()
        rid = run["run_id"]
        for name, path in (("root", "/"), ("health", "/health"), ("info", "/info"),
                           ("config", "/config"), ("agents", "/agents"),
                           ("agent", f"/agents/{AGENT_ID}"), ("sessions", "/sessions"),
                           ("session", "/sessions/agno-s"), ("session_runs", "/sessions/agno-s/runs"),
                           ("session_run", f"/sessions/agno-s/runs/{rid}"),
                           ("run_previews", "/sessions/agno-s/run-previews"),
                           ("metrics_refresh", None), ("metrics", "/metrics")):
            if name == "metrics_refresh":
                r = c.post("/metrics/refresh")
                assert r.status_code == 200, r.text[:300]
                self.replies[name] = r.json()
            else:
                self._get(name, path)
        self._get("agent_run", f"/agents/{AGENT_ID}/runs/{rid}", params={"session_id": "agno-s"})
        self._get("agent_runs", f"/agents/{AGENT_ID}/runs", params={"session_id": "agno-s"})
        r = c.post("/sessions", params={"type": "agent"},
                   json={"session_id": "agno-new", "agent_id": AGENT_ID, "user_id": USER})
        assert r.status_code == 201, r.text[:300]
        self.replies["session_created"] = r.json()
        r = c.post("/sessions/agno-new/rename", json={"session_name": "renamed"})
        self.replies["session_renamed"] = r.json()
        r = c.patch("/sessions/agno-new", json={"metadata": {"a": 1}})
        self.replies["session_patched"] = r.json()
        for name, (method, _, path, kw) in CASES_422.items():
            r = c.request(method, path, **kw)
            assert r.status_code == 422, (name, r.status_code, r.text[:300])
            self.replies["422:" + name] = r.json()

    def response_schema(self, path: str, method: str, status: int) -> dict:
        op = self.spec["paths"][path][method.lower()]
        resp = op["responses"][str(status)]
        return resp["content"]["application/json"]["schema"]

    def errors(self, path: str, method: str, status: int, body) -> list[str]:
        """Where body breaks Agno's response schema for that route and status."""
        schema = {**self.response_schema(path, method, status),
                  "components": self.spec["components"]}
        v = jsonschema.Draft202012Validator(schema, format_checker=_FORMATS)
        return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                for e in v.iter_errors(body)]

    def check(self, path: str, method: str, status: int, resp: httpx.Response):
        """Our reply has Agno's status and a body valid against its schema;
        the body."""
        assert resp.status_code == status, (method, path, resp.status_code, resp.text[:500])
        body = resp.json()
        errs = self.errors(path, method, status, body)
        assert not errs, f"{method} {path}: not Agno's shape:\n  " + "\n  ".join(errs[:20])
        return body


def missing_keys(ours, agnos, prefix: str = "") -> list[str]:
    """The keys (nested, dotted; a list's items as "[]") Agno sends that our
    reply lacks. List items are compared by role where they have one (a
    message), else the first with the first."""
    out = []
    if isinstance(agnos, list) and isinstance(ours, list):
        for i, a in enumerate(agnos):
            if not isinstance(a, dict):
                continue
            same = [o for o in ours if isinstance(o, dict) and o.get("role") == a.get("role")]
            if same or (ours and "role" not in a and i == 0):
                out += missing_keys(same[0] if same else ours[0], a, prefix + "[].")
        return sorted(set(out))
    if not isinstance(agnos, dict) or not isinstance(ours, dict):
        return out
    for k, v in agnos.items():
        name = prefix + k
        if k not in ours:
            out.append(name)
        else:
            out += missing_keys(ours[k], v, name + ".")
    return sorted(set(out))


# ================================================================ our stack


def key_headers(workspace: str | None = None, user: str | None = None) -> dict[str, str]:
    """The security key: a service call into workspace (as user), or an
    operator without one."""
    h = {"Authorization": f"Bearer {KEY}"}
    if workspace is not None:
        h["X-Workspace-Id"] = workspace
    if user is not None:
        h["X-User-Id"] = user
    return h


SERVICE = key_headers(WS, USER)
OPERATOR = key_headers()


@dataclass
class CompatStack:
    """One agent on the scripted model, and what seed() left behind: a
    session with one finished tool-using run, in workspace WS."""

    tmp: Path
    mock: MockModel
    server: object = None
    env: dict = field(default_factory=dict)
    model_key: str = ""
    session_id: str = ""
    run_id: str = ""

    def __post_init__(self) -> None:
        agents = self.tmp / "agents"
        agents.mkdir()
        self.model_key = f"sk-test-compat-{secrets.token_hex(6)}"
        write_agent(agents, {
            "id": AGENT_ID, "name": "Compat Agent", "description": "An agent",
            "instructions": ["Answer briefly."],
            "model": {"provider": "openai", "id": MODEL_ID, "base_url": f"{self.mock.url}/v1",
                      "api_key_env": "COMPAT_MODEL_KEY"},
            "tools": ["current_time"],
            "add_history_to_context": True, "num_history_runs": 2, "tool_call_limit": 4,
        })
        self.env = {"AGENTS_DIR": str(agents), "COMPAT_MODEL_KEY": self.model_key,
                    "OS_SECURITY_KEY": KEY, "RATE_LIMIT_PER_MINUTE": "0"}

    def script(self, *steps: dict) -> None:
        self.mock.script(self.model_key, list(steps))

    def tool_run_script(self, text: str = "It is noon.") -> None:
        self.script({"tool_calls": [{"name": "current_time", "arguments": {}}]}, {"text": text})

    def seed(self) -> None:
        """A tool-using run in a session of WS, as the service caller, sent as
        Agno's client sends it (form fields)."""
        self.session_id = "compat-s-" + secrets.token_hex(4)
        self.tool_run_script()
        r = self.server.request("POST", f"/agents/{AGENT_ID}/runs", headers=SERVICE,
                                data={"message": "what time is it?", "stream": "false",
                                      "session_id": self.session_id}, timeout=20)
        assert r.status_code == 200, (r.status_code, r.text)
        run = r.json()
        assert run.get("status") == "COMPLETED", run
        self.run_id = run["run_id"]

    def get(self, path: str, headers: dict | None = None, **kw) -> httpx.Response:
        return self.server.request("GET", path, headers=SERVICE if headers is None else headers,
                                   **kw)

    def request(self, method: str, path: str, headers: dict | None = None,
                **kw) -> httpx.Response:
        return self.server.request(method, path,
                                   headers=SERVICE if headers is None else headers, **kw)


def dump(body) -> str:
    return json.dumps(body, indent=1)[:3000]
