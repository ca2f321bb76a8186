"""Start-up: refusal of bad configuration, .env precedence, and the
`agentos token` development command."""

import re

import httpx
import jwt
import pytest

from conftest import (
    OTHER_SECRET,
    SECRET,
    UUID_RE,
    assert_error,
    free_port,
    make_token,
    run_to_exit,
    sanitizer_report,
)

# ---------------------------------------------------------------- refusals


def assert_refused(run, name: str):
    assert run.returncode != 0, (run.returncode, run.stderr)
    assert run.elapsed < 5.0, run.elapsed
    assert not sanitizer_report(run.stderr), run.stderr
    lines = [l for l in run.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, run.stderr
    assert name in lines[0], lines[0]


@pytest.mark.parametrize("agentos_env", ["test", "production", None])
def test_missing_secret_refuses_to_start(tmp_path, agentos_env):
    run = run_to_exit(tmp_path, env={"BETTER_AUTH_SECRET": None, "AGENTOS_ENV": agentos_env})
    assert_refused(run, "BETTER_AUTH_SECRET")


def test_empty_secret_refuses_to_start(tmp_path):
    run = run_to_exit(tmp_path, env={"BETTER_AUTH_SECRET": ""})
    assert_refused(run, "BETTER_AUTH_SECRET")


def test_short_secret_refuses_to_start(tmp_path):
    run = run_to_exit(tmp_path, env={"BETTER_AUTH_SECRET": "0123456789"})
    assert_refused(run, "BETTER_AUTH_SECRET")
    assert "0123456789" not in run.stderr  # the value itself is not echoed


@pytest.mark.parametrize("name,value", [
    ("PORT", "abc"),
    ("PORT", "0"),
    ("PORT", "70000"),
    ("AGENTOS_WORKERS", "many"),
    ("JWT_LEEWAY_SECONDS", "-5"),
    ("MAX_BODY_BYTES", "1MB"),
    ("AGENTOS_ENV", "staging"),
    ("JWT_ALGORITHMS", "RS256"),
    ("JWT_ALGORITHMS", "none"),
    ("LOG_LEVEL", "loud"),
])
def test_bad_value_refuses_to_start_naming_the_variable(tmp_path, name, value):
    run = run_to_exit(tmp_path, env={name: value})
    assert_refused(run, name)


def test_development_without_secret_starts_and_warns(start_server):
    s = start_server(env={"AGENTOS_ENV": "development", "BETTER_AUTH_SECRET": None})
    assert s.get("/health").status_code == 200
    warn = [l for l in s.log_lines()
            if l.get("level") in ("warn", "warning") and "BETTER_AUTH_SECRET" in str(l)]
    assert warn, s.stderr_text()
    # with no secret, nothing verifies: protected routes stay closed
    assert_error(s.get("/me"), 401, "UNAUTHORIZED")
    assert_error(s.me(make_token()), 403, "INVALID_TOKEN")


# ---------------------------------------------------------------- .env


FILE_ISSUER = "https://from-the-file.example"


def test_env_file_precedence(start_server, tmp_path):
    """PORT and BETTER_AUTH_SECRET are in both the file and the environment:
    the environment wins. JWT_ISSUER is only in the file: it is used."""
    file_port, env_port = free_port(), free_port()
    while env_port == file_port:
        env_port = free_port()
    dotenv = tmp_path / "custom.env"
    dotenv.write_text(
        "# written by the e2e tests\n"
        "\n"
        f"PORT={file_port}\n"
        f"BETTER_AUTH_SECRET={OTHER_SECRET}\n"
        f'export JWT_ISSUER="{FILE_ISSUER}"\n'
    )
    s = start_server(env={"AGENTOS_ENV_FILE": str(dotenv), "BETTER_AUTH_SECRET": SECRET},
                     port=env_port)
    assert s.env["PORT"] == str(env_port)
    assert s.get("/health").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{file_port}/health", timeout=2.0)

    # the environment's secret signs, with the file's issuer
    r = s.me(make_token(secret=SECRET, iss=FILE_ISSUER))
    assert r.status_code == 200, r.text
    # the file's secret lost
    assert_error(s.me(make_token(secret=OTHER_SECRET, iss=FILE_ISSUER)), 403, "INVALID_TOKEN")
    # the file's JWT_ISSUER is enforced
    assert_error(s.me(make_token(secret=SECRET)), 403, "INVALID_TOKEN")
    assert_error(s.me(make_token(secret=SECRET, iss="https://elsewhere.example")), 403,
                 "INVALID_TOKEN")
    assert OTHER_SECRET not in s.stderr_text()


def test_env_file_alone_supplies_the_required_secret(start_server, tmp_path):
    dotenv = tmp_path / "only.env"
    dotenv.write_text(f"BETTER_AUTH_SECRET='{OTHER_SECRET}'\n")
    s = start_server(env={"AGENTOS_ENV_FILE": str(dotenv), "BETTER_AUTH_SECRET": None})
    r = s.me(make_token(secret=OTHER_SECRET))
    assert r.status_code == 200, r.text
    assert_error(s.me(make_token(secret=SECRET)), 403, "INVALID_TOKEN")
    assert OTHER_SECRET not in s.stderr_text() + s.stdout_text()


def test_malformed_env_file_refuses_to_start(tmp_path):
    """A malformed .env stops start-up with one line."""
    dotenv = tmp_path / "broken.env"
    dotenv.write_text("THIS IS NOT A PAIR\n")
    run = run_to_exit(tmp_path, env={"AGENTOS_ENV_FILE": str(dotenv)})
    assert run.returncode != 0
    lines = [l for l in run.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, run.stderr
    assert "broken.env" in lines[0], lines[0]


# ---------------------------------------------------------------- agentos token


def test_token_command_mints_a_token_the_server_accepts(server, tmp_path):
    run = run_to_exit(tmp_path, args=("token", "--sub", "u1", "--workspace", "w1"))
    assert run.returncode == 0, run.stderr
    assert not sanitizer_report(run.stderr), run.stderr
    token = run.stdout.strip()
    assert token.count(".") == 2 and "\n" not in token, run.stdout
    assert SECRET not in run.stdout + run.stderr

    claims = jwt.decode(token, SECRET.encode(), algorithms=["HS256"])
    assert claims["sub"] == "u1" and claims["workspaceId"] == "w1"
    assert 3500 <= claims["exp"] - claims["iat"] <= 3700

    r = server.me(token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user_id"] == "u1"
    assert body["workspace_id"] == "w1"
    assert re.match(UUID_RE, body["session_id"] or ""), body


def test_token_command_with_all_options(server, tmp_path):
    run = run_to_exit(tmp_path, args=("token", "--sub", "u2", "--workspace", "w2", "--email",
                                      "u2@example.com", "--name", "User Two", "--ttl", "120"))
    assert run.returncode == 0, run.stderr
    token = run.stdout.strip()
    claims = jwt.decode(token, SECRET.encode(), algorithms=["HS256"])
    assert 100 <= claims["exp"] - claims["iat"] <= 140
    r = server.me(token)
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "u2@example.com"
    assert r.json()["name"] == "User Two"


def test_token_command_without_workspace(server, tmp_path):
    run = run_to_exit(tmp_path, args=("token", "--sub", "u3"))
    assert run.returncode == 0, run.stderr
    r = server.me(run.stdout.strip())
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == "u3" and r.json()["workspace_id"] is None


def test_token_command_needs_sub(tmp_path):
    run = run_to_exit(tmp_path, args=("token", "--workspace", "w1"))
    assert run.returncode != 0
    assert run.stdout.strip() == ""


def test_token_from_another_secret_is_refused(server, tmp_path):
    run = run_to_exit(tmp_path, env={"BETTER_AUTH_SECRET": OTHER_SECRET},
                      args=("token", "--sub", "u1"))
    assert run.returncode == 0, run.stderr
    assert_error(server.me(run.stdout.strip()), 403, "INVALID_TOKEN")
