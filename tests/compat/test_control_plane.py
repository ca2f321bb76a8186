"""What the Control Plane's browser and tokens meet, ours beside Agno's own
app given the same configuration (issue 8 items 1 and 2): CORS preflights
and headers, and a Control Plane JWT (RS256, `aud` = os_id, Agno's scopes).

Where we differ from Agno on purpose, the test says so: a bad token is 403
(the seed's rule; Agno says 401), a Private Network Access preflight is
allowed (Agno refuses it), and a disallowed origin gets no CORS header at
all (Agno still sends Allow-Credentials and Expose-Headers)."""

from __future__ import annotations

import secrets
import time
import warnings

import jwt
import pytest

from compat_support import AGENT_ID, WS, CompatStack
from e2e_conftest import launch

OS_ID = "compat-os"
EXTRA_ORIGIN = "https://cp.example.test"
AGNO_ORIGIN = "https://os.agno.com"


@pytest.fixture(scope="module")
def rsa_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return key, pem


@pytest.fixture(scope="module")
def cp(tmp_path_factory, compat_mock, rsa_key):
    """Our server with the Control Plane's public key, audience checks, an
    extra CORS origin and AGENTOS_ID."""
    stack = CompatStack(tmp_path_factory.mktemp("cp"), compat_mock)
    env = {**stack.env, "JWT_VERIFICATION_KEY": rsa_key[1], "JWT_VERIFY_AUDIENCE": "true",
           "AGENTOS_ID": OS_ID, "CORS_ORIGINS": EXTRA_ORIGIN}
    stack.server = launch(stack.tmp / "srv", env=env)
    yield stack
    stack.server.check_clean_exit()


@pytest.fixture(scope="module")
def agno_cp(tmp_path_factory, rsa_key):
    """Agno's own app, configured the same: its JWT middleware with the key
    and audience checks (its model points nowhere: no run is made)."""
    from agno.agent import Agent
    from agno.db.sqlite import SqliteDb
    from agno.models.openai import OpenAIChat
    from agno.os import AgentOS
    from agno.os.config import AuthorizationConfig
    from fastapi.testclient import TestClient

    db = SqliteDb(db_file=str(tmp_path_factory.mktemp("agno-cp") / "agno.db"))
    agent = Agent(id=AGENT_ID, name="Compat Agent", db=db,
                  model=OpenAIChat(id="gpt-4o-mini", api_key="sk-none",
                                   base_url="http://127.0.0.1:9/v1"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # authorization_config is deprecated, still honoured
        app = AgentOS(id=OS_ID, agents=[agent], telemetry=False, authorization=True,
                      cors_allowed_origins=None,
                      authorization_config=AuthorizationConfig(
                          verification_keys=[rsa_key[1]], algorithm="RS256",
                          verify_audience=True)).get_app()
    return TestClient(app)


def cp_token(rsa_key, scopes: list[str], aud: str = OS_ID) -> str:
    now = int(time.time())
    return jwt.encode({"sub": "cp-user-" + secrets.token_hex(3), "scopes": scopes, "aud": aud,
                       "iat": now, "exp": now + 600}, rsa_key[0], algorithm="RS256")


# ================================================================ Control Plane JWT

# (scopes, method, path, params): Agno's answer and ours must agree.
AGREE = [
    (["agent_os:admin"], "GET", "/agents", None),
    (["agents:read"], "GET", "/agents", None),
    ([f"agents:{AGENT_ID}:read"], "GET", "/agents", None),  # the list of its agents
    (["agents:other-agent:read"], "GET", "/agents", None),  # [] (a grant on nothing loaded)
    ([f"agents:{AGENT_ID}:run"], "GET", "/agents", None),  # no read grant at all
    (["sessions:read"], "GET", "/agents", None),
    (["agents:read"], "GET", "/sessions", {"workspace_id": WS}),  # no sessions:read
    ([f"agents:{AGENT_ID}:read"], "GET", f"/agents/{AGENT_ID}", None),
    (["agents:other-agent:read"], "GET", f"/agents/{AGENT_ID}", None),
    (["sessions:read"], "GET", "/sessions", {"workspace_id": WS}),
    (["metrics:read"], "GET", "/metrics", {"workspace_id": WS}),
    (["agents:read"], "GET", "/metrics", {"workspace_id": WS}),  # no metrics:read
]


@pytest.mark.parametrize("scopes,method,path,params", AGREE,
                         ids=[f"{'+'.join(a[0])}-{a[2]}" for a in AGREE])
def test_scopes_decide_as_agnos(cp, agno_cp, rsa_key, scopes, method, path, params):
    h = {"Authorization": f"Bearer {cp_token(rsa_key, scopes)}"}
    agnos = agno_cp.request(method, path, headers=h, params=params)
    ours = cp.server.request(method, path, headers=h, params=params)
    assert agnos.status_code in (200, 403), agnos.text
    assert ours.status_code == agnos.status_code, (ours.text, agnos.text)
    if ours.status_code == 403:
        assert ours.json()["code"] == "INSUFFICIENT_SCOPE", ours.text
    elif path == "/agents":  # a per-agent scope filters the list as Agno does
        assert [a["id"] for a in ours.json()] == [a["id"] for a in agnos.json()], ours.text


def test_config_with_config_read(cp, agno_cp, rsa_key):
    h = {"Authorization": f"Bearer {cp_token(rsa_key, ['config:read'])}"}
    assert agno_cp.get("/config", headers=h).status_code == 200
    r = cp.server.request("GET", "/config", headers=h)
    assert r.status_code == 200 and r.json()["os_id"] == OS_ID, r.text


def test_wrong_audience_is_refused(cp, agno_cp, rsa_key):
    """Both refuse; Agno says 401, the seed's rule for an invalid credential is 403."""
    h = {"Authorization": f"Bearer {cp_token(rsa_key, ['agent_os:admin'], aud='another-os')}"}
    assert agno_cp.get("/agents", headers=h).status_code == 401
    r = cp.server.request("GET", "/agents", headers=h)
    assert r.status_code == 403 and r.json()["code"] == "INVALID_TOKEN", r.text


def test_no_token_is_401_on_both(cp, agno_cp):
    assert agno_cp.get("/agents").status_code == 401
    assert cp.server.request("GET", "/agents").status_code == 401


# ================================================================ CORS

PREFLIGHT = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization,content-type"}


def cors_names(headers) -> set[str]:
    return {k.lower() for k in headers if k.lower().startswith("access-control-")}


@pytest.mark.parametrize("origin", [AGNO_ORIGIN, EXTRA_ORIGIN])
def test_preflight_as_agnos(cp, agno_cp, origin):
    h = {"Origin": origin, **PREFLIGHT}
    agnos = agno_cp.options(f"/agents/{AGENT_ID}/runs", headers=h)
    ours = cp.server.request("OPTIONS", f"/agents/{AGENT_ID}/runs", headers=h)
    if origin == AGNO_ORIGIN:
        assert agnos.status_code == 200
        assert cors_names(agnos.headers) <= cors_names(ours.headers), dict(ours.headers)
    assert ours.status_code in (200, 204), ours.text
    assert ours.headers["access-control-allow-origin"] == origin
    assert ours.headers["access-control-allow-credentials"] == "true"
    assert ours.headers["access-control-max-age"] == "600"
    assert "POST" in ours.headers["access-control-allow-methods"]
    allowed = ours.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed, allowed


def test_private_network_preflight_is_allowed(cp, agno_cp):
    """Chrome's Private Network Access check: Agno refuses it (agno issues
    9270, 6456); we allow it, so the Control Plane reaches a local runtime."""
    h = {"Origin": AGNO_ORIGIN, "Access-Control-Request-Private-Network": "true", **PREFLIGHT}
    assert agno_cp.options("/agents", headers=h).status_code == 400
    r = cp.server.request("OPTIONS", "/agents", headers=h)
    assert r.status_code in (200, 204), r.text
    assert r.headers["access-control-allow-private-network"] == "true"


# What a browser reads from the CORS headers of a simple (not preflighted)
# response (Fetch standard, "CORS check" and "CORS-exposed header names").
# Allow-Methods, Allow-Headers and Max-Age answer a preflight only: Agno's 401
# from its auth middleware carries them on a simple reply too, where browsers
# ignore them, so they are not compared (and we do not send them there).
SIMPLE_RESPONSE_CORS = {"access-control-allow-origin", "access-control-allow-credentials",
                        "access-control-expose-headers"}


def vary(headers) -> set[str]:
    return {v.strip().lower() for v in headers.get("vary", "").split(",") if v.strip()}


@pytest.mark.parametrize("path,auth", [("/health", False), ("/agents", False), ("/agents", True)])
def test_simple_request_headers_as_agnos(cp, agno_cp, rsa_key, path, auth):
    """A GET from the Control Plane's origin: the CORS headers a browser
    uses on a simple response are Agno's, on a 200 and on a 401 alike."""
    h = {"Origin": AGNO_ORIGIN}
    if auth:
        h["Authorization"] = f"Bearer {cp_token(rsa_key, ['agent_os:admin'])}"
    agnos = agno_cp.get(path, headers=h)
    ours = cp.server.request("GET", path, headers=h)
    assert ours.status_code == agnos.status_code or (not auth and ours.status_code == 401)
    wanted = cors_names(agnos.headers) & SIMPLE_RESPONSE_CORS
    assert wanted, dict(agnos.headers)
    assert wanted <= cors_names(ours.headers), dict(ours.headers)
    for name in wanted - {"access-control-expose-headers"}:  # exposed: ours name our headers
        assert ours.headers[name] == agnos.headers[name], (name, dict(ours.headers))
    assert vary(agnos.headers) & {"origin"} <= vary(ours.headers), dict(ours.headers)
    assert ours.headers["access-control-allow-origin"] == AGNO_ORIGIN


def test_disallowed_origin_gets_no_allow_origin(cp, agno_cp):
    h = {"Origin": "https://evil.example"}
    assert "access-control-allow-origin" not in agno_cp.get("/health", headers=h).headers
    r = cp.server.request("GET", "/health", headers=h)
    assert r.status_code == 200 and not cors_names(r.headers), dict(r.headers)
