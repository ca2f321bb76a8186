/* A run's state machine, as curl's multi.c moves every state through
 * mstate(): set up (session, history, row), model turns and tool calls
 * until an answer, then the final event and the row. run_model.c and
 * run_tools.c report here (run_model_done, run_tools_done, run_finish);
 * only this file chooses the next phase. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "agent/run_internal.h"
#include "core/log.h"
#include "core/timeutil.h"

double run_now(void)
{
    return (double)timeutil_wall_us() / 1e6;
}

json_t *run_message(const char *role, const char *content)
{
    return json_pack("{s:s, s:s, s:I}", "role", role, "content", content ? content : "",
                     "created_at", (json_int_t)run_now());
}

static const char *const phase_names[RUN_PHASE_COUNT] = {
    [RUN_SETUP] = "SETUP",   [RUN_MODEL] = "MODEL",         [RUN_TOOLS] = "TOOLS",
    [RUN_PAUSED] = "PAUSED", [RUN_FINISHING] = "FINISHING", [RUN_DONE] = "DONE",
};

/* legal[from] has bit `to` set for each phase `from` may move to. */
#define TO(p) (1u << (p))
static const unsigned legal[RUN_PHASE_COUNT] = {
    [RUN_SETUP] = TO(RUN_MODEL) | TO(RUN_FINISHING),
    [RUN_MODEL] = TO(RUN_TOOLS) | TO(RUN_PAUSED) | TO(RUN_FINISHING),
    [RUN_TOOLS] = TO(RUN_MODEL) | TO(RUN_PAUSED) | TO(RUN_FINISHING),
    [RUN_PAUSED] = TO(RUN_MODEL) | TO(RUN_TOOLS) | TO(RUN_FINISHING),
    [RUN_FINISHING] = TO(RUN_DONE),
    [RUN_DONE] = 0,
};
#undef TO

const char *run_phase_name(run_phase_t p)
{
    return (unsigned)p < RUN_PHASE_COUNT ? phase_names[p] : "?";
}

int run_phase_check(run_phase_t from, run_phase_t to)
{
    if ((unsigned)from >= RUN_PHASE_COUNT || (unsigned)to >= RUN_PHASE_COUNT)
        return -1;
    return (legal[from] & (1u << to)) != 0 ? 0 : -1;
}

void run_enter(run_t *run, run_phase_t to)
{
    int rc = run_phase_check(run->phase, to);
    log_json(LOG_LEVEL_DEBUG, "run phase",
             json_pack("{s:s, s:s, s:s}", "run_id", run->run_id, "from", run_phase_name(run->phase),
                       "to", run_phase_name(to)));
    assert(rc == 0 && "illegal run phase transition");
    (void)rc;
    run->phase = to;
}

static void run_free(run_t *run)
{
    free(run->ws);
    free(run->user);
    free(run->session_id);
    free(run->run_id);
    free(run->message);
    free(run->end_text);
    free(run->fail_text);
    free(run->content);
    buf_free(&run->streamed);
    free(run->reply_id);
    run_frame_free(&run->frame);
    json_decref(run->messages);
    json_decref(run->run_messages);
    json_decref(run->session_state);
    json_decref(run->state_in);
    json_decref(run->metadata);
    json_decref(run->tools_log);
    json_decref(run->history);
    json_decref(run->tool_schemas);
    free(run);
}

static void on_finished(run_t *run)
{
    run_enter(run, RUN_DONE);
    if (run->sink.on_end != NULL)
        run->sink.on_end(run->sink.ud, run);
    run_free(run);
}

/* What only the model turns and the final event read: the conversation sent
 * to the model, the tool schemas, the history, the text kept for RunCancelled
 * and the last RunContent frame. The row and the run object are built from the
 * rest; under load the row waits behind thousands in the store's queue, so a
 * finishing run holds no more than it must. */
static void run_drop_turn_state(run_t *run)
{
    json_decref(run->messages);
    run->messages = NULL;
    json_decref(run->tool_schemas);
    run->tool_schemas = NULL;
    json_decref(run->history);
    run->history = NULL;
    buf_free(&run->streamed);
    run_frame_free(&run->frame);
}

/* The one way out: the final event, then the row, then the sink's end. */
void run_finish(run_t *run, run_status_t status, const char *text)
{
    if (run->phase >= RUN_FINISHING)
        return;
    run_enter(run, RUN_FINISHING);
    run->status = status;
    run_clock_stop(run);
    if (text != NULL && run->end_text == NULL)
        run->end_text = strdup(text);
    run_events_final(run);
    run_drop_turn_state(run);
    if (status == RUN_STATUS_ERROR)
        log_json(LOG_LEVEL_WARN, "run failed",
                 json_pack("{s:s, s:s, s:s}", "run_id", run->run_id, "workspace_id", run->ws,
                           "error", run->end_text ? run->end_text : ""));
    run_store_finish(run, on_finished);
}

/* The system message and the conversation so far; -1 when out of memory. */
static int build_messages(run_t *run)
{
    int oom = 0;
    char *system = registry_system_message(run->agent, (long long)timeutil_wall_us(), &oom);
    run->messages = json_array();
    if (oom || run->messages == NULL) {
        free(system);
        return -1;
    }
    if (system != NULL)
        json_array_append_new(run->messages,
                              json_pack("{s:s, s:s}", "role", "system", "content", system));
    free(system);
    if (run->history != NULL)
        json_array_extend(run->messages, run->history);
    json_t *user = run_message("user", run->message);
    json_array_append(run->messages, user);
    json_array_append_new(run->run_messages, user);
    return 0;
}

static void on_setup(run_t *run, store_rc_t rc)
{
    if (run->cancel_pending) {
        run_finish(run, RUN_STATUS_CANCELLED, NULL);
        return;
    }
    if (run->fail_text != NULL && rc == STORE_OK) { /* the deadline passed meanwhile */
        run_finish(run, RUN_STATUS_ERROR, run->fail_text);
        return;
    }
    if (run->state_too_large) {
        run->error_type = "session_state_too_large";
        run_finish(run, RUN_STATUS_ERROR,
                   "the session's state would pass 1 MiB with this run's keys");
        return;
    }
    if (rc != STORE_OK) {
        run->error_type = "store_error";
        run_finish(run, RUN_STATUS_ERROR,
                   rc == STORE_UNAVAILABLE ? "the database is unavailable"
                   : rc == STORE_CONFLICT  ? "a run with this id exists already"
                                           : "could not record the run");
        return;
    }
    run->status = RUN_STATUS_RUNNING;
    run_emit(run, "RunStarted",
             json_pack("{s:s, s:s}", "model", run->agent->model.id, "model_provider",
                       run_provider_name(run)));
    if (build_messages(run) != 0) {
        run_finish(run, RUN_STATUS_ERROR, "out of memory");
        return;
    }
    run_enter(run, RUN_MODEL);
    run_model_turn(run);
}

void run_model_done(run_t *run, model_result_t *res)
{
    if (res->ntool_calls > 0 && run->tool_calls_used >= run->agent->tool_call_limit) {
        /* Told not to call tools, it still does (local models often do):
         * calling it again would loop for as long as it insists. */
        char text[160];
        snprintf(text, sizeof(text),
                 "tool_call_limit_exceeded: the model asked for tools after the run's "
                 "%d tool calls",
                 run->agent->tool_call_limit);
        run->error_type = "tool_call_limit_exceeded";
        run_finish(run, RUN_STATUS_ERROR, text);
        return;
    }
    if (res->ntool_calls > 0) {
        run_enter(run, RUN_TOOLS);
        run_tools_start(run, res);
        return;
    }
    free(run->content);
    run->content = strdup(res->content);
    run_emit(run, "RunContentCompleted", NULL);
    run_finish(run, RUN_STATUS_COMPLETED, NULL);
}

void run_tools_done(run_t *run)
{
    run_enter(run, RUN_MODEL);
    run_model_turn(run);
}

static char *dup_or_empty(const char *s)
{
    return strdup(s != NULL ? s : "");
}

run_t *run_start(const run_env_t *env, const run_params_t *p, const run_sink_t *sink)
{
    run_t *run = calloc(1, sizeof(*run));
    if (run == NULL)
        return NULL;
    run->env = *env;
    run->agent = p->agent;
    buf_init(&run->streamed, RUN_STREAMED_MAX);
    run->sink = *sink;
    run->ws = dup_or_empty(p->workspace_id);
    run->user = dup_or_empty(p->user_id);
    run->session_id = dup_or_empty(p->session_id);
    run->run_id = dup_or_empty(p->run_id);
    run->message = dup_or_empty(p->message);
    /* Copies: the setup job reads them on the pool after the request is gone. */
    run->state_in = p->session_state != NULL ? json_deep_copy(p->session_state) : NULL;
    run->metadata = p->metadata != NULL ? json_deep_copy(p->metadata) : NULL;
    run->run_messages = json_array();
    run->tools_log = json_array();
    run->tool_schemas = run_tool_schemas(p->agent);
    run->status = RUN_STATUS_PENDING;
    run->created_at = run_now();
    run->start_us = timeutil_mono_us();
    if (!run->ws || !run->user || !run->session_id || !run->run_id || !run->message ||
        !run->run_messages || !run->tools_log || (p->session_state && !run->state_in) ||
        (p->metadata && !run->metadata)) {
        run_free(run);
        return NULL;
    }
    run->phase = RUN_SETUP; /* the first phase: not a transition */
    if (run_clock_start(run) != 0) {
        run_free(run);
        return NULL;
    }
    run_store_setup(run, on_setup);
    return run;
}

void run_cancel(run_t *run, const char *reason)
{
    switch (run->phase) {
    case RUN_SETUP:
        /* The setup job cannot be called back; its completion finishes. */
        if (!run->cancel_pending && run->end_text == NULL)
            run->end_text = strdup(reason);
        run->cancel_pending = 1;
        break;
    case RUN_MODEL:
        run_model_cancel(run);
        run_finish(run, RUN_STATUS_CANCELLED, reason);
        break;
    case RUN_TOOLS:
        run_tools_cancel(run);
        run_finish(run, RUN_STATUS_CANCELLED, reason);
        break;
    case RUN_PAUSED: /* nothing in flight */
        run_finish(run, RUN_STATUS_CANCELLED, reason);
        break;
    case RUN_FINISHING:
    case RUN_DONE:
    case RUN_PHASE_COUNT:
        break;
    }
}

void run_cancel_soon(run_t *run, const char *reason)
{
    if (!run->cancel_requested && run->end_text == NULL && reason != NULL)
        run->end_text = strdup(reason);
    run->cancel_requested = 1;
}

void run_resume(run_t *run)
{
    if (run->phase == RUN_MODEL)
        run_model_resume(run);
}

run_status_t run_status(const run_t *run)
{
    return run->status;
}
