/* store_submit: the only way loop threads reach the database. The work runs
 * on libuv's thread pool with that thread's connection; done runs back on
 * the loop that submitted, which owns the job and frees it. */
#include <stdlib.h>

#include "store/store_internal.h"

typedef struct store_job {
    uv_work_t req; /* first: the request pointer is the job */
    store_t *store;
    store_work_fn work;
    store_done_fn done;
    void *data;
    store_rc_t rc;
} store_job_t;

static void job_work(uv_work_t *req)
{
    store_job_t *job = (store_job_t *)req;
    store_conn_t *c = store_conn_get(job->store);
    job->rc = c != NULL ? job->work(c, job->data) : STORE_UNAVAILABLE;
}

static void job_done(uv_work_t *req, int status)
{
    store_job_t *job = (store_job_t *)req;
    /* Cancelled (uv_cancel) means the work never ran. */
    store_rc_t rc = status == UV_ECANCELED ? STORE_UNAVAILABLE : job->rc;
    store_done_fn done = job->done;
    void *data = job->data;
    free(job);
    done(rc, data);
}

int store_submit(store_t *s, uv_loop_t *loop, store_work_fn work, store_done_fn done, void *data)
{
    if (s == NULL || loop == NULL || work == NULL || done == NULL)
        return -1;
    store_job_t *job = calloc(1, sizeof *job);
    if (job == NULL)
        return -1;
    job->store = s;
    job->work = work;
    job->done = done;
    job->data = data;
    if (uv_queue_work(loop, &job->req, job_work, job_done) != 0) {
        free(job);
        return -1;
    }
    return 0;
}
