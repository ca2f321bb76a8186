"""The tenant middleware, through GET /me (the smallest protected route)."""

import hashlib
import hmac
import json
import time

import jwt
import pytest

from conftest import (
    OTHER_SECRET,
    SECRET,
    assert_error,
    b64url,
    launch,
    run_to_exit,
    make_token,
    raw_request,
    unsigned_token,
)

ISSUER = "https://app.example.com"
AUDIENCE = "https://app.example.com/api"


def now() -> int:
    return int(time.time())


# ---------------------------------------------------------------- no header


def test_me_without_header_is_401(server):
    body = assert_error(server.get("/me"), 401, "UNAUTHORIZED")
    assert set(body) >= {"detail", "code"}


def test_me_trailing_slash_still_protected(server):
    assert_error(server.get("/me/"), 401, "UNAUTHORIZED")


# ---------------------------------------------------------------- valid tokens


def test_me_with_valid_token(server):
    r = server.me(make_token())
    assert r.status_code == 200, r.text
    assert r.json() == {
        "user_id": "user-1",
        "session_id": "session-1",
        "workspace_id": "ws-1",
        "email": "user1@example.com",
        "name": "User One",
    }


def test_me_reflects_the_token_not_a_cache_of_someone_else(server):
    a = server.me(make_token(sub="alice", workspaceId="ws-a", email="a@x.io", name="A"))
    b = server.me(make_token(sub="bob", workspaceId="ws-b", email="b@x.io", name="B"))
    assert a.json()["user_id"] == "alice" and a.json()["workspace_id"] == "ws-a"
    assert b.json()["user_id"] == "bob" and b.json()["workspace_id"] == "ws-b"
    # the same token again (the verified-token cache) gives the same answer
    tok = make_token(sub="carol", workspaceId="ws-c")
    for _ in range(4):
        r = server.me(tok)
        assert r.status_code == 200
        assert r.json()["user_id"] == "carol" and r.json()["workspace_id"] == "ws-c"


def test_me_unicode_claims(server):
    r = server.me(make_token(name="Zoë Ñandú 東京", email="zoë@example.com"))
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Zoë Ñandú 東京"
    assert r.json()["email"] == "zoë@example.com"


def test_me_without_workspace_id(server):
    r = server.me(make_token(workspaceId=None))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user_id"] == "user-1"
    assert "workspace_id" in body and body["workspace_id"] is None


def test_me_with_null_workspace_id(server):
    """better-auth writes workspaceId: null for a user with no active organization."""
    r = server.me(_token_with_null_workspace())
    assert r.status_code == 200, r.text
    assert r.json()["workspace_id"] is None


def _token_with_null_workspace() -> str:
    claims = {"sub": "user-1", "sessionId": "s-9", "workspaceId": None, "email": "e@x.io",
              "name": "N", "iat": now(), "exp": now() + 600}
    return jwt.encode(claims, SECRET.encode(), algorithm="HS256")


def test_me_with_only_sub(server):
    r = server.me(make_token(sessionId=None, workspaceId=None, email=None, name=None))
    assert r.status_code == 200, r.text
    assert r.json() == {"user_id": "user-1", "session_id": None, "workspace_id": None,
                        "email": None, "name": None}


def test_lowercase_bearer_scheme_is_accepted(server):
    """The auth scheme is case-insensitive (RFC 9110 11.1)."""
    r = server.get("/me", headers={"Authorization": f"bearer {make_token()}"})
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------- refused tokens


def _hs(alg: str, **kw) -> str:
    return make_token(alg=alg, **kw)


def _tampered() -> str:
    """A valid signature over another payload."""
    h, _, sig = make_token(sub="user-1").split(".")
    _, p, _ = make_token(sub="admin").split(".")
    return f"{h}.{p}.{sig}"


def _header_alg_lie() -> str:
    """Header says HS256 but the signature is HS512's over the same input."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": "user-1", "exp": now() + 600}).encode())
    sig = hmac.new(SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha512).digest()
    return f"{header}.{payload}.{b64url(sig)}"


INVALID_TOKENS = {
    "garbage": lambda: "not-a-jwt",
    "three_garbage_parts": lambda: "abc.def.ghi",
    "two_parts": lambda: ".".join(make_token().split(".")[:2]),
    "empty_signature": lambda: ".".join(make_token().split(".")[:2]) + ".",
    "wrong_secret": lambda: make_token(secret=OTHER_SECRET),
    "alg_none": lambda: unsigned_token(),
    "alg_none_with_signature": lambda: unsigned_token() + make_token().split(".")[2],
    "hs512_not_allowed": lambda: _hs("HS512"),
    "hs384_not_allowed": lambda: _hs("HS384"),
    "header_alg_lie": _header_alg_lie,
    "tampered_payload": _tampered,
    "nbf_in_future": lambda: make_token(nbf=now() + 120),
    "no_sub": lambda: make_token(sub=None),
    "empty_sub": lambda: make_token(sub=""),
    "over_8k": lambda: make_token(pad="x" * 9000),
    "sub_not_a_string": lambda: _raw_signed({"sub": 12345, "exp": now() + 600}),
    "exp_not_a_number": lambda: _raw_signed({"sub": "u", "exp": "tomorrow"}),
    "payload_not_json": lambda: _raw_signed_bytes(b"not json"),
    "payload_json_array": lambda: _raw_signed_bytes(b"[1,2,3]"),
    # better-auth's email-verification tokens: same secret, no sub
    "email_verification_shape": lambda: _raw_signed({"email": "u@x.io",
                                                     "updateTo": None,
                                                     "iat": now(), "exp": now() + 3600}),
}


def _raw_signed_bytes(payload: bytes, alg: str = "HS256") -> str:
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64url(payload)
    sig = hmac.new(SECRET.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64url(sig)}"


def _raw_signed(claims: dict) -> str:
    return _raw_signed_bytes(json.dumps(claims).encode())


@pytest.mark.parametrize("name", sorted(INVALID_TOKENS))
def test_invalid_token_is_403(server, name):
    token = INVALID_TOKENS[name]()
    assert_error(server.me(token), 403, "INVALID_TOKEN")


def test_over_8k_token_is_really_over_8k():
    assert len(make_token(pad="x" * 9000)) > 8192


def test_large_token_under_8k_is_accepted(server):
    """The 8 KiB cap, not padding as such, is what refuses the big token."""
    pad = 5800
    token = make_token(pad="x" * pad)
    assert 7000 < len(token) <= 8192, len(token)
    r = server.me(token)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("header", [
    "Basic dXNlcjpwYXNzd29yZA==",
    "Token {tok}",
    "{tok}",
    "Bearer",
    "Bearer    ",
    "Bearer {tok} extra",
    "Bearerx {tok}",
])
def test_malformed_authorization_header_is_403(server, header):
    value = header.format(tok=make_token())
    r = raw_request(server.port, (f"GET /me HTTP/1.1\r\nHost: e2e\r\nAuthorization: {value}\r\n"
                                  f"Connection: close\r\n\r\n").encode())
    assert_error(r, 403, "INVALID_TOKEN")


def test_bearer_with_nothing_is_403(server):
    r = raw_request(server.port, b"GET /me HTTP/1.1\r\nHost: e2e\r\nAuthorization: Bearer \r\n"
                                 b"Connection: close\r\n\r\n")
    assert_error(r, 403, "INVALID_TOKEN")


def test_empty_authorization_header_is_refused(server):
    r = raw_request(server.port, b"GET /me HTTP/1.1\r\nHost: e2e\r\nAuthorization: \r\n"
                                 b"Connection: close\r\n\r\n")
    assert r.status in (401, 403), r
    assert_error(r, r.status)


# ---------------------------------------------------------------- time


def test_expired_token_is_403_token_expired(server):
    token = make_token(iat=now() - 7200, exp=now() - 120)
    assert_error(server.me(token), 403, "TOKEN_EXPIRED")
    # and again: a refused token is never cached as good
    assert_error(server.me(token), 403, "TOKEN_EXPIRED")


def test_long_expired_token(server):
    assert_error(server.me(make_token(iat=1, exp=1000)), 403, "TOKEN_EXPIRED")


def test_token_expired_within_leeway_passes(server):
    r = server.me(make_token(iat=now() - 600, exp=now() - 10))
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == "user-1"


def test_nbf_within_leeway_passes(server):
    r = server.me(make_token(nbf=now() + 10))
    assert r.status_code == 200, r.text


def test_nbf_in_past_passes(server):
    r = server.me(make_token(nbf=now() - 60))
    assert r.status_code == 200, r.text


def test_leeway_is_configurable(start_server):
    s = start_server(env={"JWT_LEEWAY_SECONDS": "0"})
    assert_error(s.me(make_token(exp=now() - 10)), 403, "TOKEN_EXPIRED")
    assert_error(s.me(make_token(nbf=now() + 10)), 403, "INVALID_TOKEN")
    assert s.me(make_token()).status_code == 200


# ---------------------------------------------------------------- algorithms


def test_hs384_accepted_when_configured(start_server):
    s = start_server(env={"JWT_ALGORITHMS": "HS256,HS384"})
    r = s.me(make_token(alg="HS384", sub="u384"))
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == "u384"
    assert s.me(make_token(alg="HS256")).status_code == 200
    assert_error(s.me(make_token(alg="HS512")), 403, "INVALID_TOKEN")
    assert_error(s.me(unsigned_token()), 403, "INVALID_TOKEN")
    assert_error(s.me(make_token(alg="HS384", secret=OTHER_SECRET)), 403, "INVALID_TOKEN")


def test_only_hs512_configured(start_server):
    s = start_server(env={"JWT_ALGORITHMS": "HS512"})
    assert s.me(make_token(alg="HS512")).status_code == 200
    assert_error(s.me(make_token(alg="HS256")), 403, "INVALID_TOKEN")


# ---------------------------------------------------------------- iss / aud


@pytest.fixture(scope="module")
def iss_aud_server(tmp_path_factory):
    s = launch(tmp_path_factory.mktemp("issaud"),
               env={"JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE})
    yield s
    s.check_clean_exit()


def test_right_iss_and_aud_pass(iss_aud_server):
    r = iss_aud_server.me(make_token(iss=ISSUER, aud=AUDIENCE))
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == "user-1"


def test_aud_list_containing_ours_passes(iss_aud_server):
    r = iss_aud_server.me(make_token(iss=ISSUER, aud=["https://other.example", AUDIENCE]))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("claims", [
    {"iss": "https://evil.example.com", "aud": AUDIENCE},
    {"iss": None, "aud": AUDIENCE},
    {"iss": ISSUER + "/", "aud": AUDIENCE},
    {"iss": ISSUER, "aud": "https://evil.example.com"},
    {"iss": ISSUER, "aud": None},
    {"iss": ISSUER, "aud": ["https://evil.example.com"]},
], ids=["wrong_iss", "no_iss", "iss_suffix", "wrong_aud", "no_aud", "aud_list_without_ours"])
def test_wrong_iss_or_aud_is_403(iss_aud_server, claims):
    assert_error(iss_aud_server.me(make_token(**claims)), 403, "INVALID_TOKEN")


def test_iss_aud_not_checked_when_unset(server):
    r = server.me(make_token(iss="https://anyone.example", aud="whatever"))
    assert r.status_code == 200, r.text



# ---------------------------------------------------------------- hygiene (issue 10)


def _no_exp_token(**kw) -> str:
    return make_token(exp=None, **kw)


def test_token_without_exp_is_403_outside_development(server):
    """Issue 10: a token without exp was accepted and never expired."""
    assert_error(server.me(_no_exp_token()), 403, "INVALID_TOKEN")
    assert server.me(make_token()).status_code == 200


def test_token_without_exp_accepted_in_development(start_server):
    s = start_server(env={"AGENTOS_ENV": "development"})
    r = s.me(_no_exp_token())
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == "user-1"


def test_require_exp_is_configurable(start_server):
    dev = start_server(env={"AGENTOS_ENV": "development", "JWT_REQUIRE_EXP": "true"})
    assert_error(dev.me(_no_exp_token()), 403, "INVALID_TOKEN")
    lax = start_server(env={"JWT_REQUIRE_EXP": "false"})
    assert lax.me(_no_exp_token()).status_code == 200
    assert lax.me(make_token()).status_code == 200


def test_workspace_and_session_claims_are_mapped(start_server):
    """better-auth setups put the organization in activeOrganizationId."""
    s = start_server(env={"JWT_WORKSPACE_CLAIM": "activeOrganizationId",
                          "JWT_SESSION_CLAIM": "sid"})
    tok = make_token(workspaceId=None, sessionId=None, activeOrganizationId="org-42", sid="s-7")
    r = s.me(tok)
    assert r.status_code == 200, r.text
    assert r.json()["workspace_id"] == "org-42"
    assert r.json()["session_id"] == "s-7"
    # the default names mean nothing now
    r = s.me(make_token(workspaceId="ws-1", sessionId="session-1"))
    assert r.status_code == 200, r.text
    assert r.json()["workspace_id"] is None and r.json()["session_id"] is None
    assert_error(s.me(make_token(activeOrganizationId=7)), 403, "INVALID_TOKEN")


@pytest.mark.parametrize("name,value", [
    ("JWT_WORKSPACE_CLAIM", "sub"),
    ("JWT_WORKSPACE_CLAIM", "work space"),
    ("JWT_SESSION_CLAIM", "x" * 65),
    ("JWT_REQUIRE_EXP", "sometimes"),
    ("BETTER_AUTH_URL", "web:3000"),
])
def test_bad_token_setting_refuses_to_start(tmp_path, name, value):
    run = run_to_exit(tmp_path, env={name: value})
    assert run.returncode != 0, run.stderr
    lines = [l for l in run.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and name in lines[0], run.stderr


def test_seed_tokens_pass_with_better_auth_url_set(start_server):
    """BETTER_AUTH_URL is the iss/aud default of JWKS tokens only: the web
    app's HS256 tokens carry neither and stay accepted."""
    s = start_server(env={"BETTER_AUTH_URL": "http://web:3000/"})
    assert s.me(make_token()).status_code == 200
    assert s.me(make_token(iss="anyone", aud="anything")).status_code == 200


def _cookie_cache_payload() -> dict:
    """better-auth's "jwt" cookie cache (cookies/index.ts setCookieCache):
    signJWT({session, user, updatedAt, version}) under the same secret."""
    return {"session": {"id": "s1", "userId": "user-1", "token": "t"},
            "user": {"id": "user-1", "email": "user1@example.com"},
            "updatedAt": now() * 1000, "version": "1", "iat": now(), "exp": now() + 300}


NOT_LOGINS = {
    "email_verification": lambda: _raw_signed({"email": "u@x.io", "updateTo": "v@x.io",
                                               "requestType": "change-email-verification",
                                               "iat": now(), "exp": now() + 3600}),
    "cookie_cache_hs256": lambda: _raw_signed(_cookie_cache_payload()),
    # the jwt() plugin's cookie cache (plugins/jwt/cookie-cache.ts): a sub, but
    # its own typ and aud
    "cookie_cache_typ": lambda: make_token(headers={"typ": "better-auth.session-cache+jwt"},
                                           aud="better-auth:session-cache", sid="t"),
    "cookie_cache_aud": lambda: make_token(aud="better-auth:session-cache", sid="t"),
    "logout_token": lambda: make_token(headers={"typ": "logout+jwt"}),
}


@pytest.mark.parametrize("name", sorted(NOT_LOGINS))
def test_better_auth_tokens_that_are_not_logins_are_refused(server, name):
    assert_error(server.me(NOT_LOGINS[name]()), 403, "INVALID_TOKEN")


def _refusals(s) -> list[dict]:
    return [l for l in s.log_lines() if str(l.get("msg", "")).startswith("token refused")]


def test_refusal_reason_logged_at_debug_without_the_token(start_server):
    """Issue 10: a rejected token said nothing about why, even at debug."""
    s = start_server(env={"LOG_LEVEL": "debug"})
    cases = {
        "exp missing": _no_exp_token(sub="who-am-i"),
        "bad signature": make_token(secret=OTHER_SECRET),
        "alg not allowed": make_token(alg="HS512"),
        "workspaceId not a string": make_token(workspaceId=12),
        "sub missing": NOT_LOGINS["email_verification"](),
        "expired": make_token(iat=1, exp=1000),
    }
    for reason, tok in cases.items():
        assert s.me(tok).status_code == 403
    for reason, tok in cases.items():
        lines = s.wait_log(lambda l, r=reason: l.get("msg") == f"token refused: {r}")
        line = lines[0]
        assert line["level"] == "debug"
        assert line["reason"] == reason
        fp = hashlib.sha256(tok.encode()).hexdigest()[:8]
        assert line["token_sha256"] == fp, line
    text = s.stderr_text()
    for tok in cases.values():
        for part in tok.split("."):
            assert part not in text
    assert "who-am-i" not in text


def test_an_oversized_token_is_logged_with_its_reason(start_server):
    """Refused before any verifier (auth_ctx_verify's size bound), it got no
    line at all."""
    s = start_server(env={"LOG_LEVEL": "debug"})
    tok = make_token(name="x" * 9000)
    assert len(tok) > 8192
    assert s.me(tok).status_code == 403
    lines = s.wait_log(lambda l: l.get("msg") == "token refused: token empty or too large")
    assert lines[0]["token_sha256"] == hashlib.sha256(tok.encode()).hexdigest()[:8], lines
    assert tok.split(".")[1] not in s.stderr_text()


def test_refusals_are_not_logged_at_info(start_server):
    s = start_server(env={"LOG_LEVEL": "info"})
    assert s.me(_no_exp_token()).status_code == 403
    assert s.me(make_token()).status_code == 200
    s.wait_log(lambda l: l.get("path") == "/me" or "/me" in str(l.get("msg", "")))
    assert _refusals(s) == []
