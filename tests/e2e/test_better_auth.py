"""The real better-auth (issue 10): its jwt() plugin signs a token for a user
whose active organization is the workspace, publishes the key at
/api/auth/jwks, and this service accepts the token. The Node side is
tests/support/better_auth_jwks.mjs, with better-auth pinned in
tests/support/better-auth (installed by scripts/bootstrap --test)."""

from __future__ import annotations

import json
import select
import shutil
import subprocess

import pytest

from conftest import REPO, assert_error
from runs_support import stop_process

SCRIPT = REPO / "tests" / "support" / "better_auth_jwks.mjs"
MODULES = REPO / "tests" / "support" / "better-auth" / "node_modules" / "better-auth"


def start_better_auth(*args: str):
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the real better-auth cannot run here")
    if not MODULES.is_dir():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed: better-auth could not be installed")
        pytest.fail("better-auth is not installed: run scripts/bootstrap --test")
    proc = subprocess.Popen(["node", str(SCRIPT), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("{"):
        proc.kill()
        raise RuntimeError(f"better_auth_jwks.mjs did not start: {line!r}\n{proc.stderr.read()}")
    return proc, json.loads(line)


@pytest.fixture(scope="module")
def better_auth():
    proc, info = start_better_auth()
    yield info
    stop_process(proc)


def test_better_auth_hs256_through_the_plugin(start_server):
    proc, info = start_better_auth("--hs256")
    try:
        base = info["base_url"]
        srv = start_server(env={"BETTER_AUTH_SECRET": info["secret"], "JWT_ISSUER": base,
                                "JWT_AUDIENCE": base})
        r = srv.request("GET", "/me", headers={"Authorization": f"Bearer {info['token']}"})
        assert r.status_code == 200, r.text
        assert r.json()["workspace_id"] == info["workspace_id"], r.json()
    finally:
        stop_process(proc)


def test_better_auths_own_jwt_is_accepted(start_server, better_auth):
    base = better_auth["base_url"]
    srv = start_server(env={"BETTER_AUTH_JWKS_URL": f"{base}/api/auth/jwks",
                            "JWT_ISSUER": base, "JWT_AUDIENCE": base})
    headers = {"Authorization": f"Bearer {better_auth['token']}"}
    r = srv.request("GET", "/me", headers=headers)
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["user_id"] == better_auth["user_id"], me
    assert me["workspace_id"] == better_auth["workspace_id"], me
    r = srv.request("POST", "/sessions", headers=headers, json={"session_id": "ba-s1"})
    assert r.status_code in (200, 201), r.text
    # The same token with one signature byte changed is not better-auth's.
    head, payload, sig = better_auth["token"].split(".")
    forged = f"{head}.{payload}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BA'}"
    assert_error(srv.request("GET", "/me", headers={"Authorization": f"Bearer {forged}"}),
                 403, "INVALID_TOKEN")


def test_better_auth_token_refused_for_another_audience(start_server, better_auth):
    base = better_auth["base_url"]
    srv = start_server(env={"BETTER_AUTH_JWKS_URL": f"{base}/api/auth/jwks",
                            "JWT_AUDIENCE": "http://another-app.example"})
    r = srv.request("GET", "/me", headers={"Authorization": f"Bearer {better_auth['token']}"})
    assert_error(r, 403, "INVALID_TOKEN")
