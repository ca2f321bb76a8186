/* One model turn: a streamed call, its deltas as RunContent events, and
 * then either tool calls or the answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/run_internal.h"
#include "core/counters.h"
#include "core/timeutil.h"

#define RUN_CONTENT_CHUNK ((size_t)16 << 10)

/* Where to cut text at most max bytes in: before a UTF-8 continuation
 * byte never, so each piece is valid UTF-8 on its own. */
static size_t utf8_cut(const char *text, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    return n > 0 ? n : max;
}

/* The text of the turns that ended, for RunCancelled: bounded by what the
 * run's model replies may hold in all (the buffer's limit, RUN_STREAMED_MAX).
 * Past it the text is cut there, not dropped. */
static void keep_streamed(run_t *run, const char *text, size_t len)
{
    if (len == 0)
        return;
    size_t room = RUN_STREAMED_MAX - buf_len(&run->streamed);
    if (len > room)
        len = room;
    if (buf_append(&run->streamed, text, len) != BUF_OK)
        return; /* out of memory emptied it: the cancel event says less; the run goes on */
}

/* A turn's text lives once, in its stream, while it streams; as the stream
 * ends it joins the run's (a cancel later in the run still says it). */
static void end_turn_text(run_t *run)
{
    size_t len;
    const char *text = model_stream_text_so_far(run->stream, &len);
    keep_streamed(run, text, len);
}

/* RunContent as a tree, for a sink without on_frame: 0, or -1 for text
 * jansson refuses (not valid UTF-8). */
static int content_event(run_t *run, const char *text, size_t n)
{
    json_t *delta = json_stringn(text, n);
    if (delta == NULL)
        return -1;
    /* reasoning_content "": what Agno sends for a model that does not reason */
    json_t *f = json_pack("{s:o, s:b, s:s, s:s}", "content", delta, "workflow_agent", 0,
                          "content_type", "str", "reasoning_content", "");
    json_t *pd = run_provider_data(model_stream_response_id(run->stream));
    if (f != NULL && pd != NULL)
        json_object_set_new(f, "model_provider_data", pd);
    else
        json_decref(pd);
    run_emit(run, "RunContent", f);
    return 0;
}

/* The same event as JSON text from the run's pre-serialised fields
 * (run_frame.h): the hot path, no jansson tree per delta. */
static int content_frame(run_t *run, const char *text, size_t n)
{
    const run_frame_ids_t ids = {
        .agent_id = run->agent->id,
        .agent_name = run->agent->name ? run->agent->name : run->agent->id,
        .run_id = run->run_id,
        .session_id = run->session_id,
    };
    if (run_frame_content(&run->frame, &ids, (long long)run_now(),
                          model_stream_response_id(run->stream), text, n) != 0)
        return -1;
    run_emit_frame(run, "RunContent", run_frame_data(&run->frame), run_frame_len(&run->frame));
    run_frame_sent(&run->frame);
    return 0;
}

/* One delta may be as large as a model event (1 MiB): it goes out in
 * pieces, so that no RunContent frame comes near the client's SSE cap. */
void run_model_text(void *ud, const char *text, size_t len)
{
    run_t *run = ud;
    if (run->first_token_us == 0)
        run->first_token_us = timeutil_mono_us();
    size_t chunk = run->env.content_chunk > 0 ? run->env.content_chunk : RUN_CONTENT_CHUNK;
    while (len > 0 && run->fail_text == NULL) {
        size_t n = utf8_cut(text, len, chunk);
        int rc =
            run->sink.on_frame != NULL ? content_frame(run, text, n) : content_event(run, text, n);
        if (rc != 0)
            return; /* a broken UTF-8 sequence is the provider's bug; skip the rest */
        text += n;
        len -= n;
    }
}

/* A cancel asked for while curl reads a fast stream in one go lands here
 * (the loop gets no turn until curl returns); a client that has fallen
 * behind pauses the transfer until it drains (run_resume). Only the
 * model's deltas (model_stream_progress) keep the stall watchdog quiet
 * (run_clock.c); comments and empty deltas do not. */
static int on_data(void *ud, const char *buf, size_t len)
{
    run_t *run = ud;
    if (run->cancel_requested || run->fail_text != NULL)
        return 1;
    if (run->sink.backlogged != NULL && run->sink.backlogged(run->sink.ud)) {
        run->paused = 1;
        return HTTP_DATA_PAUSE;
    }
    uint64_t now = uv_now(run->env.loop);
    if (model_stream_bytes(run->stream) == 0) {
        run->last_delta_ms = now; /* the body begins: the stall watch starts */
        if (run->turn_first_us == 0)
            run->turn_first_us = timeutil_mono_us();
    }
    size_t before = model_stream_progress(run->stream);
    int rc = model_stream_feed(run->stream, buf, len) != 0;
    if (model_stream_progress(run->stream) != before)
        run->last_delta_ms = now;
    return rc || run->fail_text != NULL;
}

void run_model_resume(run_t *run)
{
    if (run->call != NULL && run->paused) {
        run->paused = 0;
        run->last_delta_ms = uv_now(run->env.loop); /* the wait was the client's */
        http_call_resume(run->call);
    }
}

/* The assistant's turn as a message, with its tool calls. */
static json_t *assistant_message(const model_result_t *res)
{
    json_t *m = run_message("assistant", res->content);
    if (res->ntool_calls == 0)
        return m;
    json_t *calls = json_array();
    for (size_t i = 0; i < res->ntool_calls; i++)
        json_array_append_new(calls, json_pack("{s:s, s:s, s:s}", "id", res->tool_calls[i].id,
                                               "name", res->tool_calls[i].name, "arguments",
                                               res->tool_calls[i].arguments));
    json_object_set_new(m, "tool_calls", calls);
    return m;
}

static void on_result(run_t *run, model_result_t *res)
{
    run->input_tokens += res->input_tokens;
    run->output_tokens += res->output_tokens;
    json_t *msg = assistant_message(res);
    json_array_append(run->messages, msg);
    json_array_append_new(run->run_messages, msg);
    run_model_done(run, res);
}

/* Agno's ModelRequestStarted, before every model call. */
static void request_started(run_t *run)
{
    run_emit(run, "ModelRequestStarted",
             json_pack("{s:s, s:s}", "model", run->agent->model.id, "model_provider",
                       run_provider_name(run)));
}

/* Agno's ModelRequestCompleted: this call's tokens and its time to the
 * first byte of the answer. */
static void request_completed(run_t *run, const model_result_t *res)
{
    run->model_results++;
    json_t *f =
        json_pack("{s:s, s:s, s:I, s:I, s:I}", "model", run->agent->model.id, "model_provider",
                  run_provider_name(run), "input_tokens", (json_int_t)res->input_tokens,
                  "output_tokens", (json_int_t)res->output_tokens, "total_tokens",
                  (json_int_t)(res->input_tokens + res->output_tokens));
    if (f != NULL && run->turn_first_us != 0)
        json_object_set_new(f, "time_to_first_token",
                            json_real((double)(run->turn_first_us - run->call_start_us) / 1e6));
    if (f != NULL) {
        json_object_set_new(f, "reasoning_tokens", json_integer(0));
        json_object_set_new(f, "cache_read_tokens", json_integer(0));
        json_object_set_new(f, "cache_write_tokens", json_integer(0));
    }
    run_emit(run, "ModelRequestCompleted", f);
}

static char *failure_text(run_t *run, int result, long status, const char *err, const char *body,
                          size_t body_len)
{
    char buf[512];
    switch (result) {
    case HTTP_CALL_HTTP_ERROR: {
        char *msg = model_error_message(&run->agent->model, status, body, body_len);
        if (strncmp(msg, "HTTP ", 5) == 0) /* it names the status already */
            snprintf(buf, sizeof(buf), "model error: %s", msg);
        else
            snprintf(buf, sizeof(buf), "model error (HTTP %ld): %s", status, msg);
        free(msg);
        break;
    }
    case HTTP_CALL_ABORTED: {
        const char *why = model_stream_error(run->stream);
        snprintf(buf, sizeof(buf), "model error: %s", why ? why : "bad stream");
        break;
    }
    default:
        snprintf(buf, sizeof(buf), "%s: %s",
                 model_stream_bytes(run->stream) > 0 ? "the model's stream broke off"
                 : status > 0                        ? "the model stopped answering"
                                                     : "could not reach the model",
                 err ? err : "connection failed");
    }
    return strdup(buf);
}

static void on_done(void *ud, http_call_result_t result, long status, const char *err,
                    const char *body, size_t body_len)
{
    run_t *run = ud;
    run->call = NULL;
    if (run->cancel_requested && result == HTTP_CALL_ABORTED) {
        run_model_cancel(run);
        run_finish(run, RUN_STATUS_CANCELLED, NULL);
        return;
    }
    if (run->fail_text != NULL) { /* an event the client could not take */
        run_model_cancel(run);
        run_finish(run, RUN_STATUS_ERROR, run->fail_text);
        return;
    }
    end_turn_text(run);
    model_result_t res = {0}; /* read only when ok; cppcheck cannot tell */
    char *fail = NULL;
    int ok = 0; /* not fail == NULL: fail's strdup may run out of memory */
    if (result != HTTP_CALL_OK)
        fail = failure_text(run, result, status, err, body, body_len);
    else if (model_stream_finish(run->stream, &res) != 0) {
        const char *why = model_stream_error(run->stream);
        fail = strdup(why ? why : "the model's stream ended early");
    } else
        ok = 1;
    const char *reply_id = model_stream_response_id(run->stream);
    if (ok && reply_id != NULL) {
        free(run->reply_id);
        run->reply_id = strdup(reply_id);
    }
    model_stream_free(run->stream);
    run->stream = NULL;
    counters_model_call(model_provider_index(model_config_provider(&run->agent->model)),
                        ok ? res.input_tokens : 0, ok ? res.output_tokens : 0,
                        timeutil_mono_us() - run->call_start_us);
    if (!ok) {
        run->error_type = "model_provider_error";
        run_finish(run, RUN_STATUS_ERROR, fail ? fail : "model error: out of memory");
        free(fail);
        return;
    }
    request_completed(run, &res);
    on_result(run, &res);
    model_result_free(&res);
}

/* Ends the run whose call's headers could not be built. The key's
 * variable is named, never the key. */
static void fail_headers(run_t *run)
{
    char text[240];
    const char *var = run->agent->api_key_env ? run->agent->api_key_env : "the environment";
    if (model_request_key_check(&run->agent->model) != 0)
        snprintf(text, sizeof(text),
                 "the model's API key (from %.64s) holds a control character: it cannot go in a "
                 "header, so the model was not called",
                 var);
    else
        snprintf(text, sizeof(text), "could not start the model call: out of memory");
    run->error_type = "model_provider_error";
    run_finish(run, RUN_STATUS_ERROR, text);
}

/* The agent's key was missing at start (registry_check_keys warned): the
 * provider would refuse the call, so none is made and none retried. */
static void fail_key_missing(run_t *run)
{
    char text[240];
    snprintf(text, sizeof(text),
             "model key missing: %.64s is not set, so the model was not called (agent %.64s)",
             run->agent->api_key_env ? run->agent->api_key_env : "the key's variable",
             run->agent->id);
    run->error_type = "model_provider_error";
    run_finish(run, RUN_STATUS_ERROR, text);
}

/* 0 when the run may take another model turn; otherwise it is finished. */
static int turn_allowed(run_t *run)
{
    if (run->cancel_requested) {
        run_finish(run, RUN_STATUS_CANCELLED, NULL);
        return -1;
    }
    if (run->fail_text != NULL) {
        run_finish(run, RUN_STATUS_ERROR, run->fail_text);
        return -1;
    }
    if (run->model_turns >= run->agent->max_model_turns) {
        char text[160];
        snprintf(text, sizeof(text),
                 "max_model_turns_exceeded: the run took its %d model turns without an answer",
                 run->agent->max_model_turns);
        run->error_type = "max_model_turns_exceeded";
        run_finish(run, RUN_STATUS_ERROR, text);
        return -1;
    }
    return 0;
}

/* The turn's request body as JSON text; NULL when out of memory. */
static char *turn_body(run_t *run)
{
    /* Past the limit the tools stay declared (Anthropic refuses tool
     * results without them) but the model may not call them. */
    int has_tools = json_array_size(run->tool_schemas) > 0;
    json_t *body =
        model_request_body(&run->agent->model, run->messages, has_tools ? run->tool_schemas : NULL);
    if (body != NULL && has_tools && run->tool_calls_used >= run->agent->tool_call_limit)
        model_request_forbid_tools(&run->agent->model, body);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return text;
}

/* Starts the model call; it takes text and headers (freed here when the
 * call could not start). */
static void turn_call(run_t *run, char *text, struct curl_slist *headers)
{
    const run_env_t *env = &run->env;
    char *url = model_request_url(&run->agent->model);
    model_events_t ev = {.on_text = run_model_text, .ud = run};
    run->stream = model_stream_new(run->agent->model.provider, &ev, env->max_event_bytes);
    model_stream_set_max_reply(run->stream, env->model_max_reply);
    http_call_opts_t opts = {
        .method = "POST",
        .url = url,
        .headers = headers,
        .body = text,
        .body_len = text ? strlen(text) : 0,
        .connect_timeout_ms = env->model_connect_timeout_ms,
        .stall_timeout_s = env->model_stall_timeout_s,
        .max_retries = run->agent->has_retries ? run->agent->retries : env->model_max_retries,
        .retry_base_ms = env->model_retry_base_ms,
        .buffer_size = env->model_buffer_size > 0 ? env->model_buffer_size : RUN_MODEL_BUFFER,
    };
    http_call_cbs_t cbs = {.on_data = on_data, .on_done = on_done, .ud = run};
    run->call = (text && url && run->stream) ? http_client_start(env->http, &opts, &cbs) : NULL;
    if (run->call == NULL && (text == NULL || url == NULL || run->stream == NULL)) {
        curl_slist_free_all(opts.headers);
        free(text);
    }
    free(url);
    if (run->call == NULL) {
        model_stream_free(run->stream);
        run->stream = NULL;
        run->error_type = "model_provider_error";
        run_finish(run, RUN_STATUS_ERROR, "could not start the model call");
    }
}

long run_model_buffer_size(size_t sse_max_buffer)
{
    size_t n = sse_max_buffer / 8;
    return n < 1024 ? 1024 : n > RUN_MODEL_BUFFER ? RUN_MODEL_BUFFER : (long)n;
}

void run_model_turn(run_t *run)
{
    if (turn_allowed(run) != 0)
        return;
    if (run->agent->key_missing) {
        fail_key_missing(run);
        return;
    }
    run->model_turns++;
    request_started(run);
    if (run->fail_text != NULL) {
        run_finish(run, RUN_STATUS_ERROR, run->fail_text);
        return;
    }
    run->call_start_us = timeutil_mono_us();
    run->turn_first_us = 0;
    char *text = turn_body(run);
    struct curl_slist *headers = model_request_headers(&run->agent->model);
    if (headers == NULL) { /* never a call without its auth header */
        free(text);
        fail_headers(run);
        return;
    }
    turn_call(run, text, headers);
}

void run_model_cancel(run_t *run)
{
    if (run->call != NULL)
        http_call_cancel(run->call);
    run->call = NULL;
    end_turn_text(run);
    model_stream_free(run->stream);
    run->stream = NULL;
}
