"""What the service acknowledged survives a restart, on both back ends: the
second process opens the same SQLite data dir / PostgreSQL schema."""

from conftest import api_for, assert_error, ms_now


def test_sessions_survive_a_restart(backend, start_server):
    first = start_server(env=backend.env)
    a = api_for(first, "ws-a", sub="alice")
    b = api_for(first, "ws-b", sub="bob")
    a.create_ok({"session_id": "keep", "session_name": "kept", "agent_id": "ag",
                 "session_state": {"n": 1, "deep": {"list": [1, "two", None]}},
                 "metadata": {"tag": "x"}})
    r = a.patch("keep", {"session_state": {"n": 2}})
    assert r.status_code == 200, r.text
    a.create_ok({"session_id": "gone"})
    assert a.delete("gone").status_code == 204
    b.create_ok({"session_id": "keep", "session_name": "B's"})
    backend.db.insert_run("ws-a", "keep", "r1", ms_now(), input={"input_content": "q"},
                          content="a", messages=[{"role": "user", "content": "q"}])
    # the last writes go straight before SIGTERM: acknowledged means durable
    many = [a.create_ok({"session_id": f"m-{i:02d}"})["session_id"] for i in range(20)]
    before = {
        "keep": a.get("keep").json(),
        "runs": a.runs("keep").json(),
        "list": a.list_ok(limit=100, sort_order="asc"),
        "b": b.get("keep").json(),
    }
    first.check_clean_exit()

    second = start_server(env=backend.env)
    a = api_for(second, "ws-a", sub="alice")
    b = api_for(second, "ws-b", sub="bob")
    assert a.get("keep").json() == before["keep"]
    assert a.get("keep").json()["session_state"] == {"n": 2}
    assert a.runs("keep").json() == before["runs"]
    after = a.list_ok(limit=100, sort_order="asc")
    assert after["data"] == before["list"]["data"]
    assert after["meta"]["total_count"] == 21
    assert set(many) <= {s["session_id"] for s in after["data"]}
    assert_error(a.get("gone"), 404, "NOT_FOUND")
    assert b.get("keep").json() == before["b"]
    # and the restarted service writes as before
    a.create_ok({"session_id": "new-after-restart"})
    assert_error(a.create({"session_id": "keep"}), 409, "CONFLICT")
    assert a.list_ok()["meta"]["total_count"] == 22

