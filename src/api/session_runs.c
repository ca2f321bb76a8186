/* A session's runs: GET /sessions/{id}/runs (a page of full runs),
 * /sessions/{id}/runs/{run_id} (one, as Agno's RunSchema) and
 * /sessions/{id}/run-previews (Agno's SessionRunPreviewSchema: no messages,
 * tools or metrics are read). The session is found first, so another
 * workspace's session or run is a 404, and an operator reading across
 * workspaces reads the session's own workspace only. */
#include <string.h>

#include "api/body.h"
#include "api/handlers.h"
#include "api/sessions_internal.h"
#include "api/views.h"
#include "http/reply.h"

#define MAX_RUNS_PAGE 100
#define DEFAULT_PREVIEWS 100 /* Agno lists every run; we page, generously */
#define MAX_PREVIEWS 1000

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
        api_query_int(r, "page", 1, 1, 1000000, &job->runs.page)) {
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
