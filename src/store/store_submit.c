/* store_submit: the only way loop threads reach the database. The work runs
 * on libuv's thread pool with that thread's connection; done runs back on
 * the loop that submitted, which owns the job and frees it.
 *
 * Every job counts in the store's queue until its done has run, so the
 * bound sees internal writes too; only request jobs are ever refused. */
#include <stdlib.h>

#include "core/counters.h"
#include "core/timeutil.h"
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
    atomic_fetch_sub(&job->store->queued, 1);
    if (rc == STORE_UNAVAILABLE || rc == STORE_ERROR)
        counters_store_error();
    if (rc == STORE_UNAVAILABLE)
        atomic_store(&job->store->unavailable_at_us, timeutil_mono_us());
    free(job);
    done(rc, data);
}

/* The job is counted already. */
static int queue_job(store_t *s, uv_loop_t *loop, store_work_fn work, store_done_fn done,
                     void *data)
{
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

int store_submit(store_t *s, uv_loop_t *loop, store_work_fn work, store_done_fn done, void *data)
{
    if (s == NULL || loop == NULL || work == NULL || done == NULL)
        return -1;
    atomic_fetch_add(&s->queued, 1);
    if (queue_job(s, loop, work, done, data) != 0) {
        atomic_fetch_sub(&s->queued, 1);
        return -1;
    }
    return 0;
}

int store_submit_bounded(store_t *s, uv_loop_t *loop, store_work_fn work, store_done_fn done,
                         void *data)
{
    if (s == NULL || loop == NULL || work == NULL || done == NULL)
        return -1;
    int max = atomic_load(&s->queue_max);
    /* Counted first, then checked: loops racing for the last slot cannot
     * both take it. */
    int before = atomic_fetch_add(&s->queued, 1);
    if (max > 0 && before >= max) {
        atomic_fetch_sub(&s->queued, 1);
        return STORE_SUBMIT_BUSY;
    }
    if (queue_job(s, loop, work, done, data) != 0) {
        atomic_fetch_sub(&s->queued, 1);
        return -1;
    }
    return 0;
}

void store_set_queue_max(store_t *s, int queue_max)
{
    atomic_store(&s->queue_max, queue_max);
}

int store_queue_depth(const store_t *s)
{
    return atomic_load(&s->queued);
}

uint64_t store_unavailable_at_us(const store_t *s)
{
    return atomic_load(&s->unavailable_at_us);
}

int store_queue_full(const store_t *s)
{
    int max = atomic_load(&s->queue_max);
    return max > 0 && store_queue_depth(s) >= max;
}
