"""A run's session_state and metadata inputs, as Agno 3.1.10 takes them
(POST /agents/{id}/runs): JSON text in a form field, or objects in a JSON
body. session_state is merged into the session's stored state (the given
keys win, nested objects merged key by key: Agno's merge_dictionaries) and
written back; metadata is kept on the run row and shown on the run objects
and RunCompleted. On both store back ends."""

from __future__ import annotations

import json
import secrets

import psycopg
import pytest

from conftest import assert_error, launch, random_name
from runs_fixtures import mock, tools  # noqa: F401 (pytest fixtures)
from runs_support import RunStream, check_run_stream
from test_runs import SHARED, new_user, oa, run_sync, stack, stream, user  # noqa: F401


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def isrv(request, stack, tmp_path_factory):
    """A service of this module's own on either back end."""
    env = stack.server_env(**SHARED)
    schema = None
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        schema = random_name("t_")
        env.update(DATABASE_URL=url, DATABASE_SCHEMA=schema)
    s = launch(tmp_path_factory.mktemp(f"inputs-{request.param}"), env=env)
    yield s
    s.check_clean_exit()
    if schema is not None:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def sid() -> str:
    return f"in-{secrets.token_hex(4)}"


def session(srv, user, session_id: str) -> dict:
    r = srv.get(f"/sessions/{session_id}", headers=user.h)
    assert r.status_code == 200, r.text
    return r.json()


def stored_run(srv, agent, user, run_id: str) -> dict:
    r = srv.get(f"/agents/{agent.id}/runs/{run_id}", headers=user.h)
    assert r.status_code == 200, r.text
    return r.json()


def session_runs(srv, user, session_id: str) -> list[dict]:
    r = srv.get(f"/sessions/{session_id}/runs", headers=user.h, params={"type": "agent"})
    assert r.status_code == 200, r.text
    return r.json()


def test_json_body_inputs(isrv, oa, user):
    oa.script({"text": "noted"})
    s = sid()
    state = {"cart": ["apple"], "prefs": {"lang": "en"}}
    meta = {"source": "e2e", "n": 3}
    r = run_sync(isrv, oa, user, "remember", session_id=s, session_state=state, metadata=meta)
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["status"] == "COMPLETED", run
    assert run["session_state"] == state and run["metadata"] == meta, run
    assert session(isrv, user, s)["session_state"] == state
    assert stored_run(isrv, oa, user, run["run_id"])["metadata"] == meta
    [listed] = session_runs(isrv, user, s)
    assert listed["metadata"] == meta, listed


def test_form_inputs_merge_into_the_stored_state(isrv, oa, user):
    s = sid()
    oa.script({"text": "one"}, {"text": "two"}, {"text": "three"})
    first = RunStream(isrv.base_url, oa.id, user.token,
                      data={"message": "first", "session_id": s,
                            "session_state": json.dumps({"a": 1, "n": {"x": 1}, "keep": True})})
    assert first.status_code == 200
    end = check_run_stream(first.read_all(), "RunCompleted")
    assert end["session_state"] == {"a": 1, "n": {"x": 1}, "keep": True}, end
    assert "metadata" not in end  # none given: left out, as Agno's to_dict drops None

    # The given keys win; nested objects are merged key by key.
    second = RunStream(isrv.base_url, oa.id, user.token,
                       data={"message": "second", "session_id": s,
                             "session_state": json.dumps({"a": 5, "b": 2, "n": {"y": 2}}),
                             "metadata": json.dumps({"channel": "form"})})
    assert second.status_code == 200
    end = check_run_stream(second.read_all(), "RunCompleted")
    merged = {"a": 5, "b": 2, "n": {"x": 1, "y": 2}, "keep": True}
    assert end["session_state"] == merged, end
    assert end["metadata"] == {"channel": "form"}, end
    assert session(isrv, user, s)["session_state"] == merged
    assert stored_run(isrv, oa, user, end["run_id"])["metadata"] == {"channel": "form"}

    # A run without session_state leaves the state as it is, and says it.
    r = run_sync(isrv, oa, user, "third", session_id=s)
    assert r.status_code == 200, r.text
    assert r.json()["session_state"] == merged and r.json()["metadata"] is None, r.json()
    assert session(isrv, user, s)["session_state"] == merged
    metas = [x["metadata"] for x in session_runs(isrv, user, s)]
    assert metas == [None, {"channel": "form"}, None], metas


def test_multipart_inputs_and_a_state_set_by_patch(isrv, oa, user):
    s = sid()
    created = isrv.request("POST", "/sessions", headers=user.h,
                           json={"session_id": s, "session_state": {"old": 1, "a": 0}})
    assert created.status_code in (200, 201), created.text
    oa.script({"text": "multipart"})
    boundary = "----e2e" + secrets.token_hex(8)
    parts = [("message", "go"), ("stream", "false"), ("session_id", s),
             ("session_state", json.dumps({"a": 1})), ("metadata", json.dumps({"k": "v"}))]
    body = b"".join((f"--{boundary}\r\nContent-Disposition: form-data; name=\"{n}\"\r\n\r\n"
                     f"{v}\r\n").encode() for n, v in parts) + f"--{boundary}--\r\n".encode()
    r = isrv.request("POST", f"/agents/{oa.id}/runs", content=body,
                     headers={**user.h,
                              "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 200, r.text
    assert r.json()["session_state"] == {"old": 1, "a": 1}, r.json()
    assert r.json()["metadata"] == {"k": "v"}
    assert session(isrv, user, s)["session_state"] == {"old": 1, "a": 1}


def test_empty_form_values_are_no_values(isrv, oa, user):
    oa.script({"text": "empty"})
    r = isrv.request("POST", f"/agents/{oa.id}/runs", headers=user.h,
                     data={"message": "x", "stream": "false", "session_state": "",
                           "metadata": ""})
    assert r.status_code == 200, r.text
    assert r.json()["session_state"] == {} and r.json()["metadata"] is None, r.json()


@pytest.mark.parametrize("field", ["session_state", "metadata"])
def test_bad_values_are_422(isrv, oa, user, field):
    path = f"/agents/{oa.id}/runs"
    big = json.dumps({"k": "x" * (64 * 1024)})
    cases = [
        ({"data": {"message": "x", field: "[1, 2]"}}, "dict_type"),
        ({"data": {"message": "x", field: "{not json"}}, "json_invalid"),
        ({"data": {"message": "x", field: big}}, "too_long"),
        ({"json": {"message": "x", field: 5}}, "dict_type"),
        ({"json": {"message": "x", field: ["a"]}}, "dict_type"),
        ({"json": {"message": "x", field: json.loads(big)}}, "too_long"),
    ]
    for kw, kind in cases:
        body = assert_error(isrv.request("POST", path, headers=user.h, **kw), 422,
                            "VALIDATION_ERROR")
        [item] = body["detail"]
        assert item["loc"] == ["body", field] and item["type"] == kind, (kw, item)
    assert oa.model_requests() == []  # none reached the model


def test_another_workspace_never_touches_the_state(isrv, oa):
    a, b = new_user(), new_user()
    s = sid()
    oa.script({"text": "a"}, {"text": "b"})
    r = run_sync(isrv, oa, a, "mine", session_id=s, session_state={"owner": "a", "x": 1})
    assert r.status_code == 200, r.text
    r = run_sync(isrv, oa, b, "theirs", session_id=s, session_state={"owner": "b"},
                 metadata={"who": "b"})
    assert r.status_code == 200, r.text
    # B's run made B's own session of that id; A's is as A left it.
    assert r.json()["session_state"] == {"owner": "b"}, r.json()
    assert session(isrv, a, s)["session_state"] == {"owner": "a", "x": 1}
    assert session(isrv, b, s)["session_state"] == {"owner": "b"}
    assert [x["metadata"] for x in session_runs(isrv, a, s)] == [None]


def test_a_state_grown_past_its_bound_fails_the_run(isrv, oa, user):
    """Each run's keys are bounded; what they sum to in the session is too."""
    s = sid()
    big = {"big": "x" * 1_000_000}
    created = isrv.request("POST", "/sessions", headers=user.h,
                           json={"session_id": s, "session_state": big})
    assert created.status_code in (200, 201), created.text
    r = run_sync(isrv, oa, user, "grow", session_id=s, session_state={"more": "y" * 60_000})
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["status"] == "ERROR" and "1 MiB" in run["content"], run["content"]
    assert session(isrv, user, s)["session_state"] == big
    assert oa.model_requests() == []  # failed before the model was called
