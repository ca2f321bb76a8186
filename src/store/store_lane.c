/* The store's two lanes, per loop (store_lane.h). One mutex for all: it is
 * held for a list operation, never across database work. */
#include "store/store_lane.h"

#include <stdlib.h>

#include "store/store_internal.h"

typedef struct loop_lanes {
    list_t link; /* in store->lanes */
    uv_loop_t *loop;
    list_t fast, bulk;
    int fast_run; /* front-lane jobs taken in a row while bulk waited */
} loop_lanes_t;

int store_lanes_init(store_t *s)
{
    list_init(&s->lanes);
    return uv_mutex_init(&s->lane_mu);
}

/* At close no job is left (store_close's contract): only the per-loop
 * heads remain. */
void store_lanes_free(store_t *s)
{
    list_t *node, *tmp;
    LIST_FOREACH_SAFE(node, tmp, &s->lanes) {
        list_remove(node);
        free(LIST_ENTRY(node, loop_lanes_t, link));
    }
    uv_mutex_destroy(&s->lane_mu);
}

/* Called with lane_mu held. Loops are few (one per worker thread), so a
 * scan is cheap; a loop's entry stays until close. */
static loop_lanes_t *lanes_of(store_t *s, uv_loop_t *loop, int create)
{
    list_t *node;
    LIST_FOREACH(node, &s->lanes) {
        loop_lanes_t *l = LIST_ENTRY(node, loop_lanes_t, link);
        if (l->loop == loop)
            return l;
    }
    loop_lanes_t *l = create ? calloc(1, sizeof *l) : NULL;
    if (l == NULL)
        return NULL;
    l->loop = loop;
    list_init(&l->fast);
    list_init(&l->bulk);
    list_insert_tail(&s->lanes, &l->link);
    return l;
}

int store_lanes_push(store_t *s, store_job_t *job)
{
    uv_mutex_lock(&s->lane_mu);
    loop_lanes_t *l = lanes_of(s, job->loop, 1);
    if (l != NULL)
        list_insert_tail(job->kind <= STORE_LANE_FAST_BATCH ? &l->fast : &l->bulk, &job->link);
    uv_mutex_unlock(&s->lane_mu);
    return l != NULL ? 0 : -1;
}

int store_lanes_unpush(store_t *s, store_job_t *job)
{
    uv_mutex_lock(&s->lane_mu);
    int taken = job->taken;
    if (!taken)
        list_remove(&job->link);
    uv_mutex_unlock(&s->lane_mu);
    return taken ? -1 : 0;
}

static void take(store_job_t *job, list_t *out)
{
    list_remove(&job->link);
    job->taken = 1;
    list_insert_tail(out, &job->link);
}

static store_job_t *first_job(const list_t *lane)
{
    return list_is_empty(lane) ? NULL : LIST_ENTRY(list_first(lane), store_job_t, link);
}

static int batchable(const store_job_t *job)
{
    return job->kind == STORE_LANE_FAST_BATCH || job->kind == STORE_LANE_BATCH;
}

/* A lane's head, and the batchable jobs right behind a batchable head. */
static int take_run(list_t *lane, list_t *out)
{
    int n = 0;
    store_job_t *job;
    while (n < STORE_BATCH_MAX && (job = first_job(lane)) != NULL) {
        if (n > 0 && !batchable(job))
            break;
        take(job, out);
        n++;
        if (!batchable(job))
            break;
    }
    return n;
}

int store_lanes_take(store_t *s, uv_loop_t *loop, list_t *out)
{
    int n = 0;
    uv_mutex_lock(&s->lane_mu);
    loop_lanes_t *l = lanes_of(s, loop, 0);
    if (l != NULL) {
        store_job_t *fast = first_job(&l->fast);
        int bulk_waits = !list_is_empty(&l->bulk);
        if (fast != NULL && (!bulk_waits || l->fast_run < STORE_FAST_BURST)) {
            n = take_run(&l->fast, out);
            l->fast_run += bulk_waits;
        } else {
            n = take_run(&l->bulk, out);
            l->fast_run = 0;
        }
    }
    uv_mutex_unlock(&s->lane_mu);
    return n;
}
