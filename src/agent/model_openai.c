/* OpenAI Chat Completions, streamed: also what Ollama, vLLM, llama.cpp's
 * server and OpenRouter speak. The neutral message shape is close to this
 * one, so the mapping is mostly renaming. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "agent/model.h"
#include "agent/model_internal.h"
#include "agent/model_scan.h"

/* ---- request ---- */

static json_t *openai_tool_call(const json_t *tc)
{
    const char *id, *name;
    json_t *args;
    if (model_tool_call_fields(tc, &id, &name, &args) != 0)
        return NULL;
    /* arguments travel as JSON text; a caller may have kept them parsed */
    json_t *text = json_is_string(args) && json_string_length(args) > 0 ? json_incref(args) : NULL;
    if (!text && args && !json_is_string(args) && !json_is_null(args)) {
        char *dump = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
        text = dump ? json_string(dump) : NULL;
        free(dump);
    } else if (!text) {
        text = json_string("{}");
    }
    if (!text)
        return NULL;
    return json_pack("{s:s, s:s, s:{s:s, s:o}}", "id", id, "type", "function", "function", "name",
                     name, "arguments", text);
}

static int openai_assistant(json_t *out, const json_t *m)
{
    const json_t *calls = json_object_get(m, "tool_calls");
    const json_t *content = json_object_get(m, "content");
    int has_calls = json_is_array(calls) && json_array_size(calls) > 0;
    int has_text = json_is_string(content) && json_string_length(content) > 0;
    /* With tool calls and no text, OpenAI wants content null, not "". */
    json_t *c =
        has_text || !has_calls ? json_string(model_json_str(m, "content", "")) : json_null();
    if (json_object_set_new(out, "content", c) != 0 || !has_calls)
        return 0;
    json_t *arr = json_array();
    if (json_object_set_new(out, "tool_calls", arr) != 0)
        return -1;
    size_t i;
    const json_t *tc;
    json_array_foreach(calls, i, tc)
    {
        if (json_array_append_new(arr, openai_tool_call(tc)) != 0)
            return -1;
    }
    return 0;
}

static int openai_plain(json_t *out, const json_t *m)
{
    /* Strings, and arrays of content parts, pass through unchanged. */
    json_t *content = json_object_get(m, "content");
    if (json_is_string(content) || json_is_array(content))
        return json_object_set(out, "content", content);
    return json_object_set_new(out, "content", json_string(""));
}

static json_t *openai_message(const json_t *m)
{
    const char *role = model_json_str(m, "role", NULL);
    if (!role)
        return NULL;
    json_t *out = json_pack("{s:s}", "role", role);
    int rc = -1;
    if (!out)
        return NULL;
    if (strcmp(role, "assistant") == 0) {
        rc = openai_assistant(out, m);
    } else if (strcmp(role, "tool") == 0) {
        const char *id = model_json_str(m, "tool_call_id", NULL);
        rc = id ? json_object_set_new(out, "tool_call_id", json_string(id)) : -1;
        if (rc == 0)
            rc = json_object_set_new(out, "content", json_string(model_json_str(m, "content", "")));
    } else if (!strcmp(role, "system") || !strcmp(role, "user") || !strcmp(role, "developer")) {
        rc = openai_plain(out, m);
    }
    if (rc != 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static json_t *openai_tools(const json_t *tools)
{
    json_t *arr = json_array();
    size_t i;
    const json_t *t;
    json_array_foreach(tools, i, t)
    {
        const char *name = model_json_str(t, "name", NULL);
        json_t *params = json_object_get(t, "parameters");
        json_t *fn = name ? json_pack("{s:s}", "name", name) : NULL;
        const char *desc = model_json_str(t, "description", NULL);
        if (fn && desc)
            json_object_set_new(fn, "description", json_string(desc));
        if (fn)
            json_object_set_new(fn, "parameters",
                                json_is_object(params)
                                    ? json_incref(params)
                                    : json_pack("{s:s, s:{}}", "type", "object", "properties"));
        if (!fn || json_array_append_new(
                       arr, json_pack("{s:s, s:o}", "type", "function", "function", fn)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *openai_body(const model_config_t *cfg, const json_t *messages, const json_t *tools)
{
    if (!cfg->id)
        return NULL;
    json_t *msgs = json_array();
    size_t i;
    const json_t *m;
    json_array_foreach(messages, i, m)
    {
        if (json_array_append_new(msgs, openai_message(m)) != 0) {
            json_decref(msgs);
            return NULL;
        }
    }
    json_t *body = json_pack("{s:s, s:o, s:b, s:{s:b}}", "model", cfg->id, "messages", msgs,
                             "stream", 1, "stream_options", "include_usage", 1);
    if (!body)
        return NULL;
    int rc = 0;
    if (json_is_array(tools) && json_array_size(tools) > 0) {
        json_t *arr = openai_tools(tools);
        rc = arr ? json_object_set_new(body, "tools", arr) : -1;
    }
    if (rc == 0 && cfg->has_temperature)
        rc = json_object_set_new(body, "temperature", json_real(cfg->temperature));
    if (rc == 0 && cfg->max_tokens > 0)
        rc = json_object_set_new(body, "max_tokens", json_integer(cfg->max_tokens));
    if (rc != 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

static struct curl_slist *openai_headers(const char *api_key)
{
    static const char *const fixed[] = {"Content-Type: application/json",
                                        "Accept: text/event-stream"};
    return model_headers(fixed, 2, "Authorization: Bearer ", api_key);
}

/* ---- stream ---- */

/* Which slot a tool-call delta belongs to. OpenAI always sends index; a
 * few compatible servers omit it and send each call whole, so then a new
 * id starts a new call and no id continues the last one. */
static model_slot_t *openai_slot_for(model_stream_t *s, const json_t *tc)
{
    const json_t *ix = json_object_get(tc, "index");
    if (json_is_integer(ix))
        return model_stream_slot(s, (long)json_integer_value(ix), 1);
    const char *id = model_json_str(tc, "id", "");
    model_slot_t *last = s->nslots ? &s->slots[s->nslots - 1] : NULL;
    if (last && (!id[0] || strcmp(buf_ptr(&last->id), id) == 0))
        return last;
    if (last && last->index == LONG_MAX) {
        model_stream_fail(s, "the model provider sent a malformed tool call");
        return NULL;
    }
    return model_stream_slot(s, last ? last->index + 1 : 0, 1);
}

static int openai_tool_delta(model_stream_t *s, const json_t *tc)
{
    model_slot_t *slot = openai_slot_for(s, tc);
    if (!slot)
        return -1;
    const json_t *fn = json_object_get(tc, "function");
    const char *id = model_json_str(tc, "id", "");
    const char *name = model_json_str(fn, "name", "");
    /* id and name come once, first; servers that repeat them repeat them whole. */
    if (id[0] && buf_len(&slot->id) == 0 && model_stream_put_id(s, slot, id, strlen(id)) != 0)
        return -1;
    if (name[0] && buf_len(&slot->name) == 0 &&
        model_stream_put_name(s, slot, name, strlen(name)) != 0)
        return -1;
    const json_t *args = json_object_get(fn, "arguments");
    if (json_is_string(args))
        return model_stream_put_args(s, slot, json_string_value(args), json_string_length(args));
    if (json_is_object(args)) { /* some servers send the arguments parsed */
        char *dump = json_dumps(args, JSON_COMPACT);
        int rc = dump ? model_stream_put_args(s, slot, dump, strlen(dump))
                      : model_stream_fail(s, "out of memory reading the model's reply");
        free(dump);
        return rc;
    }
    return 0;
}

static int openai_choice(model_stream_t *s, const json_t *choice)
{
    const json_t *delta = json_object_get(choice, "delta");
    const json_t *content = json_object_get(delta, "content");
    if (json_is_string(content) &&
        model_stream_text(s, json_string_value(content), json_string_length(content)) != 0)
        return -1;
    /* Reasoning (vLLM, Ollama, DeepSeek) is not kept, but it is the model
     * at work: it keeps the stall watchdog quiet. */
    const json_t *reasoning = json_object_get(delta, "reasoning_content");
    if (!json_is_string(reasoning))
        reasoning = json_object_get(delta, "reasoning");
    if (json_is_string(reasoning))
        s->progress += json_string_length(reasoning);
    const json_t *calls = json_object_get(delta, "tool_calls");
    size_t i;
    const json_t *tc;
    json_array_foreach(calls, i, tc)
    {
        if (openai_tool_delta(s, tc) != 0)
            return -1;
    }
    const char *finish = model_json_str(choice, "finish_reason", NULL);
    return finish ? model_stream_set_stop(s, finish) : 0;
}

static int openai_chunk(model_stream_t *s, const char *event, const json_t *root)
{
    const json_t *err = json_object_get(root, "error");
    if ((err && !json_is_null(err)) || strcmp(event, "error") == 0) {
        char *msg = model_error_from_json(root);
        const char *text = msg ? msg : "unknown error";
        model_stream_fail_text(s, "the model provider reported an error: ", text, strlen(text));
        free(msg);
        return -1;
    }
    model_stream_set_response_id(s, model_json_str(root, "id", NULL));
    const json_t *usage = json_object_get(root, "usage");
    if (json_is_object(usage)) {
        s->input_tokens = model_json_int(json_object_get(usage, "prompt_tokens"));
        s->output_tokens = model_json_int(json_object_get(usage, "completion_tokens"));
    }
    size_t i;
    const json_t *choice;
    json_array_foreach(json_object_get(root, "choices"), i, choice)
    {
        /* Only the first choice: we never ask for n > 1. */
        const json_t *ix = json_object_get(choice, "index");
        if (ix && json_integer_value(ix) != 0)
            continue;
        if (openai_choice(s, choice) != 0)
            return -1;
    }
    return 0;
}

static int openai_event(model_stream_t *s, const char *event, const char *data, size_t len)
{
    if (s->done)
        return 0; /* nothing counts after [DONE] */
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        s->done = 1;
        return 0;
    }
    /* Most events are a plain text delta: read without a jansson tree. */
    model_scan_t sc;
    if (strcmp(event, "error") != 0 && model_scan_openai(data, len, &s->scan, &sc))
        return model_stream_scanned(s, &sc);
    json_t *root = json_loadb(data, len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        if (strcmp(event, "error") == 0)
            return model_stream_fail_text(s, "the model provider reported an error: ", data, len);
        return model_stream_fail(s, "the model provider sent a malformed stream event");
    }
    int rc = openai_chunk(s, event, root);
    json_decref(root);
    return rc;
}

static void openai_forbid_tools(json_t *body)
{
    json_object_set_new(body, "tool_choice", json_string("none"));
}

/* OpenAI's own name, then the servers that speak its protocol. Local
 * servers get no key by default, and none gets OpenAI's key unless the
 * YAML says so. */
static const model_provider_name_t openai_names[] = {
    {"openai", "OpenAI", "OpenAIChat", "OpenAI Chat", "https://api.openai.com/v1",
     "OPENAI_BASE_URL", "OPENAI_API_KEY"},
    {"openai-compatible", "OpenAI", "OpenAILike", NULL, "https://api.openai.com/v1",
     "OPENAI_BASE_URL", "OPENAI_API_KEY"},
    {"ollama", "Ollama", "Ollama", NULL, "http://localhost:11434/v1", NULL, NULL},
    {"vllm", "VLLM", "VLLM", NULL, "http://localhost:8000/v1", NULL, NULL},
    {"llamacpp", "LlamaCpp", "LlamaCpp", NULL, "http://localhost:8080/v1", NULL, NULL},
    {"llama.cpp", "LlamaCpp", "LlamaCpp", NULL, "http://localhost:8080/v1", NULL, NULL},
    {"lmstudio", "LMStudio", "LMStudio", NULL, "http://localhost:1234/v1", NULL, NULL},
    {"openrouter", "OpenRouter", "OpenRouter", NULL, "https://openrouter.ai/api/v1", NULL,
     "OPENROUTER_API_KEY"},
};

const model_provider_t model_provider_openai = {
    .url_path = "/chat/completions",
    .caps = MODEL_CAP_TOOLS | MODEL_CAP_STREAM_USAGE,
    .body = openai_body,
    .forbid_tools = openai_forbid_tools,
    .headers = openai_headers,
    .on_event = openai_event,
    .names = openai_names,
    .nnames = sizeof(openai_names) / sizeof(openai_names[0]),
};
