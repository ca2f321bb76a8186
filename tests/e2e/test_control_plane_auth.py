"""Control Plane JWTs (RS256/ES256 with JWT_VERIFICATION_KEY or JWT_JWKS_FILE):
an operator, held to the scopes of Agno's scopes.py; never confused with the
end users' HS256 tokens or with OS_SECURITY_KEY (agno issue 8625)."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conftest import REPO, assert_error, make_token, run_to_exit, sanitizer_report

OS_ID = "os-cp-e2e"
KEY = "os-key-for-tests-0123456789abcdef"
AGENT = "workspace-assistant"


def _rsa():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(private) -> str:
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def keys():
    return {"rsa": _rsa(), "other": _rsa(), "ec": ec.generate_private_key(ec.SECP256R1())}


def cp_token(private, alg="RS256", kid=None, **claims) -> str:
    now = int(time.time())
    body = {"sub": "cp-operator", "iat": now, "exp": now + 600, "aud": OS_ID,
            "scopes": ["agent_os:admin"]}
    for k, v in claims.items():
        if v is None:
            body.pop(k, None)
        else:
            body[k] = v
    headers = {"kid": kid} if kid else None
    return jwt.encode(body, private, algorithm=alg, headers=headers)


def auth(token: str, workspace: str | None = None) -> dict[str, str]:
    h = {"Authorization": f"Bearer {token}"}
    if workspace:
        h["X-Workspace-Id"] = workspace
    return h


@pytest.fixture
def srv(start_server, keys):
    return start_server(env={
        "JWT_VERIFICATION_KEY": _pem(keys["rsa"]),
        "AGENTOS_ID": OS_ID,
        "JWT_VERIFY_AUDIENCE": "true",
        "AGENTS_DIR": str(REPO / "agents" / "platform"),
    })


def user_session(srv, workspace: str, session_id: str):
    r = srv.request("POST", "/sessions", headers=auth(make_token(workspaceId=workspace)),
                    json={"session_id": session_id})
    assert r.status_code in (200, 201), r.text


def test_admin_token_reads_as_an_operator(srv, keys):
    user_session(srv, "ws-a", "cp-s1")
    tok = cp_token(keys["rsa"])
    r = srv.request("GET", "/agents", headers=auth(tok))
    assert r.status_code == 200, r.text
    assert AGENT in [a["id"] for a in r.json()]
    r = srv.request("GET", "/sessions?workspace_id=ws-a", headers=auth(tok))
    assert r.status_code == 200, r.text
    assert [s["session_id"] for s in r.json()["data"]] == ["cp-s1"]
    # a write names its workspace, as the key operator's do
    assert_error(srv.request("POST", "/sessions", headers=auth(tok), json={"session_id": "x"}),
                 403, "WORKSPACE_REQUIRED")
    r = srv.request("POST", "/sessions", headers=auth(tok, "ws-a"), json={"session_id": "cp-s2"})
    assert r.status_code in (200, 201), r.text
    # an end user of that workspace sees what the operator created there
    mine = srv.request("GET", "/sessions", headers=auth(make_token(workspaceId="ws-a")))
    assert sorted(s["session_id"] for s in mine.json()["data"]) == ["cp-s1", "cp-s2"]


def test_es256_token_with_an_ec_key(start_server, keys):
    s = start_server(env={"JWT_VERIFICATION_KEY": _pem(keys["ec"])})
    assert s.request("GET", "/agents", headers=auth(cp_token(keys["ec"], "ES256"))).status_code \
        == 200
    # the RSA token is not for this key
    assert_error(s.request("GET", "/agents", headers=auth(cp_token(keys["rsa"]))), 403,
                 "INVALID_TOKEN")


def test_missing_scope_is_403_insufficient_scope(srv, keys):
    tok = cp_token(keys["rsa"], scopes=["agents:read"])
    assert srv.request("GET", "/agents", headers=auth(tok)).status_code == 200
    body = assert_error(srv.request("GET", "/sessions?workspace_id=ws-a", headers=auth(tok)),
                        403, "INSUFFICIENT_SCOPE")
    assert "sessions:read" in body["detail"]
    assert_error(srv.request("GET", "/metrics/prometheus", headers=auth(tok)), 403,
                 "INSUFFICIENT_SCOPE")
    assert_error(srv.request("GET", "/models", headers=auth(tok)), 403, "INSUFFICIENT_SCOPE")
    # no scopes claim at all: nothing is granted
    none = cp_token(keys["rsa"], scopes=None)
    assert_error(srv.request("GET", "/agents", headers=auth(none)), 403, "INSUFFICIENT_SCOPE")


def test_scope_forms_of_scopes_py(srv, keys):
    def get(path, *scopes):
        return srv.request("GET", path, headers=auth(cp_token(keys["rsa"], scopes=list(scopes))))

    assert get(f"/agents/{AGENT}", f"agents:{AGENT}:read").status_code == 200
    assert_error(get(f"/agents/{AGENT}", "agents:other:read"), 403, "INSUFFICIENT_SCOPE")
    assert_error(get(f"/agents/{AGENT}", f"agents:{AGENT}:run"), 403, "INSUFFICIENT_SCOPE")
    assert get(f"/agents/{AGENT}", "agents:*:read").status_code == 200
    assert get("/agents", "agents:*:read").status_code == 200
    # the legacy system:* name of config:*
    assert get("/models", "system:read").status_code == 200
    assert get("/models", "config:read").status_code == 200
    assert get("/sessions?workspace_id=ws-a", "sessions:read").status_code == 200
    # a run needs agents:<id>:run (then a workspace); another agent's grant is not it
    run = cp_token(keys["rsa"], scopes=[f"agents:{AGENT}:run"])
    assert_error(srv.request("POST", f"/agents/{AGENT}/runs", headers=auth(run),
                             data={"message": "hi"}), 403, "WORKSPACE_REQUIRED")
    assert_error(srv.request("POST", "/agents/other-agent/runs", headers=auth(run, "ws-a"),
                             data={"message": "hi"}), 403, "INSUFFICIENT_SCOPE")


def test_per_agent_scopes_list_only_those_agents(start_server, keys, tmp_path):
    """Agno's listing rule (scopes.py check_route_scopes): GET /agents with
    only agents:<id>:read is the list of those agents, not 403; no read
    grant on any agent (another action, another family, none) is 403."""
    from runs_support import write_agent

    agents = tmp_path / "agents"
    agents.mkdir()
    for aid in ("agent-a", "agent-b", "agent-c"):
        write_agent(agents, {"id": aid, "name": aid,
                             "model": {"provider": "openai", "id": "gpt-4o-mini"}})
    srv = start_server(env={"JWT_VERIFICATION_KEY": _pem(keys["rsa"]), "AGENTOS_ID": OS_ID,
                            "JWT_VERIFY_AUDIENCE": "true", "AGENTS_DIR": str(agents)})

    def listed(*scopes):
        r = srv.request("GET", "/agents", headers=auth(cp_token(keys["rsa"], scopes=list(scopes))))
        assert r.status_code == 200, (scopes, r.text)
        return sorted(a["id"] for a in r.json())

    assert listed("agents:read") == ["agent-a", "agent-b", "agent-c"]
    assert listed("agents:*:read") == ["agent-a", "agent-b", "agent-c"]
    assert listed("agents:agent-b:read") == ["agent-b"]
    assert listed("agents:agent-a:read", "agents:agent-c:read", "sessions:read") == \
        ["agent-a", "agent-c"]
    assert listed("agents:agent-a:read", "agents:agent-b:run") == ["agent-a"]
    assert listed("agents:no-such-agent:read") == []  # as Agno: a grant, on nothing loaded
    for scopes in (["agents:agent-a:run"], ["sessions:read"], ["agents:agent-a:b:read"],
                   ["teams:agent-a:read"], []):
        r = srv.request("GET", "/agents", headers=auth(cp_token(keys["rsa"], scopes=scopes)))
        assert_error(r, 403, "INSUFFICIENT_SCOPE")
    # the per-agent read still opens only its own agent's routes
    tok = cp_token(keys["rsa"], scopes=["agents:agent-b:read"])
    assert srv.request("GET", "/agents/agent-b", headers=auth(tok)).status_code == 200
    assert_error(srv.request("GET", "/agents/agent-a", headers=auth(tok)), 403,
                 "INSUFFICIENT_SCOPE")
    # end users are bounded by their workspace, never by scopes: every agent
    users = srv.request("GET", "/agents", headers=auth(make_token(workspaceId="ws-a")))
    assert sorted(a["id"] for a in users.json()) == ["agent-a", "agent-b", "agent-c"]


def test_audience_must_be_our_os_id(srv, keys):
    assert_error(srv.request("GET", "/agents", headers=auth(cp_token(keys["rsa"], aud="other-os"))),
                 403, "INVALID_TOKEN")
    assert_error(srv.request("GET", "/agents", headers=auth(cp_token(keys["rsa"], aud=None))),
                 403, "INVALID_TOKEN")
    ok = cp_token(keys["rsa"], aud=["x", OS_ID])
    assert srv.request("GET", "/agents", headers=auth(ok)).status_code == 200


def test_expired_token_is_403_token_expired(srv, keys):
    old = int(time.time()) - 3600
    tok = cp_token(keys["rsa"], iat=old - 600, exp=old)
    assert_error(srv.request("GET", "/agents", headers=auth(tok)), 403, "TOKEN_EXPIRED")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_hs256_signed_with_the_public_key_is_refused(srv, keys):
    """The classic confusion: the PEM text used as an HMAC secret."""
    now = int(time.time())
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps({"sub": "cp", "aud": OS_ID, "exp": now + 600,
                               "scopes": ["agent_os:admin"]}).encode())
    msg = f"{header}.{payload}".encode()
    sig = _b64(hmac.new(_pem(keys["rsa"]).encode(), msg, hashlib.sha256).digest())
    assert_error(srv.request("GET", "/agents", headers=auth(f"{header}.{payload}.{sig}")), 403,
                 "INVALID_TOKEN")


def test_an_end_user_token_with_admin_scopes_stays_a_user(srv, keys):
    tok = make_token(workspaceId=None, scopes=["agent_os:admin"], aud=OS_ID)
    assert_error(srv.request("GET", "/sessions?workspace_id=ws-a", headers=auth(tok)), 403,
                 "WORKSPACE_REQUIRED")
    assert_error(srv.request("GET", "/metrics/prometheus", headers=auth(tok)), 403, "FORBIDDEN")


def test_jwks_file_by_kid(start_server, keys, tmp_path):
    def jwk(private, kid):
        d = json.loads(jwt.algorithms.get_default_algorithms()[
            "RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256"].to_jwk(
                private.public_key()))
        d["kid"] = kid
        return d

    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk(keys["rsa"], "k-rsa"), jwk(keys["ec"], "k-ec")]}))
    s = start_server(env={"JWT_JWKS_FILE": str(path)})
    for tok in (cp_token(keys["rsa"], kid="k-rsa"), cp_token(keys["ec"], "ES256", kid="k-ec")):
        assert s.request("GET", "/agents", headers=auth(tok)).status_code == 200
    # signed by the RSA key but naming the other kid, or no kid, or an unknown one
    for tok in (cp_token(keys["other"], kid="k-rsa"), cp_token(keys["rsa"]),
                cp_token(keys["rsa"], kid="k-nope")):
        assert_error(s.request("GET", "/agents", headers=auth(tok)), 403, "INVALID_TOKEN")


def test_the_key_never_weakens_jwt_checks(start_server, keys):
    """agno issue 8625: with OS_SECURITY_KEY set, bad tokens are still refused."""
    s = start_server(env={"OS_SECURITY_KEY": KEY, "JWT_VERIFICATION_KEY": _pem(keys["rsa"])})
    bad_hs = make_token(secret="x" * 40)
    assert_error(s.request("GET", "/agents", headers=auth(bad_hs)), 403, "INVALID_TOKEN")
    assert_error(s.request("GET", "/agents", headers=auth(cp_token(keys["other"]))), 403,
                 "INVALID_TOKEN")
    # and each good credential still works
    assert s.request("GET", "/agents", headers=auth(KEY)).status_code == 200
    assert s.request("GET", "/agents", headers=auth(cp_token(keys["rsa"]))).status_code == 200
    assert s.request("GET", "/agents", headers=auth(make_token())).status_code == 200


def test_without_a_control_plane_key_rs256_is_refused(start_server, keys):
    s = start_server(env={"OS_SECURITY_KEY": KEY})
    assert_error(s.request("GET", "/agents", headers=auth(cp_token(keys["rsa"]))), 403,
                 "INVALID_TOKEN")


def test_prometheus_with_metrics_read(srv, keys):
    for scopes in (["metrics:read"], ["agent_os:admin"]):
        r = srv.request("GET", "/metrics/prometheus",
                        headers=auth(cp_token(keys["rsa"], scopes=scopes)))
        assert r.status_code == 200, r.text
        assert "agentos_http_requests_total" in r.text


def test_operator_requests_are_logged_with_their_principal(srv, keys):
    srv.request("GET", "/agents", headers=auth(cp_token(keys["rsa"], sub="op-7")))
    found = srv.wait_log(lambda l: l.get("credential") == "control_plane_jwt")
    assert found and found[0]["principal"] == "operator" and found[0]["sub"] == "op-7", found
    assert found[0]["path"] == "/agents"


@pytest.mark.parametrize("env", [
    {"JWT_VERIFICATION_KEY": "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----"},
    {"JWT_VERIFICATION_KEY": "/no/such/key.pem"},
    {"JWT_JWKS_FILE": "/no/such/jwks.json"},
])
def test_an_unusable_key_refuses_to_start(tmp_path, env):
    run = run_to_exit(tmp_path, env=env)
    assert run.returncode != 0, run.stderr
    assert next(iter(env)) in run.stderr, run.stderr
    assert not sanitizer_report(run.stderr), run.stderr


def _certificate(private) -> str:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "control-plane")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(private.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(private, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_key_as_a_certificate_or_a_file_with_literal_newlines(start_server, keys, tmp_path):
    s = start_server(env={"JWT_VERIFICATION_KEY": _certificate(keys["rsa"])})
    assert s.request("GET", "/agents", headers=auth(cp_token(keys["rsa"]))).status_code == 200
    one_line = _pem(keys["ec"]).replace("\n", "\\n")
    s2 = start_server(env={"JWT_VERIFICATION_KEY": one_line})
    assert s2.request("GET", "/agents", headers=auth(cp_token(keys["ec"], "ES256"))).status_code \
        == 200
    path = tmp_path / "cp.pem"
    path.write_text(_pem(keys["rsa"]))
    s3 = start_server(env={"JWT_VERIFICATION_KEY": str(path)})
    assert s3.request("GET", "/agents", headers=auth(cp_token(keys["rsa"]))).status_code == 200
