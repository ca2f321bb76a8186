/* Runs the back end's migrations that the database has not seen, each
 * recorded in schema_migrations. The back end's lock makes concurrent
 * replicas take turns: the second one finds the work done. */
#include <stdio.h>

#include "core/log.h"
#include "store/store_internal.h"

static int applied(const json_t *versions, int version)
{
    size_t i;
    json_t *row;
    json_array_foreach(versions, i, row)
    {
        if (json_integer_value(json_object_get(row, "version")) == version)
            return 1;
    }
    return 0;
}

static store_rc_t record(store_conn_t *c, int version)
{
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "INSERT INTO {S}schema_migrations (version, applied_at) VALUES (?, ?)");
    store_sql_int(&q, version);
    store_sql_int(&q, (long long)store_now_ms());
    return store_sql_exec(c, &q, NULL, NULL);
}

static store_rc_t apply(store_conn_t *c, const store_migration_t *m)
{
    int own_tx = c->store->be->migration_tx_each;
    store_rc_t rc = own_tx ? store_tx_begin(c) : STORE_OK;
    for (int i = 0; rc == STORE_OK && m->stmts[i] != NULL; i++)
        rc = store_sql_run(c, m->stmts[i]);
    if (rc == STORE_OK)
        rc = record(c, m->version);
    if (own_tx && rc == STORE_OK)
        rc = store_tx_commit(c);
    else if (own_tx)
        store_tx_rollback(c);
    if (rc == STORE_OK)
        log_msg(LOG_LEVEL_INFO, "store: applied migration %d", m->version);
    return rc;
}

/* The versions recorded; the table is made first when this role may. */
static store_rc_t read_versions(store_conn_t *c, int can_create, json_t **versions)
{
    store_rc_t rc = STORE_OK;
    if (can_create)
        rc = store_sql_run(c, "CREATE TABLE IF NOT EXISTS {S}schema_migrations"
                              " (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)");
    if (rc != STORE_OK)
        return rc;
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT version FROM {S}schema_migrations");
    return store_sql_exec(c, &q, versions, NULL);
}

static int pending(const store_conn_t *c, const json_t *versions)
{
    int n = 0;
    for (const store_migration_t *m = c->store->be->migrations; m->version; m++)
        n += !applied(versions, m->version);
    return n;
}

/* nocreate: "" when this role may create tables, else why it may not. */
static int apply_missing(store_conn_t *c, const char *nocreate, char *err, size_t errlen)
{
    const char *name = c->store->be->name;
    json_t *versions = NULL;
    if (read_versions(c, nocreate[0] == '\0', &versions) != STORE_OK) {
        /* A missing SELECT on schema_migrations says so rather than blame CREATE. */
        const store_backend_t *be = c->store->be;
        if (be->check_access == NULL || be->check_access(c, err, errlen) == 0)
            snprintf(err, errlen, "%s: migrations failed: %s%s%s", name, c->last_error,
                     nocreate[0] ? "; " : "", nocreate);
        return -1;
    }
    int n = pending(c, versions);
    if (n > 0 && nocreate[0]) {
        snprintf(err, errlen, "%s: %d migration%s pending, but %s", name, n, n > 1 ? "s" : "",
                 nocreate);
        json_decref(versions);
        return -1;
    }
    int rc = 0;
    for (const store_migration_t *m = c->store->be->migrations; rc == 0 && m->version; m++) {
        if (!applied(versions, m->version) && apply(c, m) != STORE_OK) {
            snprintf(err, errlen, "%s: migration %d failed: %s", name, m->version, c->last_error);
            rc = -1;
        }
    }
    json_decref(versions);
    return rc;
}

int store_migrate(store_conn_t *c, char *err, size_t errlen)
{
    const store_backend_t *be = c->store->be;
    if (be->migrate_lock(c) != STORE_OK) {
        snprintf(err, errlen, "%s: cannot lock for migrations: %s", be->name, c->last_error);
        return -1;
    }
    char nocreate[256] = "";
    int rc = 0;
    if (be->migrate_prepare != NULL)
        rc = be->migrate_prepare(c, nocreate, sizeof nocreate, err, errlen);
    if (rc == 0)
        rc = apply_missing(c, nocreate, err, errlen);
    store_rc_t unlock = be->migrate_unlock(c, rc == 0);
    if (rc == 0 && unlock != STORE_OK) {
        snprintf(err, errlen, "%s: migrations failed: %s", be->name, c->last_error);
        rc = -1;
    }
    if (rc == 0 && be->check_access != NULL)
        rc = be->check_access(c, err, errlen);
    return rc;
}
