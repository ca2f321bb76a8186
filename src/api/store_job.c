#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/body.h"
#include "api/store_job.h"
#include "api/tenant.h"
#include "core/log.h"
#include "http/reply.h"

api_job_t *api_job_new(http_request_t *r, store_work_fn work, api_reply_fn reply)
{
    api_job_t *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return NULL;
    const auth_tenant_t *t = tenant_of(r);
    memcpy(job->ws, t->workspace_id, sizeof(job->ws));
    memcpy(job->user_id, t->user_id, sizeof(job->user_id));
    job->work = work;
    job->reply = reply;
    job->not_found = "Not found";
    job->all_workspaces = tenant_reads_all_workspaces(r);
    job->app = ((const app_loop_t *)r->loop_data)->app;
    job->start_us = r->start_us;
    job->in = json_object();
    if (job->in == NULL) {
        free(job);
        return NULL;
    }
    return job;
}

void api_job_free(api_job_t *job)
{
    if (job == NULL)
        return;
    if (job->pending != NULL)
        http_pending_release(job->pending);
    json_decref(job->in);
    json_decref(job->out);
    json_decref(job->out2);
    free(job->body);
    free(job);
}

api_job_t *api_path_job(http_request_t *r, store_work_fn work, api_reply_fn reply,
                        const char *not_found)
{
    char *ids[2] = {NULL, NULL};
    for (size_t i = 0; i < r->nparams && i < 2; i++)
        if ((ids[i] = api_path_id(r, i, API_ID_MAX - 1)) == NULL)
            return NULL;
    api_job_t *job = api_job_new(r, work, reply);
    if (job == NULL) {
        http_reply_error(r, 503, "OVERLOADED", "Out of memory; try again");
        return NULL;
    }
    if (ids[0] != NULL)
        strcpy(job->id, ids[0]);
    if (ids[1] != NULL)
        strcpy(job->id2, ids[1]);
    job->not_found = not_found;
    return job;
}

void api_reply_store_error(http_request_t *r, store_rc_t rc, const char *not_found)
{
    switch (rc) {
    case STORE_NOT_FOUND:
        http_reply_error(r, 404, "NOT_FOUND", not_found);
        break;
    case STORE_CONFLICT:
        http_reply_error(r, 409, "CONFLICT", "It exists already");
        break;
    case STORE_UNAVAILABLE:
        http_reply_error(r, 503, "STORE_UNAVAILABLE", "The database is unavailable; try again");
        break;
    case STORE_BUSY:
        http_reply_retry_after(r, 1);
        http_reply_error(r, 503, "STORE_BUSY", "The store has too much work queued; try again");
        break;
    default:
        http_reply_error(r, 500, "STORE_ERROR", "The database failed to answer");
        break;
    }
}

store_rc_t api_job_render(api_job_t *job, int status, json_t *view)
{
    size_t cap = job->app->cfg->max_reply_bytes;
    int rc = http_json_render(view, cap, &job->body, &job->body_len);
    json_decref(view);
    job->status = status;
    job->too_large = rc == HTTP_RENDER_TOO_LARGE;
    return rc == 0 || job->too_large ? STORE_OK : STORE_ERROR;
}

static store_rc_t render_ambiguous(api_job_t *job, const json_t *rows)
{
    json_t *wss = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) json_array_append(wss, json_object_get(row, "workspace_id"));
    return api_job_render(job, 409,
                          json_pack("{s:s, s:s, s:o}", "detail",
                                    "This id is in more than one workspace: name one with "
                                    "?workspace_id=",
                                    "code", "AMBIGUOUS_ID", "workspace_ids", wss));
}

store_rc_t api_job_pick_workspace(api_job_t *job, json_t *rows)
{
    size_t n = json_array_size(rows);
    store_rc_t rc = STORE_NOT_FOUND;
    const char *ws =
        n == 1 ? json_string_value(json_object_get(json_array_get(rows, 0), "workspace_id")) : NULL;
    if (n > 1) {
        rc = render_ambiguous(job, rows);
    } else if (ws != NULL && strlen(ws) < sizeof(job->ws)) {
        memcpy(job->ws, ws, strlen(ws) + 1);
        json_decref(job->out);
        job->out = json_incref(json_array_get(rows, 0));
        rc = STORE_OK;
    }
    json_decref(rows);
    return rc;
}

static void reply_too_large(http_request_t *r, const api_job_t *job)
{
    char detail[192];
    snprintf(detail, sizeof(detail),
             "The reply would be over MAX_REPLY_BYTES (%zu bytes); ask for a smaller page"
             " (limit) or fewer runs",
             job->app->cfg->max_reply_bytes);
    http_reply_error(r, 413, "REPLY_TOO_LARGE", detail);
}

static void reply_ok(http_request_t *r, api_job_t *job)
{
    if (job->too_large) {
        reply_too_large(r, job);
    } else if (job->body != NULL) {
        http_reply_bytes(r, job->status, job->body, job->body_len);
        job->body = NULL; /* taken */
    } else if (job->reply != NULL) {
        job->reply(r, job);
    } else { /* a rendering job whose work answered without rendering */
        http_reply_error(r, 500, "INTERNAL", "could not encode the reply");
    }
}

static store_rc_t run_work(store_conn_t *c, void *data)
{
    api_job_t *job = data;
    return job->work(c, job);
}

static void on_done(store_rc_t rc, void *data)
{
    api_job_t *job = data;
    http_request_t *r = http_pending_request(job->pending);
    job->rc = rc;
    if (r != NULL) {
        if (rc == STORE_OK)
            reply_ok(r, job);
        else if (job->reply_errors)
            job->reply(r, job);
        else
            api_reply_store_error(r, rc, job->not_found);
    }
    api_job_free(job);
}

void api_job_submit(http_request_t *r, api_job_t *job)
{
    const app_loop_t *loop = r->loop_data;
    if (job == NULL || (job->pending = http_pending_new(r)) == NULL) {
        if (job != NULL)
            api_job_free(job);
        http_reply_error(r, 503, "OVERLOADED", "Out of memory; try again");
        return;
    }
    int rc = store_submit_bounded(loop->app->store, http_request_loop(r), run_work, on_done, job);
    if (rc != 0) {
        api_job_free(job);
        api_reply_store_error(r, rc == STORE_SUBMIT_BUSY ? STORE_BUSY : STORE_UNAVAILABLE, NULL);
    }
}
