#!/usr/bin/env python3
"""Writes docs/openapi.json, the OpenAPI 3.1 document /openapi.json serves.

Where we share a route with Agno 3.1.10, the operation and its component
schemas are Agno's own (the OpenAPI document of a real AgentOS app built
here from the installed agno, pinned in tests/e2e/requirements.txt; or a
saved one given as the first argument), adapted to us: our error shape
{"detail","code"}, our 401 (missing) / 403 (invalid) answers, workspaces
(the service headers and the operator's ?workspace_id=), JSON run bodies
beside forms. Our own routes are described here. The output is committed:
run this again when a route changes, and tests/e2e/test_openapi.py checks
the two agree both ways.

    .venv/bin/python scripts/gen_openapi.py > docs/openapi.json
"""
import copy
import json
import sys
import tempfile
import warnings
from pathlib import Path

VERSION = "0.1.0"

# (method, path, access, tag, summary). access: none (never authenticated),
# public (a credential is optional), protected (any credential),
# workspace (a workspace's data: a user, a service call, or an operator
# naming one), scrape (Prometheus: METRICS_PUBLIC or the key).
ROUTES = [
    ("GET", "/health", "none", "Health", "Health Check"),
    ("GET", "/ready", "none", "Health", "Readiness"),
    ("GET", "/", "public", "Home", "Home"),
    ("GET", "/info", "none", "Core", "Get OS Info"),
    ("GET", "/config", "protected", "Core", "Get OS Configuration"),
    ("GET", "/openapi.json", "none", "Docs", "OpenAPI document"),
    ("GET", "/docs", "none", "Docs", "Swagger UI"),
    ("GET", "/docs/swagger-ui-bundle.js", "none", "Docs", "Swagger UI script"),
    ("GET", "/docs/swagger-ui.css", "none", "Docs", "Swagger UI style sheet"),
    ("GET", "/me", "protected", "Me", "The caller"),
    ("GET", "/sessions", "workspace", "Sessions", "List Sessions"),
    ("POST", "/sessions", "workspace", "Sessions", "Create New Session"),
    ("DELETE", "/sessions", "workspace", "Sessions", "Delete Multiple Sessions"),
    ("GET", "/sessions/{session_id}", "workspace", "Sessions", "Get Session by ID"),
    ("PATCH", "/sessions/{session_id}", "workspace", "Sessions", "Update Session"),
    ("DELETE", "/sessions/{session_id}", "workspace", "Sessions", "Delete Session"),
    ("GET", "/sessions/{session_id}/runs", "workspace", "Sessions", "Get Session Runs"),
    ("GET", "/sessions/{session_id}/runs/{run_id}", "workspace", "Sessions",
     "Get Run from Session"),
    ("GET", "/sessions/{session_id}/run-previews", "workspace", "Sessions",
     "Get Session Run Previews"),
    ("POST", "/sessions/{session_id}/rename", "workspace", "Sessions", "Rename Session"),
    ("GET", "/agents", "protected", "Agents", "List All Agents"),
    ("GET", "/agents/{agent_id}", "protected", "Agents", "Get Agent Details"),
    ("GET", "/models", "protected", "Agents", "Models in use"),
    ("GET", "/teams", "protected", "Teams", "List All Teams"),
    ("GET", "/workflows", "protected", "Workflows", "List All Workflows"),
    ("POST", "/agents/{agent_id}/runs", "workspace", "Agents", "Create Agent Run"),
    ("GET", "/agents/{agent_id}/runs", "workspace", "Agents", "List Agent Runs"),
    ("GET", "/agents/{agent_id}/runs/{run_id}", "workspace", "Agents", "Get Agent Run"),
    ("POST", "/agents/{agent_id}/runs/{run_id}/cancel", "workspace", "Agents",
     "Cancel Agent Run"),
    ("GET", "/metrics", "workspace", "Metrics", "Get AgentOS Metrics"),
    ("POST", "/metrics/refresh", "workspace", "Metrics", "Refresh Metrics"),
    ("GET", "/metrics/prometheus", "scrape", "Metrics", "Prometheus metrics"),
]

# Agno's query parameters for things we do not have: one database, no
# tables to pick.
DROPPED_PARAMS = {"db_id", "table"}

ERROR = {"$ref": "#/components/schemas/ErrorResponse"}


def error(description):
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def json_ok(description, schema):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


OWN_SCHEMAS = {
    "ErrorResponse": {
        "title": "ErrorResponse",
        "type": "object",
        "required": ["detail", "code"],
        "properties": {
            "detail": {"type": "string", "description": "Human-readable error message"},
            "code": {"type": "string", "description": "Stable error code, e.g. "
                     "MISSING_TOKEN, INVALID_TOKEN, WORKSPACE_REQUIRED, NOT_FOUND"},
        },
        "example": {"detail": "Missing bearer token", "code": "MISSING_TOKEN"},
    },
    "ValidationErrorResponse": {
        "title": "ValidationErrorResponse",
        "type": "object",
        "required": ["detail", "code"],
        "description": "FastAPI's list form, with our code (VALIDATION_ERROR).",
        "properties": {
            "detail": {"type": "array",
                       "items": {"$ref": "#/components/schemas/ValidationErrorDetail"}},
            "code": {"type": "string", "const": "VALIDATION_ERROR"},
        },
    },
    "HealthResponse": {
        "title": "HealthResponse",
        "type": "object",
        "required": ["status", "version", "instantiated_at"],
        "properties": {
            "status": {"type": "string", "const": "ok"},
            "version": {"type": "string", "description": "This service's version"},
            "instantiated_at": {"type": "string", "format": "date-time"},
        },
    },
    "ReadyResponse": {
        "title": "ReadyResponse",
        "type": "object",
        "required": ["status", "checks"],
        "properties": {
            "status": {"type": "string", "enum": ["ready", "unavailable"]},
            "checks": {
                "type": "object",
                "properties": {
                    "store": {"type": "object", "properties": {
                        "status": {"type": "string", "enum": ["ok", "busy", "unavailable"]},
                        "backend": {"type": "string", "enum": ["sqlite", "postgres"]}}},
                    "redis": {"type": "object", "properties": {
                        "status": {"type": "string"},
                        "rate_limit": {"type": "string", "enum": ["local", "redis"]},
                        "error": {"type": "string"}}},
                },
            },
            "code": {"type": "string"},
            "detail": {"type": "string"},
        },
    },
    "HomeResponse": {
        "title": "HomeResponse",
        "type": "object",
        "required": ["name", "health", "info"],
        "properties": {
            "name": {"type": "string"},
            "id": {"type": "string", "description": "This AgentOS's os_id"},
            "version": {"type": "string"},
            "health": {"type": "string", "const": "/health"},
            "info": {"type": "string", "const": "/info"},
            "docs": {"type": "string", "const": "/docs"},
        },
    },
    "MeResponse": {
        "title": "MeResponse",
        "type": "object",
        "properties": {k: {"type": ["string", "null"]} for k in
                       ("user_id", "session_id", "workspace_id", "email", "name")},
    },
    "ModelInUse": {
        "title": "ModelInUse",
        "type": "object",
        "required": ["id", "provider"],
        "properties": {"id": {"type": "string"},
                       "provider": {"type": "string", "description": "as the agent's YAML "
                                    "names it: openai, anthropic"}},
    },
}

OWN_PARAMETERS = {
    "XWorkspaceId": {
        "name": "X-Workspace-Id", "in": "header", "required": False,
        "description": "With the OS_SECURITY_KEY: the workspace a service call acts in. "
                       "Without it, the key is an operator. Ignored with a token.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 128},
    },
    "XUserId": {
        "name": "X-User-Id", "in": "header", "required": False,
        "description": "With the OS_SECURITY_KEY and X-Workspace-Id: the user a service "
                       "call acts for.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 128},
    },
    "WorkspaceIdQuery": {
        "name": "workspace_id", "in": "query", "required": False,
        "description": "Operators only: the workspace to read (without it, an operator's "
                       "read is 403 WORKSPACE_REQUIRED where the route needs one).",
        "schema": {"type": "string", "minLength": 1, "maxLength": 128},
    },
}

SECURITY_SCHEMES = {
    "HTTPBearer": {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "An end user's better-auth JWT (HS256, with workspaceId), or a "
                       "Control Plane JWT (RS256/ES256, verified with JWT_VERIFICATION_KEY "
                       "or JWT_JWKS_FILE).",
    },
    "OSSecurityKey": {
        "type": "http", "scheme": "bearer",
        "description": "The OS_SECURITY_KEY: an operator, or with X-Workspace-Id a service "
                       "caller inside that workspace.",
    },
}
BEARER = [{"HTTPBearer": []}, {"OSSecurityKey": []}]

OWN_RESPONSES = {
    ("GET", "/health"): json_ok("Alive", {"$ref": "#/components/schemas/HealthResponse"}),
    ("GET", "/ready"): json_ok("Ready (503: not ready, same body)",
                               {"$ref": "#/components/schemas/ReadyResponse"}),
    ("GET", "/"): json_ok("Links", {"$ref": "#/components/schemas/HomeResponse"}),
    ("GET", "/openapi.json"): json_ok("This document", {"type": "object"}),
    ("GET", "/docs"): {"description": "Swagger UI", "content": {"text/html": {}}},
    ("GET", "/docs/swagger-ui-bundle.js"): {"description": "Script",
                                            "content": {"text/javascript": {}}},
    ("GET", "/docs/swagger-ui.css"): {"description": "Style sheet", "content": {"text/css": {}}},
    ("GET", "/me"): json_ok("Who the credential names",
                            {"$ref": "#/components/schemas/MeResponse"}),
    ("GET", "/models"): json_ok("The models the loaded agents use", {
        "type": "array", "items": {"$ref": "#/components/schemas/ModelInUse"}}),
    ("GET", "/metrics/prometheus"): {"description": "Prometheus text exposition",
                                     "content": {"text/plain": {"schema": {"type": "string"}}}},
}


def path_params(path):
    return [seg[1:-1] for seg in path.split("/") if seg.startswith("{")]


def own_operation(method, path, summary):
    op = {"summary": summary, "operationId": op_id(method, path)}
    params = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
              for p in path_params(path)]
    if params:
        op["parameters"] = params
    op["responses"] = {"200": OWN_RESPONSES[(method, path)]}
    return op


def op_id(method, path):
    name = path.strip("/").replace("/", "_").replace("{", "").replace("}", "")
    name = name.replace(".", "_").replace("-", "_") or "home"
    return f"{method.lower()}_{name}"


def adapt_body(op):
    body = op.get("requestBody")
    if not body:
        return
    content = body.get("content", {})
    form = content.get("multipart/form-data") or content.get(
        "application/x-www-form-urlencoded")
    if form is not None:
        content.setdefault("multipart/form-data", copy.deepcopy(form))
        content.setdefault("application/x-www-form-urlencoded", copy.deepcopy(form))
        content.setdefault("application/json", copy.deepcopy(form))


def error_responses(method, path, access):
    out = {}
    if access == "workspace":
        out["400"] = error("A service header (X-Workspace-Id, X-User-Id) breaks the id rule "
                           "(INVALID_HEADER)")
    if access in ("protected", "workspace", "scrape"):
        out["401"] = error("No credential (MISSING_TOKEN)")
        out["403"] = error("An invalid or expired token or key (INVALID_TOKEN); a missing "
                           "scope (INSUFFICIENT_SCOPE); a workspace route without a workspace "
                           "(WORKSPACE_REQUIRED)")
    if path_params(path):
        out["404"] = error("Not found in this workspace")
    if access in ("protected", "workspace") or path_params(path):
        out["422"] = {"description": "Validation error", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ValidationErrorResponse"}}}}
    if access == "workspace":
        out["429"] = error("The workspace's rate limit (RATE_LIMITED)")
        out["503"] = error("The store is unavailable or busy (STORE_UNAVAILABLE, STORE_BUSY)")
    out["500"] = error("Internal error")
    return out


def adapt_operation(op, method, path, access):
    op = copy.deepcopy(op)
    params = [p for p in op.get("parameters", []) if p.get("name") not in DROPPED_PARAMS]
    if access == "workspace":
        params.append({"$ref": "#/components/parameters/XWorkspaceId"})
        params.append({"$ref": "#/components/parameters/XUserId"})
        if method == "GET":
            params.append({"$ref": "#/components/parameters/WorkspaceIdQuery"})
    if params:
        op["parameters"] = params
    else:
        op.pop("parameters", None)
    adapt_body(op)
    ok = {k: v for k, v in op.get("responses", {}).items() if k.startswith("2")}
    op["responses"] = ok
    return op


def build_operation(agno, method, path, access, tag, summary):
    agno_op = agno["paths"].get(path, {}).get(method.lower())
    if agno_op is not None and (method, path) not in OWN_RESPONSES:
        op = adapt_operation(agno_op, method, path, access)
    else:
        op = own_operation(method, path, summary)
        if access == "workspace":
            op.setdefault("parameters", []).extend([
                {"$ref": "#/components/parameters/XWorkspaceId"},
                {"$ref": "#/components/parameters/XUserId"}])
    op["tags"] = [tag]
    op["summary"] = summary
    op["responses"].update(error_responses(method, path, access))
    if access in ("protected", "workspace", "scrape"):
        op["security"] = BEARER
    elif access == "public":
        op["security"] = [{}] + BEARER
    else:
        op["security"] = []
    return op


def refs(node, out):
    if isinstance(node, dict):
        r = node.get("$ref")
        if isinstance(r, str) and r.startswith("#/components/schemas/"):
            out.add(r.rsplit("/", 1)[1])
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


# Run inputs Agno reads from the raw form (not in its schema), which we take too.
RUN_INPUTS = {
    "session_state": "JSON object (or its JSON text in a form); merged into the session's "
                     "state, the given keys winning",
    "metadata": "JSON object (or its JSON text in a form); kept on the run",
}


def add_run_inputs(schemas):
    body = schemas.get("Body_create_agent_run")
    if body is None:
        return
    for key, description in RUN_INPUTS.items():
        body.setdefault("properties", {})[key] = {
            "anyOf": [{"type": "object"}, {"type": "string"}, {"type": "null"}],
            "title": key.replace("_", " ").title(), "description": description}


def components(agno, paths):
    schemas = {}
    todo = set()
    refs(paths, todo)
    refs(OWN_SCHEMAS, todo)
    while todo:
        name = todo.pop()
        if name in schemas:
            continue
        schema = OWN_SCHEMAS.get(name) or agno["components"]["schemas"].get(name)
        if schema is None:
            raise SystemExit(f"gen_openapi: no schema {name}")
        schemas[name] = copy.deepcopy(schema)
        refs(schema, todo)
    add_run_inputs(schemas)
    return {"schemas": dict(sorted(schemas.items())), "parameters": OWN_PARAMETERS,
            "securitySchemes": SECURITY_SCHEMES}


def _current_time() -> str:
    """The current date and time."""
    return ""


def agno_document():
    """app.openapi() of an Agno AgentOS like the one tests/compat measures
    against: one agent with a tool on an OpenAI model and a SQLite db, which
    mounts every router whose routes we share. Nothing is served or called."""
    from agno.agent import Agent
    from agno.db.sqlite import SqliteDb
    from agno.models.openai import OpenAIChat
    from agno.os import AgentOS

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        db = SqliteDb(db_file=str(Path(tmp) / "agno.db"))
        agent = Agent(id="agent", name="Agent", db=db, tools=[_current_time],
                      model=OpenAIChat(id="gpt-4o-mini", api_key="sk-unused",
                                       base_url="http://127.0.0.1:9/v1"))
        return AgentOS(id="agno-os", agents=[agent], telemetry=False).get_app().openapi()


def main():
    if len(sys.argv) > 1:
        with open(sys.argv[1]) as f:
            agno = json.load(f)
    else:
        agno = agno_document()
    paths = {}
    for method, path, access, tag, summary in ROUTES:
        paths.setdefault(path, {})[method.lower()] = build_operation(
            agno, method, path, access, tag, summary)
    doc = {
        "openapi": "3.1.0",
        "info": {
            "title": "AgentOS API",
            "version": VERSION,
            "description": "A multi-tenant agent runtime serving Agno AgentOS 3.1.10's API, "
                           "plus first-class workspaces. Errors are {\"detail\", \"code\"}; "
                           "a missing credential is 401, an invalid one 403.",
        },
        "paths": paths,
        "components": components(agno, paths),
    }
    json.dump(doc, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
