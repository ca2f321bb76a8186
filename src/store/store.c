/* Opening and closing the store: choose the back end from the URL, let it
 * check its config, run the migrations once on a private connection. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/secret.h"
#include "store/store_internal.h"
#include "store/store_lane.h"
#include "store/store_sqlite_ckpt.h"

#define DEFAULT_CONNECT_TIMEOUT_S 5
#define DEFAULT_STATEMENT_TIMEOUT_MS 5000
/* Migrations may build indexes on big tables: they get at least this long. */
#define MIGRATION_TIMEOUT_MS 300000

static atomic_uint_fast64_t next_store_id = 1;

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static const store_backend_t *pick_backend(const char *url)
{
    if (url == NULL || url[0] == '\0')
        return &store_sqlite_backend;
    if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://"))
        return &store_pg_backend;
    return NULL;
}

static store_t *store_alloc(const store_backend_t *be, const store_config_t *cfg)
{
    store_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    if (uv_mutex_init(&s->mu) != 0) {
        free(s);
        return NULL;
    }
    if (store_lanes_init(s) != 0) {
        uv_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    if (uv_mutex_init(&s->write_mu) != 0) {
        store_lanes_free(s);
        uv_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    list_init(&s->conns);
    s->be = be;
    s->id = atomic_fetch_add(&next_store_id, 1);
    s->connect_timeout_s =
        cfg->connect_timeout_s > 0 ? cfg->connect_timeout_s : DEFAULT_CONNECT_TIMEOUT_S;
    s->statement_timeout_ms =
        cfg->statement_timeout_ms > 0 ? cfg->statement_timeout_ms : DEFAULT_STATEMENT_TIMEOUT_MS;
    return s;
}

static int migrate_once(store_t *s, char *err, size_t errlen)
{
    int timeout = s->statement_timeout_ms > MIGRATION_TIMEOUT_MS ? s->statement_timeout_ms
                                                                 : MIGRATION_TIMEOUT_MS;
    store_conn_t *c = store_conn_new_private(s, timeout, err, errlen);
    if (c == NULL)
        return -1;
    int rc = store_migrate(c, err, errlen);
    store_conn_free(c);
    return rc;
}

store_t *store_open(const store_config_t *cfg, char *err, size_t errlen)
{
    const store_backend_t *be = pick_backend(cfg->database_url);
    if (be == NULL) {
        snprintf(err, errlen, "DATABASE_URL must start with postgres:// or postgresql://");
        return NULL;
    }
    store_t *s = store_alloc(be, cfg);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (be->init(s, cfg, err, errlen) != 0 || migrate_once(s, err, errlen) != 0) {
        store_close(s);
        return NULL;
    }
    /* Never the URL: it may hold a password. */
    if (s->schema[0])
        log_msg(LOG_LEVEL_INFO, "store: %s ready (schema %s)", be->name, s->schema);
    else
        log_msg(LOG_LEVEL_INFO, "store: %s ready (%s)", be->name, s->path);
    return s;
}

void store_close(store_t *s)
{
    if (s == NULL)
        return;
    store_ckpt_stop(s->ckpt);
    store_conn_close_all(s);
    uv_mutex_destroy(&s->mu);
    store_lanes_free(s);
    uv_mutex_destroy(&s->write_mu);
    secret_free(s->url); /* it may hold a password */
    free(s->path);
    free(s);
}

const char *store_backend_name(const store_t *s)
{
    return s->be->name;
}
