/* The SQL builder: one template language for both back ends. "{S}" becomes
 * the table prefix (the quoted PostgreSQL schema, or nothing on SQLite) and
 * each "?" the next numbered placeholder ($1 or ?1). Values only ever travel
 * as bound parameters; the text holds nothing but templates and the
 * validated schema name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "store/store_internal.h"

/* Times come from the process, not the database, so both back ends store
 * the same thing (epoch milliseconds) with no SQL dialect for "now". */
uint64_t store_now_ms(void)
{
    return timeutil_wall_us() / 1000u;
}

void store_sql_init(store_sql_t *q, const store_t *s)
{
    memset(q, 0, sizeof *q);
    q->s = s;
}

static void put(store_sql_t *q, const char *p, size_t n)
{
    if (q->len + n >= sizeof q->text) {
        q->bad = 1;
        return;
    }
    memcpy(q->text + q->len, p, n);
    q->len += n;
    q->text[q->len] = '\0';
}

static void put_mark(store_sql_t *q)
{
    char mark[16];
    int n = snprintf(mark, sizeof mark, "%c%d", q->s->be->placeholder, ++q->nmarks);
    put(q, mark, (size_t)n);
}

void store_sql_add(store_sql_t *q, const char *tmpl)
{
    for (const char *p = tmpl; *p != '\0'; p++) {
        if (*p == '?') {
            put_mark(q);
        } else if (strncmp(p, "{S}", 3) == 0) {
            put(q, q->s->prefix, strlen(q->s->prefix));
            p += 2;
        } else {
            put(q, p, 1);
        }
    }
}

static store_param_t *next_param(store_sql_t *q)
{
    if (q->n >= STORE_SQL_PARAMS) {
        q->bad = 1;
        return NULL;
    }
    return &q->params[q->n++];
}

void store_sql_text(store_sql_t *q, const char *v)
{
    store_param_t *p = next_param(q);
    if (p == NULL)
        return;
    p->type = v != NULL ? STORE_P_TEXT : STORE_P_NULL;
    p->text = v;
}

void store_sql_int(store_sql_t *q, long long v)
{
    store_param_t *p = next_param(q);
    if (p == NULL)
        return;
    p->type = STORE_P_INT;
    p->num = v;
}

/* Binds v and frees it with q. v NULL is out of memory, not SQL NULL. */
static void text_owned(store_sql_t *q, char *v)
{
    if (v == NULL || q->nowned >= STORE_SQL_PARAMS) {
        free(v);
        q->bad = 1;
        return;
    }
    q->owned[q->nowned++] = v;
    store_sql_text(q, v);
}

void store_sql_json(store_sql_t *q, const json_t *v)
{
    if (v == NULL || json_is_null(v)) {
        store_sql_text(q, NULL);
        return;
    }
    text_owned(q, json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY));
}

/* %substring% with the pattern characters escaped by '!' (the statement
 * says ESCAPE '!'), so a user's "50%" matches only "50%". Not backslash: its
 * meaning in a string literal depends on standard_conforming_strings. */
void store_sql_like(store_sql_t *q, const char *substring)
{
    size_t n = strlen(substring);
    char *pat = malloc(2 * n + 3);
    if (pat != NULL) {
        char *o = pat;
        *o++ = '%';
        for (const char *p = substring; *p != '\0'; p++) {
            if (*p == '%' || *p == '_' || *p == '!')
                *o++ = '!';
            *o++ = *p;
        }
        *o++ = '%';
        *o = '\0';
    }
    text_owned(q, pat);
}

void store_sql_free(store_sql_t *q)
{
    for (int i = 0; i < q->nowned; i++)
        free(q->owned[i]);
    q->nowned = 0;
}

store_rc_t store_sql_exec(store_conn_t *c, store_sql_t *q, json_t **rows, long long *changes)
{
    store_rc_t rc = STORE_ERROR;
    json_t *out = NULL;
    if (rows != NULL)
        *rows = NULL;
    if (c == NULL || c->db == NULL || c->broken) {
        rc = STORE_UNAVAILABLE;
    } else if (!q->bad && q->nmarks == q->n && (rows == NULL || (out = json_array()) != NULL)) {
        rc = c->store->be->exec(c, q->text, q->params, q->n, out, changes);
    }
    store_sql_free(q);
    if (rc != STORE_OK || rows == NULL)
        json_decref(out);
    else
        *rows = out;
    return rc;
}

store_rc_t store_sql_write(store_conn_t *c, store_sql_t *q, json_t **rows, long long *changes)
{
    if (c == NULL || !c->store->be->write_tx || c->in_tx)
        return store_sql_exec(c, q, rows, changes);
    store_rc_t rc = store_tx_begin(c);
    if (rc != STORE_OK) {
        store_sql_free(q);
        return rc;
    }
    rc = store_sql_exec(c, q, rows, changes);
    if (rc == STORE_OK)
        rc = store_tx_commit(c);
    else
        store_tx_rollback(c);
    if (rc != STORE_OK && rows != NULL) {
        json_decref(*rows);
        *rows = NULL;
    }
    return rc;
}

store_rc_t store_sql_run(store_conn_t *c, const char *tmpl)
{
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, tmpl);
    return store_sql_exec(c, &q, NULL, NULL);
}

store_rc_t store_tx_begin(store_conn_t *c)
{
    if (c == NULL || c->db == NULL || c->broken)
        return STORE_UNAVAILABLE;
    if (c->in_tx)
        return STORE_ERROR; /* no nesting: a bug in the caller */
    store_rc_t rc = c->store->be->begin(c);
    c->in_tx = rc == STORE_OK;
    return rc;
}

store_rc_t store_tx_commit(store_conn_t *c)
{
    store_rc_t rc = c->store->be->commit(c);
    if (rc == STORE_OK)
        atomic_fetch_add(&c->store->commits, 1);
    /* A failed COMMIT may leave the transaction open (SQLite, busy). */
    if (rc != STORE_OK)
        c->store->be->rollback(c);
    c->in_tx = 0;
    return rc;
}

void store_tx_rollback(store_conn_t *c)
{
    if (c == NULL || !c->in_tx)
        return;
    c->store->be->rollback(c);
    c->in_tx = 0;
}

/* A failed statement leaves a PostgreSQL transaction unusable until it is
 * rolled back to a savepoint, so each nested unit gets one. */
static store_rc_t in_savepoint(store_conn_t *c, store_work_fn work, void *data)
{
    store_rc_t rc = store_sql_run(c, "SAVEPOINT store_unit");
    if (rc != STORE_OK)
        return rc;
    rc = work(c, data);
    if (rc != STORE_OK && store_sql_run(c, "ROLLBACK TO SAVEPOINT store_unit") != STORE_OK)
        return STORE_UNAVAILABLE; /* the transaction is lost: the batch fails */
    store_rc_t released = store_sql_run(c, "RELEASE SAVEPOINT store_unit");
    return rc != STORE_OK ? rc : released;
}

store_rc_t store_in_tx(store_conn_t *c, store_work_fn work, void *data)
{
    if (c == NULL || c->db == NULL || c->broken)
        return STORE_UNAVAILABLE;
    if (c->in_tx)
        return in_savepoint(c, work, data);
    store_rc_t rc = store_tx_begin(c);
    if (rc != STORE_OK)
        return rc;
    rc = work(c, data);
    if (rc == STORE_OK)
        return store_tx_commit(c);
    store_tx_rollback(c);
    return rc;
}
