#include <stdlib.h>

#include "api/upkeep.h"
#include "core/log.h"

#define HEARTBEAT_MS 15000
#define SWEEP_EVERY 4 /* heartbeats */
/* An owner silent this long is gone: four missed heartbeats. */
#define STALE_MS 60000

struct upkeep {
    uv_timer_t timer; /* first: its close callback frees the whole */
    const app_t *app;
    unsigned ticks;
    int jobs; /* store jobs in flight */
    int stopping;
    long long swept;
};

static void maybe_free(upkeep_t *u)
{
    if (u->stopping && u->jobs == 0)
        uv_close((uv_handle_t *)&u->timer, (uv_close_cb)free);
}

/* Without Redis there is one replica: every other owner is a process that
 * died, however recent its last heartbeat. */
static store_rc_t tick_work(store_conn_t *c, void *data)
{
    upkeep_t *u = data;
    store_rc_t rc = store_owner_heartbeat(c, u->app->owner_id);
    /* Rows still pending here (replayed from a journal: another owner's)
     * are ends on their way, not interruptions: no sweep until they land. */
    int pending = u->app->finisher != NULL && store_finisher_pending(u->app->finisher) > 0;
    if (rc == STORE_OK && u->ticks % SWEEP_EVERY == 0 && !pending) {
        long long stale = u->app->cfg->redis_url != NULL ? STALE_MS : 0;
        rc = store_runs_interrupt_orphans(c, u->app->owner_id, stale, &u->swept);
    }
    return rc;
}

static void tick_done(store_rc_t rc, void *data)
{
    upkeep_t *u = data;
    u->jobs--;
    if (rc == STORE_OK && u->swept > 0)
        log_json(LOG_LEVEL_WARN, "runs interrupted by a stopped process marked ERROR",
                 json_pack("{s:I}", "runs", (json_int_t)u->swept));
    u->swept = 0;
    u->ticks++;
    maybe_free(u);
}

static void on_tick(uv_timer_t *t)
{
    upkeep_t *u = t->data;
    if (u->jobs > 0)
        return; /* the database is slow: skip a beat rather than pile up */
    if (store_submit(u->app->store, t->loop, tick_work, tick_done, u) == 0)
        u->jobs++;
}

upkeep_t *upkeep_start(const app_t *app, uv_loop_t *loop)
{
    upkeep_t *u = calloc(1, sizeof(*u));
    if (u == NULL)
        return NULL;
    u->app = app;
    uv_timer_init(loop, &u->timer);
    u->timer.data = u;
    uv_timer_start(&u->timer, on_tick, 0, HEARTBEAT_MS);
    return u;
}

void upkeep_stop(upkeep_t *u)
{
    if (u == NULL)
        return;
    uv_timer_stop(&u->timer);
    u->stopping = 1;
    maybe_free(u);
}
