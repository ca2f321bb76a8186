/* store_submit: the only way loop threads reach the database. Jobs wait in
 * the store's lanes (store_lane.h); each one queues a pump on libuv's
 * thread pool, which runs the best job of its loop with that thread's
 * connection. done runs back on the loop that submitted, which owns the
 * job and frees it.
 *
 * Every job counts in the store's queue until its done has run, so the
 * bound sees internal writes too; only request jobs are ever refused. */
#include <stdlib.h>

#include "core/counters.h"
#include "core/timeutil.h"
#include "store/store_internal.h"
#include "store/store_lane.h"

typedef struct store_pump {
    uv_work_t req; /* first: the request pointer is the pump */
    store_t *store;
    uv_loop_t *loop;
    list_t ran; /* the jobs this pump took: none when others took them */
} store_pump_t;

/* Several setups or finishes in one transaction: each job's work makes its writes
 * through store_in_tx, so under a savepoint; one that fails loses only its
 * own. None is reported written before the commit. A failed commit, or a
 * job that met no database (its savepoint may not have been undone, and
 * PostgreSQL would then turn COMMIT into a rollback), fails them all as
 * unavailable: the finisher retries each, and a finish write that finds
 * its row closed already writes nothing twice. */
static void run_batch(store_conn_t *c, list_t *jobs)
{
    list_t *node;
    store_rc_t rc = store_tx_begin(c);
    LIST_FOREACH(node, jobs) {
        store_job_t *job = LIST_ENTRY(node, store_job_t, link);
        job->rc = rc == STORE_OK ? job->work(c, job->data) : rc;
        if (job->rc == STORE_UNAVAILABLE)
            rc = STORE_UNAVAILABLE;
    }
    if (rc == STORE_OK)
        rc = store_tx_commit(c);
    else
        store_tx_rollback(c);
    if (rc == STORE_OK)
        return;
    LIST_FOREACH(node, jobs)
        LIST_ENTRY(node, store_job_t, link)->rc = rc == STORE_UNAVAILABLE ? rc : STORE_UNAVAILABLE;
}

static void pump_work(uv_work_t *req)
{
    store_pump_t *p = (store_pump_t *)req;
    int n = store_lanes_take(p->store, p->loop, &p->ran);
    if (n == 0)
        return;
    store_conn_t *c = store_conn_get(p->store);
    list_t *node;
    if (c != NULL && n > 1) {
        run_batch(c, &p->ran);
        return;
    }
    LIST_FOREACH(node, &p->ran) {
        store_job_t *job = LIST_ENTRY(node, store_job_t, link);
        job->rc = c != NULL ? job->work(c, job->data) : STORE_UNAVAILABLE;
    }
}

static void job_done(store_t *s, store_job_t *job, store_rc_t rc)
{
    store_done_fn done = job->done;
    void *data = job->data;
    atomic_fetch_sub(&s->queued, 1);
    if (rc == STORE_UNAVAILABLE || rc == STORE_ERROR)
        counters_store_error();
    if (rc == STORE_UNAVAILABLE)
        atomic_store(&s->unavailable_at_us, timeutil_mono_us());
    free(job);
    done(rc, data);
}

static void pump_done(uv_work_t *req, int status)
{
    store_pump_t *p = (store_pump_t *)req;
    /* Cancelled (uv_cancel): the pump never ran, so one job it stood for
     * would wait for ever; it ends now, unrun. */
    if (status == UV_ECANCELED)
        store_lanes_take(p->store, p->loop, &p->ran);
    list_t *node, *tmp;
    LIST_FOREACH_SAFE(node, tmp, &p->ran) {
        store_job_t *job = LIST_ENTRY(node, store_job_t, link);
        list_remove(node);
        job_done(p->store, job, status == UV_ECANCELED ? STORE_UNAVAILABLE : job->rc);
    }
    free(p);
}

/* The job is counted already. */
static int queue_job(store_t *s, uv_loop_t *loop, store_lane_kind_t kind, store_work_fn work,
                     store_done_fn done, void *data)
{
    store_job_t *job = calloc(1, sizeof *job);
    store_pump_t *p = calloc(1, sizeof *p);
    if (job == NULL || p == NULL) {
        free(job);
        free(p);
        return -1;
    }
    *job = (store_job_t){.loop = loop, .kind = kind, .work = work, .done = done, .data = data};
    *p = (store_pump_t){.store = s, .loop = loop};
    list_init(&p->ran);
    if (store_lanes_push(s, job) != 0) {
        free(job);
        free(p);
        return -1;
    }
    /* Queued after the job is visible: pumps never fall behind jobs, so
     * every job runs. libuv refuses only a NULL callback; should it ever
     * refuse, the job comes back out, unless a spare pump (one whose job a
     * batch took) has it already and will run it. */
    if (uv_queue_work(loop, &p->req, pump_work, pump_done) != 0) {
        free(p);
        if (store_lanes_unpush(s, job) != 0)
            return 0;
        free(job);
        return -1;
    }
    return 0;
}

static int submit(store_t *s, uv_loop_t *loop, store_lane_kind_t kind, store_work_fn work,
                  store_done_fn done, void *data)
{
    if (s == NULL || loop == NULL || work == NULL || done == NULL)
        return -1;
    atomic_fetch_add(&s->queued, 1);
    if (queue_job(s, loop, kind, work, done, data) != 0) {
        atomic_fetch_sub(&s->queued, 1);
        return -1;
    }
    return 0;
}

int store_submit(store_t *s, uv_loop_t *loop, store_work_fn work, store_done_fn done, void *data)
{
    return submit(s, loop, STORE_LANE_BULK, work, done, data);
}

int store_submit_batch(store_t *s, uv_loop_t *loop, store_work_fn work, store_done_fn done,
                       void *data)
{
    return submit(s, loop, STORE_LANE_BATCH, work, done, data);
}

static int submit_bounded(store_t *s, uv_loop_t *loop, store_lane_kind_t kind, store_work_fn work,
                          store_done_fn done, void *data)
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
    if (queue_job(s, loop, kind, work, done, data) != 0) {
        atomic_fetch_sub(&s->queued, 1);
        return -1;
    }
    return 0;
}

int store_submit_bounded(store_t *s, uv_loop_t *loop, store_work_fn work, store_done_fn done,
                         void *data)
{
    return submit_bounded(s, loop, STORE_LANE_FAST, work, done, data);
}

int store_submit_bounded_batch(store_t *s, uv_loop_t *loop, store_work_fn work, store_done_fn done,
                               void *data)
{
    return submit_bounded(s, loop, STORE_LANE_FAST_BATCH, work, done, data);
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
