"""The team's database as it is (issue 10, item 3): Prisma's DATABASE_URL,
DATABASE_SCHEMA=public, and roles with only the documented privileges.

Every test here works in a scratch database of its own on the shared
PostgreSQL, with roles of its own; both are dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from conftest import REPO, agentos_bin, api_for, merge_env, run_to_exit

# trust auth in the throw-away server: any password is accepted, and this
# one must never reach the output.
PASSWORD = "pw-" + secrets.token_hex(8)

# What README's "Least privileges" grants, word for word.
SERVICE_GRANTS = [
    'GRANT USAGE ON SCHEMA "{schema}" TO {app}',
    'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO {app}',
]


def with_user_db(url: str, user: str | None = None, db: str | None = None,
                 query: str = "", password: str | None = PASSWORD) -> str:
    parts = urlsplit(url)
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    user = user or parts.username or "postgres"
    auth = f"{user}:{password}@" if password else f"{user}@"
    path = f"/{db}" if db else parts.path
    return urlunsplit((parts.scheme, auth + host, path, query, ""))


@dataclass
class Scratch:
    admin: str  # the superuser, on the scratch database
    name: str
    roles: list[str]

    def sql(self, *stmts: str, url: str | None = None) -> None:
        with psycopg.connect(url or self.admin, autocommit=True, connect_timeout=5) as conn:
            for st in stmts:
                conn.execute(st)

    def role(self, prefix: str) -> str:
        name = f"{prefix}_{secrets.token_hex(4)}"
        self.sql(f"CREATE ROLE {name} LOGIN")
        self.roles.append(name)
        return name

    def url(self, role: str, query: str = "") -> str:
        return with_user_db(self.admin, user=role, query=query)

    def tables(self, schema: str) -> list[str]:
        with psycopg.connect(self.admin, autocommit=True, connect_timeout=5) as conn:
            rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE "
                                "table_schema = %s ORDER BY 1", (schema,)).fetchall()
        return [r[0] for r in rows]


@pytest.fixture
def scratch(pg_url):
    name = "roles_" + secrets.token_hex(5)
    with psycopg.connect(pg_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    s = Scratch(with_user_db(pg_url, db=name, password=None), name, [])
    try:
        yield s
    finally:
        with psycopg.connect(pg_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            for r in s.roles:
                conn.execute(f"DROP ROLE IF EXISTS {r}")


def no_password(*texts: str) -> None:
    for t in texts:
        assert PASSWORD not in t, "the DATABASE_URL password is in the output"


def start_as(start_server, url: str, schema: str, **extra):
    s = start_server(env={"DATABASE_URL": url, "DATABASE_SCHEMA": schema, **extra})
    return s


def serves_sessions(s) -> None:
    api = api_for(s, workspace="ws-roles")
    created = api.create_ok({"session_id": "s-roles", "session_name": "roles"})
    assert created["session_id"] == "s-roles"
    assert [x["session_id"] for x in api.list_ok()["data"]] == ["s-roles"]
    assert s.get("/ready").status_code == 200


def migrate(tmp_path, url: str, schema: str, **extra):
    return run_to_exit(tmp_path / f"migrate-{secrets.token_hex(3)}", args=("migrate",),
                       env={"DATABASE_URL": url, "DATABASE_SCHEMA": schema,
                            "BETTER_AUTH_SECRET": None, **extra}, timeout=30)


def refused(tmp_path, url: str, schema: str, **extra):
    r = run_to_exit(tmp_path / f"refused-{secrets.token_hex(3)}",
                    env={"DATABASE_URL": url, "DATABASE_SCHEMA": schema, **extra}, timeout=30)
    assert r.returncode != 0, r.stderr
    no_password(r.stderr, r.stdout)
    return r.stderr


# ================================================================ Prisma's DATABASE_URL


@pytest.mark.parametrize("query", ["schema=public", "connection_limit=5&pool_timeout=10"])
def test_prisma_style_url_starts_and_serves(scratch, start_server, query):
    # The old code: `store: invalid URI query parameter: "schema"`.
    s = start_as(start_server, scratch.url("postgres", query), "agentos")
    serves_sessions(s)
    err = s.stderr_text()
    assert "Prisma's own parameters ignored" in err, err
    if "schema" in query:
        assert "schema=public" in err and "DATABASE_SCHEMA (agentos)" in err, err
    # Our tables stay in DATABASE_SCHEMA, never in Prisma's public.
    assert "sessions" in scratch.tables("agentos")
    assert scratch.tables("public") == []
    s.check_clean_exit()
    no_password(s.stderr_text(), s.stdout_text())


def test_unknown_parameter_names_database_url(scratch, tmp_path):
    err = refused(tmp_path, scratch.url("postgres", "schema=public&colour=blue"), "agentos")
    lines = [line for line in err.splitlines() if "colour" in line]
    assert len(lines) == 1, err
    assert "DATABASE_URL" in lines[0] and "invalid URI query parameter" in lines[0], err


def test_schema_public_refused_without_the_flag(scratch, tmp_path):
    err = refused(tmp_path, scratch.url("postgres"), "public")
    assert "DATABASE_SCHEMA" in err and "DATABASE_SCHEMA_SHARED_OK=true" in err, err
    assert "Prisma" in err, err
    assert scratch.tables("public") == []
    ok = migrate(tmp_path, scratch.url("postgres"), "public", DATABASE_SCHEMA_SHARED_OK="true")
    assert ok.returncode == 0, ok.stderr
    assert "sessions" in scratch.tables("public")


# ================================================================ roles


def test_schema_owner_without_create_on_the_database_starts(scratch, start_server):
    # The old code always ran CREATE SCHEMA IF NOT EXISTS, which needs CREATE
    # on the database: `cannot lock for migrations: permission denied for
    # database`.
    owner = scratch.role("own")
    scratch.sql(f"CREATE SCHEMA agentos AUTHORIZATION {owner}")
    s = start_as(start_server, scratch.url(owner), "agentos")
    serves_sessions(s)
    s.check_clean_exit()
    no_password(s.stderr_text(), s.stdout_text())


def test_missing_schema_names_create_on_the_database(scratch, tmp_path):
    app = scratch.role("app")
    err = refused(tmp_path, scratch.url(app), "agentos")
    assert (f"schema agentos does not exist and role {app} lacks CREATE on database "
            f"{scratch.name}") in err, err
    assert f"GRANT CREATE ON DATABASE {scratch.name} TO {app}" in err, err


def owned_and_migrated(scratch, tmp_path) -> tuple[str, str]:
    """A schema owned by a role of its own, migrated by it with
    `agentos migrate`, and a service role with the README's grants."""
    owner, app = scratch.role("own"), scratch.role("app")
    scratch.sql(f"CREATE SCHEMA agentos AUTHORIZATION {owner}")
    m = migrate(tmp_path, scratch.url(owner), "agentos")
    assert m.returncode == 0, m.stderr
    assert "migrations current" in m.stdout, m.stdout
    no_password(m.stderr, m.stdout)
    return owner, app


def test_usage_alone_names_the_table_privilege(scratch, tmp_path):
    owner, app = owned_and_migrated(scratch, tmp_path)
    err = refused(tmp_path, scratch.url(app), "agentos")
    assert f"role {app} lacks USAGE on schema agentos: GRANT USAGE ON SCHEMA agentos TO {app}" \
        in err, err
    scratch.sql(f"GRANT USAGE ON SCHEMA agentos TO {app}", url=scratch.url(owner))
    err = refused(tmp_path, scratch.url(app), "agentos")
    assert f"role {app} lacks SELECT on table agentos." in err, err
    assert f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA agentos TO {app}" \
        in err, err
    scratch.sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA agentos TO {app}", url=scratch.url(owner))
    err = refused(tmp_path, scratch.url(app), "agentos")
    assert f"role {app} lacks INSERT on table agentos." in err, err


def test_pending_migration_names_create_on_the_schema(scratch, tmp_path):
    owner, app = owned_and_migrated(scratch, tmp_path)
    grants = [g.format(schema="agentos", app=app) for g in SERVICE_GRANTS]
    scratch.sql(*grants, "DELETE FROM agentos.schema_migrations WHERE version = "
                "(SELECT max(version) FROM agentos.schema_migrations)", url=scratch.url(owner))
    err = refused(tmp_path, scratch.url(app), "agentos")
    assert f"1 migration pending, but role {app} lacks CREATE on schema agentos" in err, err
    assert "agentos migrate" in err, err


def test_least_privilege_role_starts_after_migrate(scratch, tmp_path, start_server):
    owner, app = owned_and_migrated(scratch, tmp_path)
    scratch.sql(*[g.format(schema="agentos", app=app) for g in SERVICE_GRANTS],
                url=scratch.url(owner))
    s = start_as(start_server, scratch.url(app, "schema=public&connection_limit=5"), "agentos")
    serves_sessions(s)
    s.check_clean_exit()
    no_password(s.stderr_text(), s.stdout_text())


@pytest.mark.skipif(os.environ.get("AGENTOS_E2E_PG_ROLE_URL") is not None,
                    reason="already in role mode")
def test_sessions_and_runs_tests_pass_as_the_least_privilege_role(scratch, tmp_path):
    # Every sessions and runs test, each service running as a role with only
    # USAGE on the schema and SELECT, INSERT, UPDATE, DELETE on its tables.
    owner, app = owned_and_migrated(scratch, tmp_path)
    scratch.sql(*[g.format(schema="agentos", app=app) for g in SERVICE_GRANTS],
                url=scratch.url(owner))
    env = merge_env(dict(os.environ), {
        "AGENTOS_BIN": agentos_bin(),
        "AGENTOS_E2E_PG_ROLE_URL": scratch.url(app, "schema=public"),
        "AGENTOS_E2E_PG_ROLE_SCHEMA": "agentos",
        "AGENTOS_E2E_PG_OWNER_URL": scratch.url(owner),
    })
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                        "tests/e2e/test_sessions.py", "tests/e2e/test_runs.py"],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=1500,
                       stdin=subprocess.DEVNULL)
    tail = "\n".join(p.stdout.splitlines()[-40:])
    assert p.returncode == 0, f"{tail}\n{p.stderr[-3000:]}"
    assert " passed" in tail and "failed" not in tail, tail
    # The runs tests' services wrote their runs here, as the role.
    with psycopg.connect(scratch.url(owner), autocommit=True, connect_timeout=5) as conn:
        runs = conn.execute("SELECT count(*) FROM agentos.runs").fetchone()[0]
        owners = conn.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'agentos' "
                              "GROUP BY 1").fetchall()
    assert runs > 0
    assert owners == [(owner,)], owners
