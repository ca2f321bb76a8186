/* What a PostgreSQL role may do, asked before it is tried: a team's
 * least-privilege role must be able to start the service, and a missing
 * privilege must say which one, not "permission denied for database".
 *
 * The schema is created only when missing (CREATE SCHEMA needs CREATE on
 * the database, which such a role lacks even when it owns the schema);
 * tables are created only when a migration is pending (CREATE on the
 * schema); the service's work needs USAGE on the schema and SELECT, INSERT,
 * UPDATE and DELETE on its tables. The advisory lock needs nothing. */
#include <stdio.h>
#include <string.h>

#include "store/store_internal.h"

static const char *row_str(const json_t *row, const char *key)
{
    const char *v = json_string_value(json_object_get(row, key));
    return v != NULL ? v : "?";
}

static store_rc_t one_row(store_conn_t *c, store_sql_t *q, json_t **row)
{
    json_t *rows = NULL;
    store_rc_t rc = store_sql_exec(c, q, &rows, NULL);
    return store_one_row(rc, rows, STORE_NOT_FOUND, row);
}

static int create_schema(store_conn_t *c, const json_t *who, char *err, size_t errlen)
{
    const char *role = row_str(who, "role"), *db = row_str(who, "db");
    const char *schema = c->store->schema;
    if (!json_integer_value(json_object_get(who, "db_create"))) {
        snprintf(err, errlen,
                 "postgres: schema %s does not exist and role %s lacks CREATE on database %s: "
                 "CREATE SCHEMA %s AUTHORIZATION %s (as the database owner), or "
                 "GRANT CREATE ON DATABASE %s TO %s",
                 schema, role, db, schema, role, db, role);
        return -1;
    }
    char sql[STORE_SCHEMA_MAX + 64];
    snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS \"%s\"", schema);
    if (store_sql_run(c, sql) != STORE_OK) {
        snprintf(err, errlen, "postgres: cannot create schema %s: %s", schema, c->last_error);
        return -1;
    }
    return 0;
}

/* Fills nocreate with the line to give when a migration is pending and
 * this role may not create tables ("" when it may). */
static int schema_rights(store_conn_t *c, const json_t *who, char *nocreate, size_t nlen, char *err,
                         size_t errlen)
{
    const char *role = row_str(who, "role"), *schema = c->store->schema;
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT has_schema_privilege(?, 'USAGE')::int AS can_use,"
                      " has_schema_privilege(?, 'CREATE')::int AS can_create");
    store_sql_text(&q, schema);
    store_sql_text(&q, schema);
    json_t *row = NULL;
    if (one_row(c, &q, &row) != STORE_OK) {
        snprintf(err, errlen, "postgres: cannot read the privileges on schema %s: %s", schema,
                 c->last_error);
        return -1;
    }
    int use = json_integer_value(json_object_get(row, "can_use")) != 0;
    int create = json_integer_value(json_object_get(row, "can_create")) != 0;
    json_decref(row);
    if (!use) {
        snprintf(err, errlen,
                 "postgres: role %s lacks USAGE on schema %s: GRANT USAGE ON SCHEMA %s TO %s", role,
                 schema, schema, role);
        return -1;
    }
    nocreate[0] = '\0';
    if (!create)
        snprintf(nocreate, nlen,
                 "role %s lacks CREATE on schema %s: run `agentos migrate` once as the schema's "
                 "owner, or GRANT CREATE ON SCHEMA %s TO %s",
                 role, schema, schema, role);
    return 0;
}

int store_pg_migrate_prepare(store_conn_t *c, char *nocreate, size_t nlen, char *err, size_t errlen)
{
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT current_user::text AS role, current_database()::text AS db,"
                      " EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ?)::int AS present,"
                      " has_database_privilege(current_database(), 'CREATE')::int AS db_create");
    store_sql_text(&q, c->store->schema);
    json_t *who = NULL;
    if (one_row(c, &q, &who) != STORE_OK) {
        snprintf(err, errlen, "postgres: cannot read the role's privileges: %s", c->last_error);
        return -1;
    }
    int rc = 0;
    if (!json_integer_value(json_object_get(who, "present")))
        rc = create_schema(c, who, err, errlen);
    if (rc == 0)
        rc = schema_rights(c, who, nocreate, nlen, err, errlen);
    json_decref(who);
    return rc;
}

/* The first of the service's tables and privileges this role lacks: all
 * four on the data, SELECT on schema_migrations (only migrate writes it). */
int store_pg_check_access(store_conn_t *c, char *err, size_t errlen)
{
    const char *schema = c->store->schema;
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT current_user::text AS role, t.relname::text AS tbl, p.priv AS priv"
                      " FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace"
                      " CROSS JOIN (VALUES (1, 'SELECT'), (2, 'INSERT'), (3, 'UPDATE'),"
                      " (4, 'DELETE')) AS p (n, priv)"
                      " WHERE n.nspname = ? AND t.relkind = 'r' AND t.relname IN"
                      " ('sessions', 'runs', 'usage_daily', 'usage_users', 'run_owners',"
                      " 'os_meta', 'schema_migrations')"
                      " AND (t.relname <> 'schema_migrations' OR p.priv = 'SELECT')"
                      " AND NOT has_table_privilege(t.oid, p.priv)"
                      " ORDER BY t.relname, p.n LIMIT 1");
    store_sql_text(&q, schema);
    json_t *row = NULL;
    store_rc_t rc = one_row(c, &q, &row);
    if (rc == STORE_NOT_FOUND)
        return 0;
    if (rc != STORE_OK) {
        snprintf(err, errlen, "postgres: cannot read the privileges on the tables: %s",
                 c->last_error);
        return -1;
    }
    const char *role = row_str(row, "role");
    snprintf(err, errlen,
             "postgres: role %s lacks %s on table %s.%s: GRANT SELECT, INSERT, UPDATE, DELETE "
             "ON ALL TABLES IN SCHEMA %s TO %s",
             role, row_str(row, "priv"), schema, row_str(row, "tbl"), schema, role);
    json_decref(row);
    return -1;
}
