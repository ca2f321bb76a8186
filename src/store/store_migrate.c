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

static store_rc_t apply_missing(store_conn_t *c, int *failed)
{
    store_rc_t rc = store_sql_run(c, "CREATE TABLE IF NOT EXISTS {S}schema_migrations"
                                     " (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)");
    json_t *versions = NULL;
    if (rc == STORE_OK) {
        store_sql_t q;
        store_sql_init(&q, c->store);
        store_sql_add(&q, "SELECT version FROM {S}schema_migrations");
        rc = store_sql_exec(c, &q, &versions, NULL);
    }
    for (const store_migration_t *m = c->store->be->migrations; rc == STORE_OK && m->version; m++) {
        if (!applied(versions, m->version) && (rc = apply(c, m)) != STORE_OK)
            *failed = m->version;
    }
    json_decref(versions);
    return rc;
}

int store_migrate(store_conn_t *c, char *err, size_t errlen)
{
    const store_backend_t *be = c->store->be;
    int failed = 0;
    store_rc_t rc = be->migrate_lock(c);
    if (rc != STORE_OK) {
        snprintf(err, errlen, "%s: cannot lock for migrations: %s", be->name, c->last_error);
        return -1;
    }
    rc = apply_missing(c, &failed);
    store_rc_t unlock = be->migrate_unlock(c, rc == STORE_OK);
    if (rc == STORE_OK && unlock != STORE_OK)
        rc = unlock;
    if (rc == STORE_OK)
        return 0;
    if (failed)
        snprintf(err, errlen, "%s: migration %d failed: %s", be->name, failed, c->last_error);
    else
        snprintf(err, errlen, "%s: migrations failed: %s", be->name, c->last_error);
    return -1;
}
