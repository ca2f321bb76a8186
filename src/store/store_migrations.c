/* The schema, as versioned migrations, one list per back end. A released
 * migration never changes: a change to the schema is a new version.
 *
 * Both: times are epoch milliseconds (BIGINT), and every primary key and
 * index leads with workspace_id, except v4's: those serve the operator's
 * reads across all workspaces (store_*_all_workspaces), which filter on
 * no workspace and must stay index scans. PostgreSQL keeps JSON as jsonb, SQLite as
 * TEXT holding JSON. Usage keys use '' rather than NULL for "none" because
 * primary key columns cannot be NULL. */
#include "store/store_internal.h"

/* ---- PostgreSQL ---- */

static const char *const pg_v1[] = {
    "CREATE TABLE {S}sessions ("
    " workspace_id TEXT NOT NULL,"
    " session_id TEXT NOT NULL,"
    " session_type TEXT NOT NULL DEFAULT 'agent',"
    " agent_id TEXT,"
    " user_id TEXT,"
    " session_name TEXT,"
    " session_state JSONB,"
    " metadata JSONB,"
    " total_tokens BIGINT NOT NULL DEFAULT 0,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL,"
    " PRIMARY KEY (workspace_id, session_id))",
    "CREATE INDEX sessions_ws_created ON {S}sessions (workspace_id, created_at)",
    "CREATE INDEX sessions_ws_updated ON {S}sessions (workspace_id, updated_at)",
    "CREATE TABLE {S}runs ("
    " workspace_id TEXT NOT NULL,"
    " run_id TEXT NOT NULL,"
    " session_id TEXT NOT NULL,"
    " agent_id TEXT,"
    " user_id TEXT,"
    " status TEXT NOT NULL,"
    " input JSONB,"
    " content TEXT,"
    " messages JSONB,"
    " tools JSONB,"
    " metrics JSONB,"
    " model TEXT,"
    " model_provider TEXT,"
    " owner TEXT,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL,"
    " PRIMARY KEY (workspace_id, run_id),"
    " FOREIGN KEY (workspace_id, session_id) REFERENCES {S}sessions (workspace_id, session_id)"
    " ON DELETE CASCADE)",
    "CREATE INDEX runs_ws_session_created ON {S}runs (workspace_id, session_id, created_at)",
    "CREATE INDEX runs_ws_agent_created ON {S}runs (workspace_id, agent_id, created_at)",
    "CREATE TABLE {S}usage_daily ("
    " workspace_id TEXT NOT NULL,"
    " day TEXT NOT NULL,"
    " agent_id TEXT NOT NULL DEFAULT '',"
    " model TEXT NOT NULL DEFAULT '',"
    " model_provider TEXT NOT NULL DEFAULT '',"
    " runs BIGINT NOT NULL DEFAULT 0,"
    " input_tokens BIGINT NOT NULL DEFAULT 0,"
    " output_tokens BIGINT NOT NULL DEFAULT 0,"
    " updated_at BIGINT NOT NULL,"
    " PRIMARY KEY (workspace_id, day, agent_id, model, model_provider))",
    /* Distinct users per day cannot be summed from daily counters. */
    "CREATE TABLE {S}usage_users ("
    " workspace_id TEXT NOT NULL,"
    " day TEXT NOT NULL,"
    " user_id TEXT NOT NULL,"
    " PRIMARY KEY (workspace_id, day, user_id))",
    NULL,
};

/* Which process runs what: each process beats here, so a run whose owner
 * stopped beating can be told from one still running on another replica. */
static const char *const pg_v2[] = {
    "CREATE TABLE {S}run_owners (owner TEXT PRIMARY KEY, heartbeat_at BIGINT NOT NULL)",
    "CREATE INDEX runs_status ON {S}runs (status, owner)",
    NULL,
};

/* The service's own settings (os_meta): the os_id made at first start, so
 * every replica on one database names the same AgentOS. Not workspace data. */
static const char *const pg_v3[] = {
    "CREATE TABLE {S}os_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    NULL,
};

/* Operator reads across workspaces: the session list in either time order
 * walks an index that matches its whole ORDER BY (so a page is read, never
 * sorted), and a session or run found by id alone is an index lookup. */
static const char *const pg_v4[] = {
    "CREATE INDEX sessions_all_created ON {S}sessions (created_at, session_id, workspace_id)",
    "CREATE INDEX sessions_all_updated ON {S}sessions (updated_at, session_id, workspace_id)",
    "CREATE INDEX sessions_id ON {S}sessions (session_id)",
    "CREATE INDEX runs_id ON {S}runs (run_id)",
    "CREATE INDEX runs_agent_created ON {S}runs (agent_id, created_at, run_id)",
    NULL,
};

/* A session's tokens split as Agno's session metrics show them. Sessions
 * made before v5 keep their total only (their split starts at 0). A run's
 * metadata, as its caller gave it (NULL for runs before v5). */
static const char *const pg_v5[] = {
    "ALTER TABLE {S}sessions ADD COLUMN input_tokens BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE {S}sessions ADD COLUMN output_tokens BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE {S}runs ADD COLUMN metadata JSONB",
    NULL,
};

const store_migration_t store_pg_migrations[] = {
    {1, pg_v1}, {2, pg_v2}, {3, pg_v3}, {4, pg_v4}, {5, pg_v5}, {0, NULL},
};

/* ---- SQLite ---- */

static const char *const sqlite_v1[] = {
    "CREATE TABLE sessions ("
    " workspace_id TEXT NOT NULL,"
    " session_id TEXT NOT NULL,"
    " session_type TEXT NOT NULL DEFAULT 'agent',"
    " agent_id TEXT,"
    " user_id TEXT,"
    " session_name TEXT,"
    " session_state TEXT,"
    " metadata TEXT,"
    " total_tokens INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " PRIMARY KEY (workspace_id, session_id)) WITHOUT ROWID",
    "CREATE INDEX sessions_ws_created ON sessions (workspace_id, created_at)",
    "CREATE INDEX sessions_ws_updated ON sessions (workspace_id, updated_at)",
    "CREATE TABLE runs ("
    " workspace_id TEXT NOT NULL,"
    " run_id TEXT NOT NULL,"
    " session_id TEXT NOT NULL,"
    " agent_id TEXT,"
    " user_id TEXT,"
    " status TEXT NOT NULL,"
    " input TEXT,"
    " content TEXT,"
    " messages TEXT,"
    " tools TEXT,"
    " metrics TEXT,"
    " model TEXT,"
    " model_provider TEXT,"
    " owner TEXT,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " PRIMARY KEY (workspace_id, run_id),"
    " FOREIGN KEY (workspace_id, session_id) REFERENCES sessions (workspace_id, session_id)"
    " ON DELETE CASCADE)",
    "CREATE INDEX runs_ws_session_created ON runs (workspace_id, session_id, created_at)",
    "CREATE INDEX runs_ws_agent_created ON runs (workspace_id, agent_id, created_at)",
    "CREATE TABLE usage_daily ("
    " workspace_id TEXT NOT NULL,"
    " day TEXT NOT NULL,"
    " agent_id TEXT NOT NULL DEFAULT '',"
    " model TEXT NOT NULL DEFAULT '',"
    " model_provider TEXT NOT NULL DEFAULT '',"
    " runs INTEGER NOT NULL DEFAULT 0,"
    " input_tokens INTEGER NOT NULL DEFAULT 0,"
    " output_tokens INTEGER NOT NULL DEFAULT 0,"
    " updated_at INTEGER NOT NULL,"
    " PRIMARY KEY (workspace_id, day, agent_id, model, model_provider)) WITHOUT ROWID",
    "CREATE TABLE usage_users ("
    " workspace_id TEXT NOT NULL,"
    " day TEXT NOT NULL,"
    " user_id TEXT NOT NULL,"
    " PRIMARY KEY (workspace_id, day, user_id)) WITHOUT ROWID",
    NULL,
};

static const char *const sqlite_v2[] = {
    "CREATE TABLE run_owners (owner TEXT PRIMARY KEY, heartbeat_at INTEGER NOT NULL)",
    "CREATE INDEX runs_status ON runs (status, owner)",
    NULL,
};

static const char *const sqlite_v3[] = {
    "CREATE TABLE os_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    NULL,
};

/* v4: the operator-read indexes (see pg_v4). */
static const char *const sqlite_v4[] = {
    "CREATE INDEX sessions_all_created ON sessions (created_at, session_id, workspace_id)",
    "CREATE INDEX sessions_all_updated ON sessions (updated_at, session_id, workspace_id)",
    "CREATE INDEX sessions_id ON sessions (session_id)",
    "CREATE INDEX runs_id ON runs (run_id)",
    "CREATE INDEX runs_agent_created ON runs (agent_id, created_at, run_id)",
    NULL,
};

static const char *const sqlite_v5[] = {
    "ALTER TABLE sessions ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE sessions ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE runs ADD COLUMN metadata TEXT",
    NULL,
};

const store_migration_t store_sqlite_migrations[] = {
    {1, sqlite_v1}, {2, sqlite_v2}, {3, sqlite_v3}, {4, sqlite_v4}, {5, sqlite_v5}, {0, NULL},
};
