/* The run's events and shapes as Agno sends them: every frame's common
 * fields, the final event for each status, the metrics and the run object.
 * Built here so that run.c holds only the state machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/run_internal.h"
#include "core/timeutil.h"

static json_t *str_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* Every frame carries these; fields (owned) adds the event's own. The
 * sink's answer: 0 or RUN_SINK_TOO_LARGE. */
static int send_event(run_t *run, const char *name, json_t *fields)
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
    if (send_event(run, name, fields) == RUN_SINK_TOO_LARGE) {
        char text[160];
        snprintf(text, sizeof(text), "event_too_large: a %s event was too large to stream", name);
        run_fail_soon(run, "event_too_large", text);
    }
}

void run_emit_frame(run_t *run, const char *name, const char *json, size_t len)
{
    if (run->sink.on_frame(run->sink.ud, name, json, len) == RUN_SINK_TOO_LARGE) {
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

/* What a cancelled run had said so far. Too large for one frame, it is
 * left out (the client had it in RunContent). */
static json_t *cancel_fields(const run_t *run, int with_content)
{
    json_t *f = json_pack("{s:s}", "reason", run->end_text ? run->end_text : "cancelled");
    if (buf_len(&run->streamed) == 0)
        return f;
    if (with_content)
        json_object_set_new(f, "content",
                            json_stringn(buf_ptr(&run->streamed), buf_len(&run->streamed)));
    else
        json_object_set_new(f, "content_omitted", json_true());
    return f;
}

static json_t *final_fields(const run_t *run, int with_content)
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

/* RunCompleted, RunCancelled or RunError for the run's status; a frame too
 * large for the sink goes again without its content. */
void run_events_final(run_t *run)
{
    const char *name = run->status == RUN_STATUS_COMPLETED   ? "RunCompleted"
                       : run->status == RUN_STATUS_CANCELLED ? "RunCancelled"
                                                             : "RunError";
    if (send_event(run, name, final_fields(run, 1)) == RUN_SINK_TOO_LARGE)
        send_event(run, name, final_fields(run, 0));
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
