/* What sessions.c and session_runs.c share: finding the session the path
 * names, in the caller's workspace or, for an operator, in any. */
#ifndef AGENTOS_API_SESSIONS_INTERNAL_H
#define AGENTOS_API_SESSIONS_INTERNAL_H

#include "api/store_job.h"

/* A job on the session named by the path (404 "Session not found"). NULL
 * when it has replied. */
api_job_t *sessions_path_job(http_request_t *r, store_work_fn work, api_reply_fn reply);
/* On the pool: the session job->id into job->out. For an operator's read
 * across workspaces, job->ws becomes the session's workspace; when the id is
 * in several, the 409 is rendered (STORE_OK with job->body set: the caller
 * stops there). */
store_rc_t sessions_load(store_conn_t *c, api_job_t *job);

#endif
