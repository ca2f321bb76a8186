/* A handler's store call: the work runs on the pool with copies of what it
 * needs (never the request's memory, which the loop owns), and the reply is
 * made back on the loop, if the request is still there. */
#ifndef AGENTOS_API_STORE_JOB_H
#define AGENTOS_API_STORE_JOB_H

#include "auth/tenant.h"
#include "http/pending.h"
#include "store/store.h"

#define API_ID_MAX 256
#define API_MAX_BULK_IDS 1000

typedef struct api_job api_job_t;
struct app;
typedef void (*api_reply_fn)(http_request_t *r, api_job_t *job);

struct api_job {
    http_pending_t *pending;
    store_work_fn work;
    api_reply_fn reply;    /* called on STORE_OK (unless rendered), or always with reply_errors */
    int reply_errors;      /* the reply reports failures itself, from job->rc */
    const char *not_found; /* detail for STORE_NOT_FOUND */
    store_rc_t rc;
    char ws[AUTH_ID_MAX];
    char user_id[AUTH_ID_MAX];
    char id[API_ID_MAX];  /* the path's resource id */
    char id2[API_ID_MAX]; /* a second one (a run id) */
    json_t *in;           /* input: body, patch, query values */
    json_t *out;          /* result */
    json_t *out2;         /* a second result (runs of a session) */
    long long total;
    size_t count;
    store_session_query_t query; /* its strings point into in */
    store_run_query_t runs;      /* a runs page; its strings point into in or id */
    int history_runs;            /* runs in a session's chat_history; 0: the agent's */
    int all_workspaces;          /* an operator's read of every workspace (ws is "") */
    const struct app *app;       /* shared and read-only: the pool may read it */
    uint64_t start_us;           /* the request's start */
    /* The reply, rendered on the pool (api_job_render). */
    char *body;
    size_t body_len;
    int status;
    int too_large;
};

/* A job for r's workspace and user, with an empty object in `in`. */
api_job_t *api_job_new(http_request_t *r, store_work_fn work, api_reply_fn reply);
/* A job on the resource the path names: its first parameter in id, its
 * second (if any) in id2. NULL when it has replied (422, 503). */
api_job_t *api_path_job(http_request_t *r, store_work_fn work, api_reply_fn reply,
                        const char *not_found);
/* Frees a job that was not submitted (NULL is fine). */
void api_job_free(api_job_t *job);
/* Runs the job (job NULL: out of memory); replies 503 when it cannot be
 * queued. Frees the job after. */
void api_job_submit(http_request_t *r, api_job_t *job);
/* On the pool: view (taken) becomes the serialised reply, sent as it is on
 * the loop; past MAX_REPLY_BYTES the reply is 413 REPLY_TOO_LARGE instead.
 * STORE_OK, or STORE_ERROR when out of memory. */
store_rc_t api_job_render(api_job_t *job, int status, json_t *view);
/* On the pool, for an operator's read across workspaces of one resource
 * by id (rows from a *_find_all_workspaces, taken): none is
 * STORE_NOT_FOUND; one becomes job->out and its workspace job->ws, so the
 * rest of the work reads in that workspace only; more is rendered as 409
 * AMBIGUOUS_ID naming the workspaces (the caller then picks one with
 * ?workspace_id=) and answers STORE_OK with job->body set. */
store_rc_t api_job_pick_workspace(api_job_t *job, json_t *rows);
/* Replies to a store failure: 404, 409, 503 STORE_UNAVAILABLE or
 * STORE_BUSY, or 500. */
void api_reply_store_error(http_request_t *r, store_rc_t rc, const char *not_found);

#endif
