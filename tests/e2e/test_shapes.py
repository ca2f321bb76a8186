"""Our replies checked with agno 3.1.10's own pydantic schemas (issue 8 item 4)."""
from __future__ import annotations

from conftest import api_for, assert_error

# agno (with what agno.os imports) is pinned in requirements.txt: a missing
# one is an ImportError that fails this module, never a weaker check.
from agno.os.schema import AgentSessionDetailSchema, SessionSchema


def test_session_detail_validates_with_agnos_schema(svc):
    api = api_for(svc)
    created = api.create_ok({"session_id": "shape-1"})
    assert created["session_state"] == {}  # not null
    AgentSessionDetailSchema.model_validate(created)
    detail = api.get("shape-1").json()
    AgentSessionDetailSchema.model_validate(detail)
    assert detail["metrics"] == {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}, detail
    for item in api.list_ok()["data"]:
        SessionSchema.model_validate(item)


def test_rename_and_patch_answer_the_full_detail(svc):
    api = api_for(svc)
    api.create_ok({"session_id": "shape-2"})
    for method, path, body in (("POST", "/sessions/shape-2/rename", {"session_name": "n"}),
                               ("PATCH", "/sessions/shape-2", {"metadata": {"a": 1}})):
        r = api.req(method, path, json=body)
        assert r.status_code == 200, r.text
        d = r.json()
        assert d["agent_session_id"] == "shape-2" and "chat_history" in d, d
        AgentSessionDetailSchema.model_validate(d)


def test_422_is_fastapis_list_form(svc):
    api = api_for(svc)
    body = assert_error(api.create({"session_name": 5}), 422, "VALIDATION_ERROR")
    assert body["detail"] == [{"type": "string_type", "loc": ["body", "session_name"],
                               "msg": "must be a string", "input": 5}], body
    r = api.bulk_delete({"session_ids": ["x"], "session_types": ["bogus"]})
    assert assert_error(r, 422)["detail"][0]["loc"] == ["body", "session_types"]
