/* Anthropic Messages, streamed. The neutral messages are reshaped: system
 * text goes to its own field, tool calls and results become content
 * blocks, and roles must alternate, so neighbours of one role merge. */
#include <stdlib.h>
#include <string.h>

#include "agent/model.h"
#include "agent/model_internal.h"
#include "agent/model_scan.h"

#define ANTHROPIC_DEFAULT_MAX_TOKENS 4096

/* ---- request ---- */

static int anthropic_text_block(json_t *blocks, const char *text)
{
    /* The API refuses empty text blocks. */
    if (!text || !text[0])
        return 0;
    return json_array_append_new(blocks, json_pack("{s:s, s:s}", "type", "text", "text", text));
}

/* A tool_use block's input must be an object; arguments are JSON text. */
static json_t *anthropic_input(json_t *args)
{
    json_t *obj = NULL;
    if (json_is_string(args))
        obj = json_loadb(json_string_value(args), json_string_length(args), 0, NULL);
    else if (json_is_object(args))
        obj = json_incref(args);
    if (json_is_object(obj))
        return obj;
    json_decref(obj);
    return json_object();
}

static int anthropic_tool_uses(json_t *blocks, const json_t *calls)
{
    size_t i;
    const json_t *tc;
    json_array_foreach(calls, i, tc)
    {
        const char *id, *name;
        json_t *args;
        if (model_tool_call_fields(tc, &id, &name, &args) != 0)
            return -1;
        json_t *b = json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id", id, "name", name,
                              "input", anthropic_input(args));
        if (json_array_append_new(blocks, b) != 0)
            return -1;
    }
    return 0;
}

static int anthropic_parts(json_t *blocks, const json_t *content)
{
    if (json_is_string(content))
        return anthropic_text_block(blocks, json_string_value(content));
    /* OpenAI-style parts: only text parts have an equivalent here. */
    size_t i;
    const json_t *part;
    json_array_foreach(content, i, part)
    {
        if (!strcmp(model_json_str(part, "type", ""), "text") &&
            anthropic_text_block(blocks, model_json_str(part, "text", NULL)) != 0)
            return -1;
    }
    return 0;
}

static json_t *anthropic_blocks(const json_t *m, const char *role)
{
    json_t *blocks = json_array();
    int rc = -1;
    if (!strcmp(role, "user")) {
        rc = anthropic_parts(blocks, json_object_get(m, "content"));
    } else if (!strcmp(role, "assistant")) {
        rc = anthropic_parts(blocks, json_object_get(m, "content"));
        if (rc == 0)
            rc = anthropic_tool_uses(blocks, json_object_get(m, "tool_calls"));
    } else if (!strcmp(role, "tool")) {
        const char *id = model_json_str(m, "tool_call_id", NULL);
        const char *content = model_json_str(m, "content", "");
        json_t *b = id ? json_pack("{s:s, s:s}", "type", "tool_result", "tool_use_id", id) : NULL;
        if (b && content[0])
            json_object_set_new(b, "content", json_string(content));
        rc = json_array_append_new(blocks, b);
    }
    if (rc != 0) {
        json_decref(blocks);
        return NULL;
    }
    return blocks;
}

/* Appends a message, or merges its blocks into the last one of the same
 * role (tool results and a following user turn become one user turn). */
static int anthropic_push(json_t *msgs, const char *role, json_t *blocks)
{
    size_t n = json_array_size(msgs);
    json_t *last = n ? json_array_get(msgs, n - 1) : NULL;
    if (last && !strcmp(model_json_str(last, "role", ""), role)) {
        int rc = json_array_extend(json_object_get(last, "content"), blocks);
        json_decref(blocks);
        return rc;
    }
    return json_array_append_new(msgs, json_pack("{s:s, s:o}", "role", role, "content", blocks));
}

static int anthropic_system(buf_t *sys, const json_t *m)
{
    const char *text = model_json_str(m, "content", "");
    if (!text[0])
        return 0;
    if (buf_len(sys) && buf_append_str(sys, "\n\n") != BUF_OK)
        return -1;
    return buf_append_str(sys, text) != BUF_OK ? -1 : 0;
}

static int anthropic_messages(json_t *msgs, buf_t *sys, const json_t *messages)
{
    size_t i;
    const json_t *m;
    json_array_foreach(messages, i, m)
    {
        const char *role = model_json_str(m, "role", "");
        if (!strcmp(role, "system") || !strcmp(role, "developer")) {
            if (anthropic_system(sys, m) != 0)
                return -1;
            continue;
        }
        json_t *blocks = anthropic_blocks(m, role);
        if (!blocks)
            return -1;
        if (json_array_size(blocks) == 0) { /* nothing the API would accept */
            json_decref(blocks);
            continue;
        }
        if (anthropic_push(msgs, strcmp(role, "assistant") ? "user" : "assistant", blocks) != 0)
            return -1;
    }
    return 0;
}

static json_t *anthropic_tools(const json_t *tools)
{
    json_t *arr = json_array();
    size_t i;
    const json_t *t;
    json_array_foreach(tools, i, t)
    {
        const char *name = model_json_str(t, "name", NULL);
        const char *desc = model_json_str(t, "description", NULL);
        json_t *params = json_object_get(t, "parameters");
        json_t *tool = name ? json_pack("{s:s}", "name", name) : NULL;
        if (tool && desc)
            json_object_set_new(tool, "description", json_string(desc));
        if (tool)
            json_object_set_new(tool, "input_schema",
                                json_is_object(params)
                                    ? json_incref(params)
                                    : json_pack("{s:s, s:{}}", "type", "object", "properties"));
        if (json_array_append_new(arr, tool) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static int anthropic_options(json_t *body, const model_config_t *cfg, const buf_t *sys,
                             const json_t *tools)
{
    int rc = 0;
    if (buf_len(sys))
        rc = json_object_set_new(body, "system", json_string(buf_ptr(sys)));
    if (rc == 0 && json_is_array(tools) && json_array_size(tools) > 0) {
        json_t *arr = anthropic_tools(tools);
        rc = arr ? json_object_set_new(body, "tools", arr) : -1;
    }
    if (rc == 0 && cfg->has_temperature)
        rc = json_object_set_new(body, "temperature", json_real(cfg->temperature));
    return rc;
}

static json_t *anthropic_body(const model_config_t *cfg, const json_t *messages,
                              const json_t *tools)
{
    if (!cfg->id)
        return NULL;
    buf_t sys;
    buf_init(&sys, MODEL_MAX_SYSTEM_TEXT);
    json_t *msgs = json_array();
    if (!msgs || anthropic_messages(msgs, &sys, messages) != 0) {
        json_decref(msgs);
        buf_free(&sys);
        return NULL;
    }
    int max_tokens = cfg->max_tokens > 0 ? cfg->max_tokens : ANTHROPIC_DEFAULT_MAX_TOKENS;
    json_t *body = json_pack("{s:s, s:i, s:o, s:b}", "model", cfg->id, "max_tokens", max_tokens,
                             "messages", msgs, "stream", 1);
    if (body && anthropic_options(body, cfg, &sys, tools) != 0) {
        json_decref(body);
        body = NULL;
    }
    buf_free(&sys);
    return body;
}

static struct curl_slist *anthropic_headers(const char *api_key)
{
    static const char *const fixed[] = {"content-type: application/json",
                                        "accept: text/event-stream",
                                        "anthropic-version: 2023-06-01"};
    return model_headers(fixed, 3, "x-api-key: ", api_key);
}

/* ---- stream ---- */

/* Cached prompt tokens are counted apart from input_tokens; a run's
 * tokens in are the whole prompt, so they are added back. */
static void anthropic_usage(model_stream_t *s, const json_t *usage)
{
    if (!json_is_object(usage))
        return;
    const json_t *in = json_object_get(usage, "input_tokens");
    if (in)
        s->input_tokens = model_json_int(in) +
                          model_json_int(json_object_get(usage, "cache_creation_input_tokens")) +
                          model_json_int(json_object_get(usage, "cache_read_input_tokens"));
    const json_t *out = json_object_get(usage, "output_tokens");
    if (out)
        s->output_tokens = model_json_int(out); /* a running total, not a delta */
}

static int anthropic_block_start(model_stream_t *s, const json_t *root)
{
    const json_t *block = json_object_get(root, "content_block");
    const char *type = model_json_str(block, "type", "");
    if (!strcmp(type, "text")) {
        const json_t *t = json_object_get(block, "text");
        return json_is_string(t) ? model_stream_text(s, json_string_value(t), json_string_length(t))
                                 : 0;
    }
    if (strcmp(type, "tool_use") != 0)
        return 0; /* thinking, server tools: nothing the run loop acts on */
    model_slot_t *slot =
        model_stream_slot(s, (long)model_json_int(json_object_get(root, "index")), 1);
    if (!slot)
        return -1;
    const char *id = model_json_str(block, "id", ""), *name = model_json_str(block, "name", "");
    if (model_stream_put_id(s, slot, id, strlen(id)) != 0 ||
        model_stream_put_name(s, slot, name, strlen(name)) != 0)
        return -1;
    const json_t *input = json_object_get(block, "input");
    if (!json_is_object(input) || json_object_size(input) == 0)
        return 0;
    /* Input given whole at the start (not what streaming does today). */
    char *dump = json_dumps(input, JSON_COMPACT);
    int rc = dump ? model_stream_put_args(s, slot, dump, strlen(dump))
                  : model_stream_fail(s, "out of memory reading the model's reply");
    free(dump);
    slot->args_from_start = 1;
    return rc;
}

static int anthropic_block_delta(model_stream_t *s, const json_t *root)
{
    const json_t *delta = json_object_get(root, "delta");
    const char *type = model_json_str(delta, "type", "");
    if (!strcmp(type, "text_delta")) {
        const json_t *t = json_object_get(delta, "text");
        return json_is_string(t) ? model_stream_text(s, json_string_value(t), json_string_length(t))
                                 : 0;
    }
    if (!strcmp(type, "thinking_delta")) { /* not kept, but the model at work */
        s->progress += json_string_length(json_object_get(delta, "thinking"));
        return 0;
    }
    if (strcmp(type, "input_json_delta") != 0)
        return 0;
    /* A block we do not assemble (a server tool's) has no slot. */
    model_slot_t *slot =
        model_stream_slot(s, (long)model_json_int(json_object_get(root, "index")), 0);
    const json_t *part = json_object_get(delta, "partial_json");
    if (!slot || !json_is_string(part))
        return 0;
    if (slot->args_from_start) {
        s->total -= buf_len(&slot->args);
        buf_reset(&slot->args);
        slot->args_from_start = 0;
    }
    return model_stream_put_args(s, slot, json_string_value(part), json_string_length(part));
}

/* Anthropic's stop reasons, in the words model_result uses (OpenAI's). */
static const char *anthropic_stop(const char *r)
{
    if (!strcmp(r, "end_turn") || !strcmp(r, "stop_sequence"))
        return "stop";
    if (!strcmp(r, "max_tokens"))
        return "length";
    if (!strcmp(r, "tool_use"))
        return "tool_calls";
    return r;
}

static int anthropic_message_delta(model_stream_t *s, const json_t *root)
{
    anthropic_usage(s, json_object_get(root, "usage"));
    const char *r = model_json_str(json_object_get(root, "delta"), "stop_reason", NULL);
    return r ? model_stream_set_stop(s, anthropic_stop(r)) : 0;
}

static int anthropic_error(model_stream_t *s, const json_t *root)
{
    char *msg = model_error_from_json(root);
    const char *text = msg ? msg : "unknown error";
    model_stream_fail_text(s, "the model provider reported an error: ", text, strlen(text));
    free(msg);
    return -1;
}

static int anthropic_dispatch(model_stream_t *s, const char *type, const json_t *root)
{
    if (!strcmp(type, "message_start")) {
        const json_t *msg = json_object_get(root, "message");
        model_stream_set_response_id(s, model_json_str(msg, "id", NULL));
        anthropic_usage(s, json_object_get(msg, "usage"));
        return 0;
    }
    if (!strcmp(type, "content_block_start"))
        return anthropic_block_start(s, root);
    if (!strcmp(type, "content_block_delta"))
        return anthropic_block_delta(s, root);
    if (!strcmp(type, "message_delta"))
        return anthropic_message_delta(s, root);
    if (!strcmp(type, "message_stop")) {
        s->done = 1;
        return 0;
    }
    if (!strcmp(type, "error"))
        return anthropic_error(s, root);
    return 0; /* ping, content_block_stop, and types added later */
}

static int anthropic_event(model_stream_t *s, const char *event, const char *data, size_t len)
{
    if (s->done)
        return 0;
    /* Most events are a text delta: read without a jansson tree. */
    model_scan_t sc;
    if (model_scan_anthropic(data, len, &s->scan, &sc))
        return model_stream_scanned(s, &sc);
    json_t *root = json_loadb(data, len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        if (!strcmp(event, "error"))
            return model_stream_fail_text(s, "the model provider reported an error: ", data, len);
        return model_stream_fail(s, "the model provider sent a malformed stream event");
    }
    /* The data's own type, as a proxy may drop the event: lines. */
    int rc = anthropic_dispatch(s, model_json_str(root, "type", event), root);
    json_decref(root);
    return rc;
}

static void anthropic_forbid_tools(json_t *body)
{
    json_object_set_new(body, "tool_choice", json_pack("{s:s}", "type", "none"));
}

static const model_provider_name_t anthropic_names[] = {
    {"anthropic", "Anthropic", "Claude", NULL, "https://api.anthropic.com/v1", "ANTHROPIC_BASE_URL",
     "ANTHROPIC_API_KEY"},
};

const model_provider_t model_provider_anthropic = {
    .url_path = "/messages",
    .caps = MODEL_CAP_TOOLS | MODEL_CAP_STREAM_USAGE | MODEL_CAP_MAX_TOKENS,
    .body = anthropic_body,
    .forbid_tools = anthropic_forbid_tools,
    .headers = anthropic_headers,
    .on_event = anthropic_event,
    .names = anthropic_names,
    .nnames = sizeof(anthropic_names) / sizeof(anthropic_names[0]),
};
