"""docker-compose.yml and docker-compose.override.example.yml (issue 10, item 7):
both pass `docker-compose config -q`, the host port follows AGENTOS_PORT and
never PORT, the Redis URL (and so its db) comes from the environment, and the
example joins a stack whose postgres, redis and web already exist.

docker-compose is Debian's package (scripts/bootstrap --test installs it);
`config` needs no Docker daemon. PyYAML comes with agno (requirements.txt)."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
OVERRIDE = REPO / "docker-compose.override.example.yml"

# The team's stack as the override expects it: their services, their names.
TEAM_STACK = """
services:
  postgres:
    image: postgres:16
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: change-me
      POSTGRES_DB: app
  redis:
    image: redis:7
  web:
    image: node:20
    command: ["npm", "run", "start"]
    environment:
      PORT: "3000"
      DATABASE_URL: postgresql://app:change-me@postgres:5432/app?schema=public
      REDIS_URL: redis://redis:6379/0
"""


def docker_compose() -> str:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose is not installed (scripts/bootstrap --test installs it)")
    return exe


def project(tmp_path: Path, dotenv: str = "") -> Path:
    """A copy of the compose files in a directory of their own, with its own
    .env: the repo's .env (make run's) never leaks in."""
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    shutil.copy(OVERRIDE, tmp_path / "agentos.yml")
    (tmp_path / "team.yml").write_text(TEAM_STACK)
    (tmp_path / ".env").write_text(dotenv)
    return tmp_path


def config(directory: Path, files: list[str], env: dict[str, str] | None = None,
           quiet: bool = False) -> dict | None:
    args = [docker_compose()]
    for f in files:
        args += ["-f", f]
    args += ["config"] + (["-q"] if quiet else [])
    p = subprocess.run(args, cwd=directory, capture_output=True, text=True, timeout=60,
                       env={"PATH": "/usr/local/bin:/usr/bin:/bin", **(env or {})},
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, (args, p.stderr)
    return None if quiet else yaml.safe_load(p.stdout)


def published(service: dict) -> list[int]:
    return [int(p["published"]) for p in service["ports"]]


def raw(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_both_files_pass_config_q(tmp_path):
    d = project(tmp_path)
    config(d, ["docker-compose.yml"], quiet=True)
    config(d, ["team.yml", "agentos.yml"], quiet=True)


@pytest.mark.parametrize("name", ["docker-compose.yml", "docker-compose.override.example.yml"])
def test_ports_never_name_port(name):
    ports = raw(REPO / name)["services"]["agentos"]["ports"]
    assert ports == ["${AGENTOS_PORT:-7777}:7777"], ports
    assert not [p for p in ports if "${PORT" in p or "$PORT" in p], ports


@pytest.mark.parametrize("files", [["docker-compose.yml"], ["team.yml", "agentos.yml"]])
def test_host_port_follows_agentos_port_not_port(tmp_path, files):
    """A shared .env with PORT=3000 (Next.js's) publishes 7777, not 3000."""
    d = project(tmp_path, dotenv="PORT=3000\n")
    svc = config(d, files, env={"PORT": "3000"})["services"]["agentos"]
    assert published(svc) == [7777]
    assert svc["environment"]["PORT"] == "7777"
    svc = config(d, files, env={"PORT": "3000", "AGENTOS_PORT": "8123"})["services"]["agentos"]
    assert published(svc) == [8123]


@pytest.mark.parametrize("files", [["docker-compose.yml"], ["team.yml", "agentos.yml"]])
def test_redis_url_and_its_db_come_from_the_environment(tmp_path, files):
    d = project(tmp_path)
    env = config(d, files, env={"AGENTOS_REDIS_URL": "redis://redis:6379/5"})["services"][
        "agentos"]["environment"]
    assert env["REDIS_URL"] == "redis://redis:6379/5"
    (d / ".env").write_text("AGENTOS_REDIS_URL=redis://:pw@cache:6380/7\n")
    env = config(d, files)["services"]["agentos"]["environment"]
    assert env["REDIS_URL"] == "redis://:pw@cache:6380/7"


def test_the_override_joins_the_teams_stack(tmp_path):
    d = project(tmp_path)
    services = config(d, ["team.yml", "agentos.yml"])["services"]
    assert set(services) == {"postgres", "redis", "web", "agentos"}
    svc = services["agentos"]
    assert set(svc["depends_on"]) == {"postgres", "redis", "web"}
    env = svc["environment"]
    assert env["DATABASE_URL"] == "postgresql://app:change-me@postgres:5432/app?schema=public"
    assert env["DATABASE_SCHEMA"] != "public"
    assert env["REDIS_URL"] == "redis://redis:6379/2"  # a db of its own, not the stack's 0
    assert env["BETTER_AUTH_JWKS_URL"] == "http://web:3000/api/auth/jwks"
    assert "build" not in svc and "postgres" not in raw(OVERRIDE)["services"]


def test_healthchecks(tmp_path):
    services = config(project(tmp_path), ["docker-compose.yml"])["services"]
    for name in ("postgres", "redis", "agentos"):
        assert services[name]["healthcheck"]["test"], name
    assert services["agentos"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    hc = raw(OVERRIDE)["services"]["agentos"]["healthcheck"]
    assert "http://127.0.0.1:7777/health" in hc["test"]
