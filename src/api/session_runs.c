/* A session's runs: GET /sessions/{id}/runs (a page of full runs),
 * /sessions/{id}/runs/{run_id} (one, as Agno's RunSchema) and
 * /sessions/{id}/run-previews (Agno's SessionRunPreviewSchema: no messages,
 * tools or metrics are read); the lists take Agno's filters. The session is found first, so another
 * workspace's session or run is a 404, and an operator reading across
 * workspaces reads the session's own workspace only. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/body.h"
#include "api/handlers.h"
#include "api/sessions_internal.h"
#include "api/views.h"
#include "core/run_status.h"
#include "http/reply.h"

#define MAX_RUNS_PAGE 100
#define DEFAULT_PREVIEWS 100 /* Agno lists every run; we page, generously */
#define MAX_PREVIEWS 1000

/* ---- Agno's filters: created_after, created_before, status ---- */

#define EPOCH_S_MAX 100000000000LL /* past year 5000: no overflow in ms */

/* An optional epoch-seconds query value; -1 after a 422. */
static int query_epoch_s(http_request_t *r, const char *key, int *has, long long *out)
{
    const char *v = http_request_query(r, key);
    *has = 0;
    if (v == NULL || *v == '\0')
        return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end != '\0' || n < -EPOCH_S_MAX || n > EPOCH_S_MAX) {
        api_reply_422(r, "query", key, "int_parsing", "must be a Unix time in seconds",
                      json_string(v));
        return -1;
    }
    *has = 1;
    *out = n;
    return 0;
}

/* Adds the status a value names, case-insensitively and once; one naming
 * none matches no run, as in Agno, so it adds "" (no run has that status).
 * Agno's REGENERATED is such a value here: no run of ours can have it. */
static void add_status(store_run_query_t *q, const char *v, size_t len)
{
    const char *s = "";
    for (int i = 0; i < RUN_STATUS_COUNT; i++) {
        const char *name = run_status_name((run_status_t)i);
        if (strlen(name) == len && strncasecmp(name, v, len) == 0)
            s = name;
    }
    for (int i = 0; i < q->nstatuses; i++) {
        if (q->statuses[i] == s)
            return;
    }
    if (q->nstatuses < STORE_RUN_STATUSES_MAX) /* 6 statuses and "": always room */
        q->statuses[q->nstatuses++] = s;
}

/* Every status=... of the query (Agno repeats the key to match any of
 * several). */
static void query_statuses(http_request_t *r, store_run_query_t *q)
{
    http_str_t qs = http_request_query_string(r);
    if (qs.base == NULL)
        return;
    const char *p = qs.base, *end = qs.base + qs.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pend = amp ? amp : end;
        if (pend - p > 7 && memcmp(p, "status=", 7) == 0 && pend - p - 7 <= 64) {
            char v[65];
            size_t n = http_url_decode(v, p + 7, (size_t)(pend - p - 7));
            if (n > 0)
                add_status(q, v, n);
        }
        p = pend + 1;
    }
}

static int parse_filters(http_request_t *r, store_run_query_t *q)
{
    long long after = 0, before = 0;
    if (query_epoch_s(r, "created_after", &q->has_created_from, &after) ||
        query_epoch_s(r, "created_before", &q->has_created_to, &before))
        return -1;
    q->created_from_ms = after * 1000;
    q->created_to_ms = before * 1000 + 999; /* Agno compares whole seconds */
    query_statuses(r, q);
    return 0;
}

/* On the pool: one page of the session's runs (404 without the session). */
static store_rc_t runs_work(store_conn_t *c, void *data)
{
    api_job_t *job = data;
    store_rc_t rc = sessions_load(c, job);
    if (rc != STORE_OK || job->body != NULL)
        return rc;
    rc = store_run_page(c, job->ws, &job->runs, &job->out2, NULL);
    return rc == STORE_OK ? api_job_render(job, 200, view_runs(job->out2)) : rc;
}

/* On the pool: the previews of one page of the session's runs. */
static store_rc_t previews_work(store_conn_t *c, void *data)
{
    api_job_t *job = data;
    store_rc_t rc = sessions_load(c, job);
    if (rc != STORE_OK || job->body != NULL)
        return rc;
    rc = store_run_previews(c, job->ws, &job->runs, &job->out2, NULL);
    return rc == STORE_OK ? api_job_render(job, 200, view_run_previews(job->out2)) : rc;
}

static void submit_page(http_request_t *r, store_work_fn work, int def, int max)
{
    api_job_t *job = sessions_path_job(r, work, NULL);
    if (job == NULL)
        return;
    job->runs.session_id = job->id;
    if (api_query_int(r, "limit", def, 1, max, &job->runs.limit) ||
        api_query_int(r, "page", 1, 1, 1000000, &job->runs.page) ||
        parse_filters(r, &job->runs) != 0) {
        api_job_free(job);
        return;
    }
    api_job_submit(r, job);
}

void sessions_runs(http_request_t *r)
{
    submit_page(r, runs_work, 20, MAX_RUNS_PAGE);
}

void sessions_run_previews(http_request_t *r)
{
    submit_page(r, previews_work, DEFAULT_PREVIEWS, MAX_PREVIEWS);
}

static store_rc_t run_not_found(api_job_t *job)
{
    return api_job_render(
        job, 404,
        json_pack("{s:s, s:s}", "detail", "Run not found in this session", "code", "NOT_FOUND"));
}

/* On the pool: the session, then its run job->id2 (a run of another
 * session, even of the same workspace, is not found). */
static store_rc_t run_work(store_conn_t *c, void *data)
{
    api_job_t *job = data;
    store_rc_t rc = sessions_load(c, job);
    if (rc != STORE_OK || job->body != NULL)
        return rc;
    rc = store_run_get(c, job->ws, job->id2, &job->out2);
    if (rc == STORE_NOT_FOUND)
        return run_not_found(job);
    if (rc != STORE_OK)
        return rc;
    const char *sid = json_string_value(json_object_get(job->out2, "session_id"));
    if (sid == NULL || strcmp(sid, job->id) != 0)
        return run_not_found(job);
    return api_job_render(job, 200, view_run(job->out2));
}

void sessions_run_get(http_request_t *r)
{
    api_job_t *job = sessions_path_job(r, run_work, NULL);
    if (job != NULL)
        api_job_submit(r, job);
}
