"""better-auth's JWT plugin tokens, verified with its JWKS (issue 10, item 1):
BETTER_AUTH_JWKS_URL fetched off the loop and cached, keys by kid, the
algorithm from the key, unknown kids refetched (rate-limited), the last good
set kept while the server is down, and HS256 beside it per JWT_ALGORITHMS.
The keys are served by tests/support/jwks_server.py and the tokens minted
with PyJWT/cryptography, as better-auth's jose would."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from conftest import REPO, assert_error, b64url, make_token, run_to_exit, wait_until
from runs_support import start_port_process, stop_process

APP = "http://localhost:3000"  # better-auth's base URL: its tokens' iss and aud
JWKS_SERVER = REPO / "tests" / "support" / "jwks_server.py"


class Key:
    """One signing key, its public JWK and the PyJWT algorithm it signs with."""

    def __init__(self, kid: str, alg: str):
        self.kid, self.alg = kid, alg
        if alg == "EdDSA":
            self.private = ed25519.Ed25519PrivateKey.generate()
            jwk = OKPAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        elif alg in ("ES256", "ES512"):
            curve = ec.SECP256R1() if alg == "ES256" else ec.SECP521R1()
            self.private = ec.generate_private_key(curve)
            jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        # better-auth's jwks rows carry the kid and the alg of each key.
        self.jwk = {**jwk, "kid": kid, "alg": alg}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def token(self, alg: str | None = None, kid: str | None = None, **overrides) -> str:
        now = int(time.time())
        claims = {"sub": "user-ba", "iat": now, "exp": now + 900, "iss": APP, "aud": APP,
                  "workspaceId": "ws-ba", "sessionId": "sess-ba", "email": "ba@example.com"}
        for k, v in overrides.items():
            if v is None:
                claims.pop(k, None)
            else:
                claims[k] = v
        return jwt.encode(claims, self.private, algorithm=alg or self.alg,
                          headers={"kid": kid or self.kid})


class JwksServer:
    def __init__(self) -> None:
        self.proc, self.port = start_port_process(JWKS_SERVER)
        self.url = f"http://127.0.0.1:{self.port}/api/auth/jwks"
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10.0)

    def publish(self, *keys: Key) -> None:
        r = self.http.post("/_keys", json={"keys": [k.jwk for k in keys]})
        assert r.status_code == 200, r.text

    def mode(self, mode: str) -> None:
        assert self.http.post("/_mode", json={"mode": mode}).status_code == 200

    def fetches(self) -> int:
        return self.http.get("/_stats").json()["fetches"]

    def close(self) -> None:
        self.http.close()
        stop_process(self.proc)


@pytest.fixture(scope="module")
def keys():
    return {alg: Key(f"kid-{alg.lower()}", alg)
            for alg in ("EdDSA", "ES256", "ES512", "RS256", "PS256")}


@pytest.fixture
def jwks(keys):
    s = JwksServer()
    s.publish(*keys.values())
    yield s
    s.close()


def env_for(jwks: JwksServer, **extra) -> dict:
    env = {"BETTER_AUTH_JWKS_URL": jwks.url, "JWT_ISSUER": APP, "JWT_AUDIENCE": APP,
           "JWKS_REFETCH_MIN_SECONDS": "1", "METRICS_PUBLIC": "true", "LOG_LEVEL": "debug"}
    env.update(extra)
    return env


@pytest.fixture
def srv(start_server, jwks):
    return start_server(env=env_for(jwks))


def hs_token(**overrides) -> str:
    """The seed's HS256 token, with the iss and aud JWT_ISSUER/JWT_AUDIENCE ask for."""
    return make_token(iss=APP, aud=APP, **overrides)


def me(srv, token: str):
    return srv.request("GET", "/me", headers={"Authorization": f"Bearer {token}"})


def accepted(srv, token: str) -> dict:
    r = me(srv, token)
    assert r.status_code == 200, r.text
    return r.json()


def refused(srv, token: str, code: str = "INVALID_TOKEN") -> None:
    assert_error(me(srv, token), 403, code)


def ready_jwks(srv) -> dict:
    r = srv.get("/ready")
    assert r.status_code == 200, r.text  # the key set never makes the service unready
    return r.json()["checks"]["jwks"]


def metric_line(srv, series: str) -> float:
    for line in srv.get("/metrics/prometheus").text.splitlines():
        if line.split(" ")[0] == series:
            return float(line.split(" ")[1])
    raise AssertionError(f"{series} not in the exposition")


# ---------------------------------------------------------------- valid tokens


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "ES512", "RS256", "PS256"])
def test_a_token_of_each_algorithm_is_accepted(srv, keys, alg):
    body = accepted(srv, keys[alg].token())
    assert body["user_id"] == "user-ba" and body["workspace_id"] == "ws-ba", body


def test_hs256_and_jwks_tokens_side_by_side(srv, keys):
    assert accepted(srv, hs_token())["user_id"] == "user-1"
    assert accepted(srv, keys["EdDSA"].token())["user_id"] == "user-ba"


def test_ready_and_metrics_show_the_set(srv, keys):
    c = ready_jwks(srv)
    assert c["ok"] is True and c["status"] == "ok" and c["keys"] == 5, c
    assert c["source"] == "url" and isinstance(c["age_s"], int) and "error" not in c, c
    assert metric_line(srv, 'agentos_jwks_loads_total{result="ok"}') >= 1
    assert metric_line(srv, "agentos_jwks_keys") == 5


def test_every_kind_goes_through_the_token_cache(srv, keys):
    tok = keys["EdDSA"].token()
    accepted(srv, tok)
    hits = metric_line(srv, "agentos_token_cache_hits_total")
    for _ in range(3):
        accepted(srv, tok)
    assert metric_line(srv, "agentos_token_cache_hits_total") >= hits + 3
    ratio = metric_line(srv, "agentos_token_cache_hit_ratio")
    assert 0 < ratio <= 1


# ---------------------------------------------------------------- refused tokens


def test_wrong_kid_is_refused(srv, keys):
    refused(srv, keys["EdDSA"].token(kid="kid-nobody"))


def test_unknown_kid_refetches_at_most_once_per_interval(start_server, jwks, keys):
    s = start_server(env=env_for(jwks, JWKS_REFETCH_MIN_SECONDS="3"))
    time.sleep(3.2)  # the load at start counts as the last attempt
    before = jwks.fetches()
    for i in range(5):
        refused(s, keys["EdDSA"].token(kid=f"kid-unknown-{i}"))
    wait_until(lambda: jwks.fetches() > before, 5, 0.1, "the refetch")
    for i in range(5):
        refused(s, keys["EdDSA"].token(kid=f"kid-unknown-again-{i}"))
    time.sleep(0.5)
    assert jwks.fetches() - before == 1, "unknown kids refetched more than once an interval"


def test_wrong_issuer_or_audience_is_refused(srv, keys):
    refused(srv, keys["EdDSA"].token(iss="http://evil.example"))
    refused(srv, keys["ES256"].token(aud="http://other.example"))


def test_email_verification_shaped_token_is_refused(srv, keys):
    # better-auth's verification tokens carry an email and no sub.
    refused(srv, keys["EdDSA"].token(sub=None, workspaceId=None, sessionId=None))


def test_alg_swapped_in_the_header_is_refused(srv, keys):
    tok = keys["ES256"].token()
    _, payload, sig = tok.split(".")
    for alg in ("EdDSA", "ES512", "RS256", "none"):
        header = b64url(json.dumps({"alg": alg, "kid": "kid-es256", "typ": "JWT"}).encode())
        refused(srv, f"{header}.{payload}.{sig}")
    # An unsigned token (alg none, no signature) under a known kid.
    none = b64url(json.dumps({"alg": "none", "kid": "kid-es256", "typ": "JWT"}).encode())
    refused(srv, f"{none}.{payload}.")
    # PyJWT signs PS256 with the RSA key while the JWK says RS256: the key's alg wins.
    refused(srv, keys["RS256"].token(alg="PS256"))


def test_hs256_signed_with_the_public_key_is_refused(srv, keys):
    """Algorithm confusion: HMAC keyed with the public key's bytes."""
    for k in (keys["RS256"], keys["EdDSA"], keys["ES256"]):
        for secret in (k.public_pem(), json.dumps(k.jwk).encode()):
            header = b64url(json.dumps({"alg": "HS256", "kid": k.kid, "typ": "JWT"}).encode())
            now = int(time.time())
            payload = b64url(json.dumps({"sub": "user-ba", "iss": APP, "aud": APP, "iat": now,
                                         "exp": now + 600, "workspaceId": "ws-ba"}).encode())
            sig = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
            refused(srv, f"{header}.{payload}.{b64url(sig)}")


def test_algorithms_not_listed_are_refused(start_server, jwks, keys):
    s = start_server(env=env_for(jwks, JWT_ALGORITHMS="HS256,ES256"))
    refused(s, keys["EdDSA"].token())
    refused(s, keys["RS256"].token())
    accepted(s, keys["ES256"].token())
    accepted(s, hs_token())


def test_hs256_refused_when_not_listed(start_server, jwks, keys):
    s = start_server(env=env_for(jwks, JWT_ALGORITHMS="EdDSA"))
    refused(s, hs_token())
    accepted(s, keys["EdDSA"].token())


def test_refusals_log_their_reason_without_the_token(srv, keys):
    tok = keys["EdDSA"].token(kid="kid-nobody")
    refused(srv, tok)
    # The one refusal line of every verifier (auth/jwt_reason.c).
    lines = srv.wait_log(lambda l: l.get("reason") == "kid unknown" and l.get("verifier") == "jwks")
    assert lines, srv.stderr_text()
    assert re.fullmatch(r"[0-9a-f]{8}", lines[0]["token_sha256"]), lines
    assert tok not in srv.stderr_text() and tok.split(".")[2] not in srv.stderr_text()


# ---------------------------------------------------------------- rotation and failures


def test_rotation_new_kid_after_refetch_old_until_it_leaves(srv, jwks, keys):
    old = keys["EdDSA"]
    new = Key("kid-eddsa-2", "EdDSA")
    jwks.publish(old, new)
    # The first token of the new kid asks for the refetch; the set is then swapped.
    wait_until(lambda: me(srv, new.token()).status_code == 200, 10, 0.3, "the new kid")
    accepted(srv, old.token())  # still in the set
    jwks.publish(new)
    # Another unknown kid (after the 1 s interval) reloads the set without the old key.
    time.sleep(1.1)
    wait_until(lambda: (refused_now(srv, Key("kid-x", "EdDSA").token()) and
                        me(srv, old.token(sub="user-fresh")).status_code == 403),
               10, 0.5, "the old key leaving the set")
    accepted(srv, new.token(sub="user-next"))


def refused_now(srv, token: str) -> bool:
    return me(srv, token).status_code == 403


def test_server_down_keeps_the_last_good_set(srv, jwks, keys):
    jwks.mode("error")
    wait_until(lambda: refused_now(srv, keys["EdDSA"].token(kid="kid-other")) and
               not ready_jwks(srv)["ok"], 10, 0.5, "the failed refetch")
    c = ready_jwks(srv)
    assert c["status"] == "error" and "503" in c["error"] and c["keys"] == 5, c
    assert isinstance(c["age_s"], int) and c["age_s"] >= 0, c
    accepted(srv, keys["ES512"].token(sub="user-after-failure"))  # not a cached token
    assert metric_line(srv, 'agentos_jwks_loads_total{result="error"}') >= 1
    assert metric_line(srv, "agentos_jwks_keys") == 5
    jwks.mode("ok")


def test_unreachable_at_start_then_recovers(start_server, keys):
    down = JwksServer()
    try:
        down.mode("error")
        s = start_server(env=env_for(down))
        c = ready_jwks(s)
        assert c["ok"] is False and c["age_s"] is None and c["keys"] == 0, c
        refused(s, keys["EdDSA"].token())
        accepted(s, hs_token())  # HS256 does not need the set
        down.publish(*keys.values())
        down.mode("ok")
        wait_until(lambda: me(s, keys["EdDSA"].token(sub="u2")).status_code == 200, 10, 0.5,
                   "the set loaded after the server came back")
        assert ready_jwks(s)["ok"] is True
    finally:
        down.close()


@pytest.mark.parametrize("mode,reason", [("big", "larger than"), ("garbage", "keys")])
def test_bounded_and_checked_fetch(start_server, jwks, keys, mode, reason):
    jwks.mode(mode)
    s = start_server(env=env_for(jwks, JWKS_MAX_BYTES="65536"))
    c = ready_jwks(s)
    assert c["ok"] is False and reason in c["error"], c
    jwks.mode("ok")


def test_fetch_timeout_is_bounded(start_server, jwks, keys):
    jwks.mode("hang")
    t0 = time.monotonic()
    s = start_server(env=env_for(jwks, JWKS_TIMEOUT_SECONDS="1"))
    assert time.monotonic() - t0 < 8
    c = ready_jwks(s)
    assert c["ok"] is False and "timed out" in c["error"], c
    jwks.mode("ok")


# ---------------------------------------------------------------- a file, and start-up


def test_jwks_file(start_server, tmp_path, keys):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [keys["EdDSA"].jwk, keys["PS256"].jwk]}))
    s = start_server(env={"BETTER_AUTH_JWKS_FILE": str(path), "JWT_ISSUER": APP,
                          "JWT_AUDIENCE": APP})
    accepted(s, keys["EdDSA"].token())
    accepted(s, keys["PS256"].token())
    refused(s, keys["ES256"].token())
    assert ready_jwks(s)["source"] == "file"


@pytest.mark.parametrize("env,needle", [
    ({"JWT_ALGORITHMS": "EdDSA"}, "JWT_ALGORITHMS: "),
    ({"JWT_ALGORITHMS": "HS256,XS999"}, "JWT_ALGORITHMS: "),
    ({"BETTER_AUTH_JWKS_FILE": "/nonexistent/jwks.json"}, "BETTER_AUTH_JWKS_FILE: "),
    ({"BETTER_AUTH_JWKS_URL": "ftp://example/jwks"}, "BETTER_AUTH_JWKS_URL: "),
    ({"BETTER_AUTH_JWKS_URL": "http://x/jwks", "BETTER_AUTH_JWKS_FILE": "/x"},
     "BETTER_AUTH_JWKS_URL: "),
    ({"BETTER_AUTH_JWKS_URL": "http://x/jwks", "JWT_ALGORITHMS": "HS256"}, "JWT_ALGORITHMS: "),
    ({"BETTER_AUTH_JWKS_URL": "http://x/jwks", "JWKS_MAX_KEYS": "0"}, "JWKS_MAX_KEYS: "),
])
def test_bad_configuration_stops_start_with_one_line(tmp_path, env, needle):
    r = run_to_exit(tmp_path, env=env)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert any(needle in l for l in lines), r.stderr


def test_bad_file_names_the_variable(tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text('{"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "hs"}]}')
    r = run_to_exit(tmp_path, env={"BETTER_AUTH_JWKS_FILE": str(path)})
    assert r.returncode == 2 and "BETTER_AUTH_JWKS_FILE: " in r.stderr, r.stderr
    assert "no usable signing key" in r.stderr, r.stderr
