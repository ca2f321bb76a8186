"""Our own spec, both ways (issue 8 items 7 and 8): every route the server
serves is in /openapi.json, and every route /openapi.json documents
answers. Plus /docs: Swagger UI from shipped assets only."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, assert_error, bearer, make_token

SPEC_FILE = REPO / "docs" / "openapi.json"
ROUTES_C = REPO / "src" / "api" / "routes.c"
METHODS = {"get", "post", "put", "patch", "delete"}


def route_table() -> set[tuple[str, str]]:
    """(method, pattern) of every route in the route table."""
    text = ROUTES_C.read_text()
    found = set(re.findall(r'\{\s*"([A-Z]+)",\s*"([^"]+)",\s*\w+\s*,', text))
    assert found, "no routes parsed from src/api/routes.c"
    return found


def spec() -> dict:
    return json.loads(SPEC_FILE.read_bytes())


def documented() -> set[tuple[str, str]]:
    return {(m.upper(), path) for path, ops in spec()["paths"].items()
            for m in ops if m in METHODS}


def test_the_file_is_openapi_3_1():
    doc = spec()
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] and doc["info"]["version"]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["OSSecurityKey"]["scheme"] == "bearer"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op.get("responses"), (method, path)


def test_every_ref_resolves():
    doc = spec()
    text = json.dumps(doc)
    for ref in set(re.findall(r'"\$ref": "#/components/(\w+)/([^"]+)"', text)):
        assert ref[1] in doc["components"][ref[0]], ref


def test_served_as_is(server):
    r = server.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.content == SPEC_FILE.read_bytes()


def test_every_served_route_is_documented():
    missing = route_table() - documented()
    assert not missing, f"routes without a spec entry: {sorted(missing)}"


def fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "no-such-id", path)


def router_refused(r) -> bool:
    """The router's own answer: no such route (404 "Not Found") or method (405).
    A handler's 404 names what it did not find."""
    if r.status_code == 405:
        return True
    return r.status_code == 404 and r.json().get("detail") == "Not Found"


@pytest.mark.parametrize("method,path", sorted(documented()))
def test_every_documented_route_answers(server, method, path):
    if (method, path) not in route_table():
        pytest.fail(f"{method} {path} is documented but not in the route table")
    r = server.request(method, fill(path), headers=bearer(make_token()))
    assert not router_refused(r), (r.status_code, r.text)


def test_workspace_routes_document_the_service_headers():
    doc = spec()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if op.get("security") and "/sessions" in path:
                names = {p.get("$ref", "").rsplit("/", 1)[-1] for p in op["parameters"]}
                assert {"XWorkspaceId", "XUserId"} <= names, (method, path)
                assert "401" in op["responses"] and "403" in op["responses"]


def test_the_file_is_what_the_generator_makes():
    """The generator reads Agno's document from the installed agno (pinned in
    requirements.txt), so this runs wherever the tests do: no agno fails it."""
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "gen_openapi.py")],
                         capture_output=True)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    assert out.stdout == SPEC_FILE.read_bytes(), "run scripts/gen_openapi.py again"


# ---------------------------------------------------------------- /docs


def test_docs_page_uses_local_assets_only(server):
    r = server.get("/docs")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert not re.search(r"https?://", html), "the page must not fetch from the internet"
    assert "/openapi.json" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sorted(assets) == ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"]
    types = {".js": "text/javascript", ".css": "text/css"}
    for a in assets:
        got = server.get(a)
        assert got.status_code == 200, a
        assert got.headers["content-type"].startswith(types[Path(a).suffix]), a
        assert len(got.content) > 1000


def test_docs_need_no_credential_and_ignore_a_bad_one(server):
    for path in ("/docs", "/openapi.json", "/docs/swagger-ui.css"):
        assert server.get(path, headers=bearer("garbage")).status_code == 200


def test_missing_assets_answer_503_and_the_service_runs(start_server, tmp_path):
    empty = tmp_path / "static"
    empty.mkdir()
    s = start_server(env={"AGENTOS_STATIC_DIR": str(empty)})
    assert s.get("/health").status_code == 200
    body = assert_error(s.get("/docs"), 503, "DOCS_UNAVAILABLE")
    assert "Swagger UI" in body["detail"]
    assert_error(s.get("/docs/swagger-ui-bundle.js"), 503, "DOCS_UNAVAILABLE")
    assert_error(s.get("/openapi.json"), 503, "OPENAPI_UNAVAILABLE")
    # No asset outside the allow-list, whatever the name.
    for bad in ("/docs/swagger-ui.js", "/docs/index.html", "/docs/swagger-ui-bundle.js.map"):
        assert s.get(bad).status_code == 404, bad


def test_static_dir_is_configurable(start_server, tmp_path):
    d = tmp_path / "static"
    (d / "swagger-ui").mkdir(parents=True)
    (d / "openapi.json").write_text('{"openapi": "3.1.0", "x": 1}')
    (d / "swagger-ui" / "swagger-ui-bundle.js").write_text("window.SwaggerUIBundle = 1;")
    (d / "swagger-ui" / "swagger-ui.css").write_text("body {}")
    s = start_server(env={"AGENTOS_STATIC_DIR": str(d)})
    assert s.get("/openapi.json").json() == {"openapi": "3.1.0", "x": 1}
    assert s.get("/docs/swagger-ui.css").text == "body {}"
