/* A run's clock: its deadline (RUN_TIMEOUT_SECONDS, or the agent's
 * timeout_seconds) and the model's stall watchdog, one timer. A stall is no
 * text or tool-call delta for MODEL_STALL_TIMEOUT_SECONDS once the model's
 * body has begun: comments, pings and empty deltas keep bytes flowing but
 * not the run alive. Before the first body byte the call's own watchdog and
 * retries apply (a Retry-After wait is not a stall). The timer is its own
 * allocation so that closing it never waits on the run's memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/run_internal.h"

#define RUN_DEFAULT_TIMEOUT_S 600
#define RUN_DEFAULT_STALL_S 60

static uint64_t stall_ms(const run_t *run)
{
    long s =
        run->env.model_stall_timeout_s > 0 ? run->env.model_stall_timeout_s : RUN_DEFAULT_STALL_S;
    return (uint64_t)s * 1000;
}

/* A paused stream waits for the client, not for the model. */
static int stall_watched(const run_t *run)
{
    return run->phase == RUN_MODEL && run->call != NULL && run->stream != NULL && !run->paused &&
           model_stream_bytes(run->stream) > 0;
}

static void on_clock(uv_timer_t *t);

static void clock_arm(run_t *run)
{
    uint64_t now = uv_now(run->env.loop);
    /* Not watched: wake once a stall period anyway, to start watching. */
    uint64_t stall_due = (stall_watched(run) ? run->last_delta_ms : now) + stall_ms(run);
    uint64_t due = stall_due < run->deadline_ms ? stall_due : run->deadline_ms;
    uv_timer_start(run->clock, on_clock, due > now ? due - now : 0, 0);
}

void run_fail(run_t *run, const char *type, const char *text)
{
    switch (run->phase) {
    case RUN_SETUP: /* the setup job cannot be called back: its end fails */
        if (run->fail_text == NULL) {
            run->fail_text = strdup(text);
            run->error_type = type;
        }
        return;
    case RUN_MODEL:
        run_model_cancel(run);
        break;
    case RUN_TOOLS:
        run_tools_cancel(run);
        break;
    case RUN_PAUSED: /* nothing in flight */
        break;
    case RUN_FINISHING:
    case RUN_DONE:
    case RUN_PHASE_COUNT:
        return;
    }
    run->error_type = type;
    run_finish(run, RUN_STATUS_ERROR, text);
}

static void on_clock(uv_timer_t *t)
{
    run_t *run = t->data;
    if (run == NULL || run->phase >= RUN_FINISHING)
        return;
    uint64_t now = uv_now(run->env.loop);
    char text[160];
    if (run->fail_text != NULL && run->phase != RUN_SETUP) {
        char *why = run->fail_text;
        run->fail_text = NULL;
        run_fail(run, run->error_type, why);
        free(why);
        return;
    }
    if (now >= run->deadline_ms) {
        snprintf(text, sizeof(text), "timeout: the run took longer than its %llu s",
                 (unsigned long long)((run->deadline_ms - run->clock_start_ms) / 1000));
        run_fail(run, "timeout", text);
        return;
    }
    if (stall_watched(run) && now - run->last_delta_ms >= stall_ms(run)) {
        snprintf(text, sizeof(text), "the model's stream stalled: no text or tool call for %llu s",
                 (unsigned long long)(stall_ms(run) / 1000));
        run_fail(run, "model_stalled", text);
        return;
    }
    clock_arm(run);
}

int run_clock_start(run_t *run)
{
    run->clock = malloc(sizeof(*run->clock));
    if (run->clock == NULL)
        return -1;
    uv_timer_init(run->env.loop, run->clock);
    run->clock->data = run;
    long s = run->agent->timeout_seconds > 0 ? run->agent->timeout_seconds
             : run->env.run_timeout_s > 0    ? run->env.run_timeout_s
                                             : RUN_DEFAULT_TIMEOUT_S;
    run->clock_start_ms = uv_now(run->env.loop);
    run->deadline_ms = run->clock_start_ms + (uint64_t)s * 1000;
    clock_arm(run);
    return 0;
}

static void on_clock_closed(uv_handle_t *h)
{
    free(h);
}

void run_clock_stop(run_t *run)
{
    if (run->clock == NULL)
        return;
    uv_timer_stop(run->clock);
    run->clock->data = NULL;
    uv_close((uv_handle_t *)run->clock, on_clock_closed);
    run->clock = NULL;
}

void run_fail_soon(run_t *run, const char *type, const char *text)
{
    if (run->phase >= RUN_FINISHING || run->fail_text != NULL)
        return;
    run->fail_text = strdup(text);
    run->error_type = type;
    if (run->clock != NULL && run->phase != RUN_SETUP)
        uv_timer_start(run->clock, on_clock, 0, 0);
}
