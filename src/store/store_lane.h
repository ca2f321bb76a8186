/* The store's queue, in front of libuv's pool (store_submit.c). Jobs wait
 * here, per loop, in two lanes: the run-critical lane (work a request
 * waits for: a run's setup, a handler's reads and writes, /ready) is
 * served before the bulk lane (finishes, heartbeats, sweeps), so a run's
 * setup never waits behind a backlog of finishes. Each job submitted
 * queues one pump on the pool; a pump takes the best job of its own loop
 * when it runs, so the job's done still runs on the loop that asked.
 * Batchable jobs (run setups in the front lane, run finishes in the bulk
 * lane) next to each other in a lane are taken together and share one
 * transaction. */
#ifndef AGENTOS_STORE_STORE_LANE_H
#define AGENTOS_STORE_STORE_LANE_H

#include "core/list.h"
#include "store/store.h"

/* The most batchable jobs one transaction takes. */
#define STORE_BATCH_MAX 16
/* After this many run-critical jobs in a row, one bulk job goes first
 * when any waits: a busy front lane slows finishes, never stops them. */
#define STORE_FAST_BURST 8

typedef enum {
    STORE_LANE_FAST = 0,   /* run-critical */
    STORE_LANE_FAST_BATCH, /* run-critical, batchable (run setups) */
    STORE_LANE_BULK,
    STORE_LANE_BATCH, /* bulk, batchable (run finishes) */
} store_lane_kind_t;

typedef struct store_job {
    list_t link; /* in its lane, then in the pump that ran it */
    uv_loop_t *loop;
    store_lane_kind_t kind;
    store_work_fn work;
    store_done_fn done;
    void *data;
    store_rc_t rc;
    int taken; /* by a pump: under the lanes' mutex */
} store_job_t;

/* A store's lanes: store_lanes_init at open, store_lanes_free at close. */
int store_lanes_init(store_t *s);
void store_lanes_free(store_t *s);
/* Queues job in its lane. -1 when out of memory. */
int store_lanes_push(store_t *s, store_job_t *job);
/* Takes job back out of its lane when no pump has taken it: 0, or -1
 * when a pump has (it will run and its done will be called). */
int store_lanes_unpush(store_t *s, store_job_t *job);
/* Moves into out the next jobs of loop's queue to run: one, or a run of
 * batchable ones (at most STORE_BATCH_MAX). Returns how many. */
int store_lanes_take(store_t *s, uv_loop_t *loop, list_t *out);

#endif
