/* A run's lifecycle: set up (session, history, row), model turns and tool
 * calls until an answer, then the final event and the row. */
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

static json_t *str_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* Every frame carries these; fields (owned) adds the event's own. The
 * sink's answer: 0 or RUN_SINK_TOO_LARGE. */
static int emit(run_t *run, const char *name, json_t *fields)
{
    /* nested_depth: Agno's BaseAgentRunEvent always sends it; 0 at top level. */
    json_t *ev = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:i}", "created_at",
                           (json_int_t)run_now(), "event", name, "agent_id", run->agent->id,
                           "agent_name", run->agent->name ? run->agent->name : run->agent->id,
                           "run_id", run->run_id, "session_id", run->session_id, "nested_depth", 0);
    if (fields != NULL) {
        json_object_update(ev, fields);
        json_decref(fields);
    }
    int rc = 0;
    if (run->sink.on_event != NULL)
        rc = run->sink.on_event(run->sink.ud, name, ev);
    json_decref(ev);
    return rc;
}

/* An event the client cannot take would leave it with a gap: the run ends
 * with a RunError instead, so the row says what the client was told. */
void run_emit(run_t *run, const char *name, json_t *fields)
{
    if (emit(run, name, fields) == RUN_SINK_TOO_LARGE) {
        char text[160];
        snprintf(text, sizeof(text), "event_too_large: a %s event was too large to stream", name);
        run_fail_soon(run, "event_too_large", text);
    }
}

const char *run_provider_name(const run_t *run)
{
    const char *p = model_provider_agno_name(run->agent->provider);
    return p != NULL ? p : "";
}

json_t *run_provider_data(const char *reply_id)
{
    return reply_id != NULL ? json_pack("{s:s}", "id", reply_id) : NULL;
}

/* Agno's ModelMetrics.provider: the model class's, "OpenAI Chat" for the
 * chat completions one. */
static const char *detail_provider(const run_t *run)
{
    const char *p = model_provider_metrics_name(run->agent->provider);
    return p != NULL ? p : "";
}

/* RunMetrics.details: one entry per model; ModelMetrics.to_dict drops
 * zero counts. */
static json_t *metrics_details(const run_t *run)
{
    json_t *m = json_object();
    long long counts[3] = {run->input_tokens, run->output_tokens,
                           run->input_tokens + run->output_tokens};
    static const char *const keys[3] = {"input_tokens", "output_tokens", "total_tokens"};
    for (int i = 0; i < 3; i++)
        if (counts[i] != 0)
            json_object_set_new(m, keys[i], json_integer((json_int_t)counts[i]));
    json_object_set_new(m, "id", json_string(run->agent->model.id ? run->agent->model.id : ""));
    json_object_set_new(m, "provider", json_string(detail_provider(run)));
    return json_pack("{s:[o]}", "model", m);
}

json_t *run_metrics(const run_t *run)
{
    uint64_t now = timeutil_mono_us();
    json_t *m = json_pack("{s:I, s:I, s:I}", "input_tokens", (json_int_t)run->input_tokens,
                          "output_tokens", (json_int_t)run->output_tokens, "total_tokens",
                          (json_int_t)(run->input_tokens + run->output_tokens));
    if (run->first_token_us != 0)
        json_object_set_new(m, "time_to_first_token",
                            json_real((double)(run->first_token_us - run->start_us) / 1e6));
    json_object_set_new(m, "duration", json_real((double)(now - run->start_us) / 1e6));
    if (run->model_results > 0)
        json_object_set_new(m, "details", metrics_details(run));
    return m;
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
    free(run->streamed);
    free(run->reply_id);
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
    if (run->sink.on_end != NULL)
        run->sink.on_end(run->sink.ud, run);
    run_free(run);
}

/* What a cancelled run had said so far. Too large for one frame, it is
 * left out (the client had it in RunContent). */
static json_t *cancel_fields(run_t *run, int with_content)
{
    json_t *f = json_pack("{s:s}", "reason", run->end_text ? run->end_text : "cancelled");
    if (run->streamed_len == 0)
        return f;
    if (with_content)
        json_object_set_new(f, "content", json_stringn(run->streamed, run->streamed_len));
    else
        json_object_set_new(f, "content_omitted", json_true());
    return f;
}

static json_t *final_fields(run_t *run, int with_content)
{
    if (run->status == RUN_STATUS_COMPLETED) {
        json_t *f = json_pack("{s:s, s:o}", "content_type", "str", "metrics", run_metrics(run));
        /* Too large for one frame: the client has it from the RunContent
         * events, and the row keeps it whole. */
        json_object_set_new(f, "content",
                            with_content ? json_string(run->content ? run->content : "")
                                         : json_null());
        if (!with_content)
            json_object_set_new(f, "content_omitted", json_true());
        json_t *pd = run_provider_data(run->reply_id);
        if (pd != NULL)
            json_object_set_new(f, "model_provider_data", pd);
        if (run->session_state != NULL && json_object_size(run->session_state) > 0)
            json_object_set_new(f, "session_state", json_deep_copy(run->session_state));
        if (run->metadata != NULL) /* RunCompletedEvent.metadata, as Agno sends it */
            json_object_set_new(f, "metadata", json_deep_copy(run->metadata));
        return f;
    }
    if (run->status == RUN_STATUS_CANCELLED)
        return cancel_fields(run, with_content);
    json_t *f = json_pack("{s:s, s:s}", "content", run->end_text ? run->end_text : "the run failed",
                          "error_type", run->error_type ? run->error_type : "internal_error");
    return f;
}

/* The one way out: the final event, then the row, then the sink's end. */
void run_finish(run_t *run, run_status_t status, const char *text)
{
    if (run->phase == PHASE_FINISH)
        return;
    run->phase = PHASE_FINISH;
    run->status = status;
    run_clock_stop(run);
    if (text != NULL && run->end_text == NULL)
        run->end_text = strdup(text);
    const char *name = status == RUN_STATUS_COMPLETED   ? "RunCompleted"
                       : status == RUN_STATUS_CANCELLED ? "RunCancelled"
                                                        : "RunError";
    if (emit(run, name, final_fields(run, 1)) == RUN_SINK_TOO_LARGE)
        emit(run, name, final_fields(run, 0));
    if (status == RUN_STATUS_ERROR)
        log_json(LOG_WARN, "run failed",
                 json_pack("{s:s, s:s, s:s}", "run_id", run->run_id, "workspace_id", run->ws,
                           "error", run->end_text ? run->end_text : ""));
    run_store_finish(run, on_finished);
}

/* The system message and the conversation so far. */
static void build_messages(run_t *run)
{
    run->messages = json_array();
    if (run->agent->instructions != NULL && run->agent->instructions[0] != '\0')
        json_array_append_new(run->messages, json_pack("{s:s, s:s}", "role", "system", "content",
                                                       run->agent->instructions));
    if (run->history != NULL)
        json_array_extend(run->messages, run->history);
    json_t *user = run_message("user", run->message);
    json_array_append(run->messages, user);
    json_array_append_new(run->run_messages, user);
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
    build_messages(run);
    run->phase = PHASE_MODEL;
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
    run->phase = PHASE_SETUP;
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
    case PHASE_SETUP:
        /* The setup job cannot be called back; its completion finishes. */
        if (!run->cancel_pending && run->end_text == NULL)
            run->end_text = strdup(reason);
        run->cancel_pending = 1;
        break;
    case PHASE_MODEL:
        run_model_cancel(run);
        run_finish(run, RUN_STATUS_CANCELLED, reason);
        break;
    case PHASE_TOOLS:
        run_tools_cancel(run);
        run_finish(run, RUN_STATUS_CANCELLED, reason);
        break;
    case PHASE_FINISH:
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
    if (run->phase == PHASE_MODEL)
        run_model_resume(run);
}

run_status_t run_status(const run_t *run)
{
    return run->status;
}

json_t *run_object(const run_t *run)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:I, s:s, s:o, s:O, s:O, "
        "s:{s:s}}",
        "run_id", run->run_id, "agent_id", run->agent->id, "agent_name",
        run->agent->name ? run->agent->name : run->agent->id, "session_id", run->session_id,
        "user_id", run->user, "content", str_or_null(run->content ? run->content : run->end_text),
        "content_type", "str", "model", run->agent->model.id, "model_provider",
        run_provider_name(run), "created_at", (json_int_t)run->created_at, "status",
        run_status_name(run->status), "metrics", run_metrics(run), "messages", run->run_messages,
        "tools", run->tools_log, "input", "input_content", run->message);
    if (o != NULL)
        json_object_set_new(o, "session_state",
                            run->session_state ? json_deep_copy(run->session_state)
                                               : json_object());
    if (o != NULL)
        json_object_set_new(o, "metadata",
                            run->metadata ? json_deep_copy(run->metadata) : json_null());
    json_t *pd = run_provider_data(run->reply_id);
    if (o != NULL && pd != NULL)
        json_object_set_new(o, "model_provider_data", pd);
    else
        json_decref(pd);
    return o;
}
