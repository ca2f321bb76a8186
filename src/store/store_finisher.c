/* The finisher's thread and its list of records. A record is in the list
 * from the moment the run ends until it lands, whoever is writing it, so
 * that shutdown can journal everything not known to have landed (a record
 * written twice is harmless: the finish write is idempotent). */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/list.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/store_finish.h"
#include "store/store_finisher.h"
#include "store/store_journal.h"

typedef enum { E_CALLER = 0, E_QUEUED, E_WRITING } entry_state_t;

typedef struct entry {
    uint64_t ticket;
    char *line;
    size_t len;
    entry_state_t state;
    list_t link; /* in the finisher's entries, oldest first */
} entry_t;

struct store_finisher {
    store_finisher_config_t cfg;
    char *journal_path;
    uv_thread_t thread;
    uv_mutex_t mu;
    uv_cond_t cond;
    list_t entries;
    size_t count, bytes;
    uint64_t next_ticket;
    uint64_t retry_at_us;
    unsigned backoff_ms;
    int draining, stopping, exited;
};

static void entry_free(entry_t *e)
{
    free(e->line);
    free(e);
}

/* Under mu. */
static void unlink_entry(store_finisher_t *f, entry_t *e)
{
    if (!list_is_linked(&e->link))
        return;
    list_remove(&e->link);
    f->count--;
    f->bytes -= e->len;
    uv_cond_broadcast(&f->cond);
}

static entry_t *find(store_finisher_t *f, uint64_t ticket)
{
    list_t *node;
    LIST_FOREACH(node, &f->entries) {
        entry_t *e = LIST_ENTRY(node, entry_t, link);
        if (e->ticket == ticket)
            return e;
    }
    return NULL;
}

/* The oldest record this thread should write (order is kept: a newer one
 * never overtakes one that failed). */
static entry_t *first_queued(store_finisher_t *f)
{
    list_t *node;
    LIST_FOREACH(node, &f->entries) {
        entry_t *e = LIST_ENTRY(node, entry_t, link);
        if (e->state == E_QUEUED)
            return e;
    }
    return NULL;
}

static store_rc_t write_line(store_t *s, const char *line, size_t len)
{
    json_error_t err;
    json_t *rec = json_loadb(line, len, 0, &err);
    store_conn_t *c = rec != NULL ? store_conn_get(s) : NULL;
    store_rc_t rc = rec == NULL ? STORE_ERROR
                    : c == NULL ? STORE_UNAVAILABLE
                                : store_finish_write(c, rec);
    if (rc != STORE_OK && rc != STORE_UNAVAILABLE)
        log_json(LOG_LEVEL_ERROR, "run row not saved",
                 json_pack("{s:s?, s:s?, s:i}", "run_id",
                           json_string_value(json_object_get(rec, "run_id")), "workspace_id",
                           json_string_value(json_object_get(rec, "workspace_id")), "store_rc",
                           (int)rc));
    json_decref(rec);
    return rc;
}

static void after_write(store_finisher_t *f, entry_t *e, store_rc_t rc)
{
    if (rc == STORE_UNAVAILABLE && !f->stopping) {
        e->state = E_QUEUED;
        unsigned cap = f->draining ? 250 : f->cfg.retry_max_ms;
        f->backoff_ms = f->backoff_ms == 0 ? f->cfg.retry_base_ms : f->backoff_ms * 2;
        if (f->backoff_ms > cap)
            f->backoff_ms = cap;
        f->retry_at_us = timeutil_mono_us() + (uint64_t)f->backoff_ms * 1000;
        return;
    }
    if (rc == STORE_OK && f->backoff_ms != 0)
        log_json(LOG_LEVEL_INFO, "pending run row saved",
                 json_pack("{s:I}", "pending", (json_int_t)f->count - 1));
    f->backoff_ms = 0;
    unlink_entry(f, e);
    entry_free(e);
}

static void thread_main(void *arg)
{
    store_finisher_t *f = arg;
    uv_mutex_lock(&f->mu);
    while (!f->stopping) {
        entry_t *e = first_queued(f);
        uint64_t now = timeutil_mono_us();
        if (e == NULL) {
            uv_cond_wait(&f->cond, &f->mu);
            continue;
        }
        if (now < f->retry_at_us) {
            uv_cond_timedwait(&f->cond, &f->mu, (f->retry_at_us - now) * 1000);
            continue;
        }
        e->state = E_WRITING;
        uv_mutex_unlock(&f->mu);
        store_rc_t rc = write_line(f->cfg.store, e->line, e->len);
        uv_mutex_lock(&f->mu);
        after_write(f, e, rc);
    }
    f->exited = 1;
    uv_cond_broadcast(&f->cond);
    uv_mutex_unlock(&f->mu);
}

store_finisher_t *store_finisher_start(const store_finisher_config_t *cfg)
{
    store_finisher_t *f = calloc(1, sizeof(*f));
    if (f == NULL || (f->journal_path = strdup(cfg->journal_path)) == NULL) {
        free(f);
        return NULL;
    }
    f->cfg = *cfg;
    f->cfg.journal_path = f->journal_path;
    f->next_ticket = 1;
    list_init(&f->entries);
    uv_mutex_init(&f->mu);
    uv_cond_init(&f->cond);
    if (uv_thread_create(&f->thread, thread_main, f) != 0) {
        uv_cond_destroy(&f->cond);
        uv_mutex_destroy(&f->mu);
        free(f->journal_path);
        free(f);
        return NULL;
    }
    return f;
}

uint64_t store_finisher_add(store_finisher_t *f, const char *line, int queued)
{
    entry_t *e = calloc(1, sizeof(*e));
    if (e == NULL || (e->line = strdup(line)) == NULL) {
        free(e);
        return 0;
    }
    e->len = strlen(line);
    e->state = queued ? E_QUEUED : E_CALLER;
    uv_mutex_lock(&f->mu);
    int ok = !f->stopping && f->bytes + e->len <= f->cfg.max_bytes;
    if (ok) {
        e->ticket = f->next_ticket++;
        list_insert_tail(&f->entries, &e->link);
        f->count++;
        f->bytes += e->len;
        uv_cond_broadcast(&f->cond);
    }
    uv_mutex_unlock(&f->mu);
    uint64_t ticket = ok ? e->ticket : 0;
    if (!ok)
        entry_free(e);
    return ticket;
}

void store_finisher_landed(store_finisher_t *f, uint64_t ticket)
{
    uv_mutex_lock(&f->mu);
    entry_t *e = find(f, ticket);
    if (e != NULL && e->state == E_CALLER) {
        unlink_entry(f, e);
        entry_free(e);
    }
    uv_mutex_unlock(&f->mu);
}

void store_finisher_retry(store_finisher_t *f, uint64_t ticket)
{
    uv_mutex_lock(&f->mu);
    entry_t *e = find(f, ticket);
    if (e != NULL && e->state == E_CALLER) {
        e->state = E_QUEUED;
        uv_cond_broadcast(&f->cond);
    }
    uv_mutex_unlock(&f->mu);
}

size_t store_finisher_pending(store_finisher_t *f)
{
    uv_mutex_lock(&f->mu);
    size_t n = f->count;
    uv_mutex_unlock(&f->mu);
    return n;
}

/* Under mu, once stopping: every record left goes to the journal, in
 * order; the thread's record in progress stays for the thread to free. */
static void journal_all(store_finisher_t *f, store_finisher_result_t *res)
{
    const char **lines = f->count > 0 ? calloc(f->count, sizeof(*lines)) : NULL;
    size_t n = 0;
    list_t *node, *tmp;
    if (lines != NULL) {
        LIST_FOREACH(node, &f->entries)
            lines[n++] = LIST_ENTRY(node, entry_t, link)->line;
    }
    char err[512] = "";
    res->journalled =
        n > 0 ? store_journal_append(f->journal_path, f->cfg.max_bytes, lines, n, err, sizeof(err))
              : 0;
    res->lost = f->count - res->journalled;
    if (res->lost > 0)
        log_json(LOG_LEVEL_ERROR, "run rows lost: the journal could not take them",
                 json_pack("{s:I, s:s, s:s}", "runs", (json_int_t)res->lost, "journal",
                           f->journal_path, "error", err[0] ? err : "out of memory"));
    else if (res->journalled > 0)
        log_json(LOG_LEVEL_WARN, "run rows journalled: the database could not take them",
                 json_pack("{s:I, s:s}", "runs", (json_int_t)res->journalled, "journal",
                           f->journal_path));
    free(lines);
    LIST_FOREACH_SAFE(node, tmp, &f->entries) {
        entry_t *e = LIST_ENTRY(node, entry_t, link);
        res->in_flight += e->state != E_QUEUED;
        if (e->state != E_WRITING) {
            unlink_entry(f, e);
            entry_free(e);
        }
    }
}

store_finisher_result_t store_finisher_stop(store_finisher_t *f, uint64_t deadline_us,
                                            unsigned join_ms)
{
    store_finisher_result_t res = {0};
    uv_mutex_lock(&f->mu);
    f->draining = 1;
    f->retry_at_us = 0;
    f->backoff_ms = 0;
    uv_cond_broadcast(&f->cond);
    uint64_t now;
    while (f->count > 0 && (now = timeutil_mono_us()) < deadline_us)
        uv_cond_timedwait(&f->cond, &f->mu, (deadline_us - now) * 1000);
    f->stopping = 1;
    journal_all(f, &res);
    uv_cond_broadcast(&f->cond);
    uint64_t join_by = timeutil_mono_us() + (uint64_t)join_ms * 1000;
    while (!f->exited && (now = timeutil_mono_us()) < join_by)
        uv_cond_timedwait(&f->cond, &f->mu, (join_by - now) * 1000);
    res.joined = f->exited;
    uv_mutex_unlock(&f->mu);
    if (res.joined)
        uv_thread_join(&f->thread);
    return res;
}

void store_finisher_free(store_finisher_t *f)
{
    if (f == NULL)
        return;
    list_t *node, *tmp;
    LIST_FOREACH_SAFE(node, tmp, &f->entries) {
        list_remove(node);
        entry_free(LIST_ENTRY(node, entry_t, link));
    }
    uv_cond_destroy(&f->cond);
    uv_mutex_destroy(&f->mu);
    free(f->journal_path);
    free(f);
}
