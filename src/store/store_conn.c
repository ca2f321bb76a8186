/* Per-thread connections. Each pool thread gets its own connection to each
 * store, opened on first use; a connection that failed at the connection
 * level is dropped and reopened on the next call, so the service recovers
 * by itself when the database comes back. While the database is down, a
 * thread tries to reconnect at most every RETRY_US, so a burst of requests
 * fails fast instead of each paying a connect timeout. */
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "store/store_internal.h"

#define RETRY_US 200000

/* The last connection this thread used, for one store. The id (never
 * reused) is compared before the pointer is touched, so a closed store's
 * stale entry is harmless. */
static _Thread_local struct {
    uint64_t store_id;
    store_conn_t *conn;
} tl_cache;

static store_conn_t *conn_alloc(store_t *s)
{
    store_conn_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->store = s;
    c->owner = uv_thread_self();
    return c;
}

static int conn_connect(store_conn_t *c, int statement_timeout_ms, char *err, size_t errlen)
{
    c->db = c->store->be->connect(c->store, statement_timeout_ms, err, errlen);
    c->broken = 0;
    c->in_tx = 0;
    return c->db != NULL ? 0 : -1;
}

static void conn_disconnect(store_conn_t *c)
{
    if (c->db != NULL)
        c->store->be->disconnect(c->db);
    c->db = NULL;
}

store_conn_t *store_conn_new_private(store_t *s, int statement_timeout_ms, char *err, size_t errlen)
{
    store_conn_t *c = conn_alloc(s);
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (conn_connect(c, statement_timeout_ms, err, errlen) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void store_conn_free(store_conn_t *c)
{
    if (c == NULL)
        return;
    conn_disconnect(c);
    free(c);
}

void store_conn_close_all(store_t *s)
{
    list_t taken;
    list_init(&taken);
    uv_mutex_lock(&s->mu);
    list_move(&s->conns, &taken);
    uv_mutex_unlock(&s->mu);
    list_t *node, *tmp;
    LIST_FOREACH_SAFE(node, tmp, &taken) {
        list_remove(node);
        store_conn_free(LIST_ENTRY(node, store_conn_t, link));
    }
}

void store_conn_mark_broken(store_conn_t *c)
{
    c->broken = 1;
}

/* This thread's connection object for s, registered so store_close can
 * close it; created (not yet connected) on first use. */
static store_conn_t *conn_for_thread(store_t *s)
{
    if (tl_cache.store_id == s->id)
        return tl_cache.conn;
    uv_thread_t self = uv_thread_self();
    store_conn_t *c = NULL;
    uv_mutex_lock(&s->mu);
    list_t *node;
    LIST_FOREACH(node, &s->conns) {
        store_conn_t *x = LIST_ENTRY(node, store_conn_t, link);
        if (uv_thread_equal(&x->owner, &self)) {
            c = x;
            break;
        }
    }
    if (c == NULL && (c = conn_alloc(s)) != NULL)
        list_insert_head(&s->conns, &c->link);
    uv_mutex_unlock(&s->mu);
    if (c != NULL) {
        tl_cache.store_id = s->id;
        tl_cache.conn = c;
    }
    return c;
}

static int conn_reconnect(store_conn_t *c)
{
    uint64_t now = timeutil_mono_us();
    /* Once one thread gets through, the others try at once rather than
     * answer "unavailable" for the rest of their back-off. */
    if (c->retry_at_us != 0 && now < c->retry_at_us && c->store->up_at_us <= c->failed_at_us)
        return -1;
    char err[256];
    if (conn_connect(c, c->store->statement_timeout_ms, err, sizeof err) != 0) {
        /* From now, not from the start: a connect that timed out must not
         * be retried at once. */
        c->failed_at_us = timeutil_mono_us();
        c->retry_at_us = c->failed_at_us + RETRY_US;
        if (!c->down)
            log_msg(LOG_LEVEL_WARN, "store: %s unavailable: %s", c->store->be->name, err);
        c->down = 1;
        return -1;
    }
    if (c->down)
        log_msg(LOG_LEVEL_INFO, "store: %s reconnected", c->store->be->name);
    c->down = 0;
    c->retry_at_us = 0;
    c->store->up_at_us = timeutil_mono_us();
    return 0;
}

store_conn_t *store_conn_get(store_t *s)
{
    store_conn_t *c = conn_for_thread(s);
    if (c == NULL)
        return NULL;
    if (c->db != NULL && !c->broken && !s->be->alive(c)) {
        log_msg(LOG_LEVEL_INFO, "store: %s closed a connection; reconnecting", s->be->name);
        c->broken = 1;
    }
    if (c->db != NULL && c->broken)
        conn_disconnect(c);
    if (c->db == NULL && conn_reconnect(c) != 0)
        return NULL;
    return c;
}

store_rc_t store_check(const store_conn_t *c, const char *ws)
{
    if (c == NULL || c->db == NULL)
        return STORE_UNAVAILABLE;
    return ws != NULL && ws[0] != '\0' ? STORE_OK : STORE_ERROR;
}

store_rc_t store_ping(store_conn_t *c)
{
    if (c == NULL || c->db == NULL)
        return STORE_UNAVAILABLE;
    return store_sql_run(c, "SELECT 1");
}
