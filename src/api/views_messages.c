/* A run's stored messages as Agno 3.1.10's Message.to_dict shows them.
 * The store keeps the history builder's form (tool calls as {id, name,
 * arguments}, tool results with tool_call_id and tool_name): it feeds the
 * next run's history and is never rewritten, so the Agno form is made here,
 * on the pool thread that renders the reply. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/views.h"

json_t *view_openai_call(const json_t *tc)
{
    const json_t *fn = json_object_get(tc, "function");
    const json_t *src = json_is_object(fn) ? fn : tc;
    json_t *args = json_object_get(src, "arguments"); /* non-const: text shares it */
    json_t *text = NULL;
    if (json_is_string(args))
        text = json_incref(args);
    else if (args != NULL && !json_is_null(args)) {
        char *dump = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
        text = dump ? json_string(dump) : NULL;
        free(dump);
    }
    return json_pack("{s:O?, s:s, s:{s:O?, s:o}}", "id", json_object_get(tc, "id"), "type",
                     "function", "function", "name", json_object_get(src, "name"), "arguments",
                     text ? text : json_string("{}"));
}

/* The stored call with this id among the run's assistant messages. */
static const json_t *call_named(const json_t *msgs, const char *id)
{
    size_t i, j;
    const json_t *m, *tc;
    json_array_foreach(msgs, i, m)
    {
        json_array_foreach(json_object_get(m, "tool_calls"), j, tc)
        {
            const char *tid = json_string_value(json_object_get(tc, "id"));
            if (tid != NULL && strcmp(tid, id) == 0)
                return tc;
        }
    }
    return NULL;
}

/* The arguments of a call as an object (Agno's tool_args); NULL when they
 * are not a JSON object. */
static json_t *call_args(const json_t *tc)
{
    const json_t *args = json_object_get(tc, "arguments");
    if (json_is_object(args))
        return json_deep_copy(args);
    if (!json_is_string(args))
        return NULL;
    json_t *v = json_loadb(json_string_value(args), json_string_length(args), 0, NULL);
    if (json_is_object(v))
        return v;
    json_decref(v);
    return NULL;
}

/* Whether the tools log marks this call as failed. */
static int call_failed(const json_t *tools, const char *id)
{
    size_t i;
    const json_t *t;
    json_array_foreach(tools, i, t)
    {
        const char *tid = json_string_value(json_object_get(t, "tool_call_id"));
        if (tid != NULL && strcmp(tid, id) == 0)
            return json_is_true(json_object_get(t, "tool_call_error"));
    }
    return 0;
}

static void tool_result_fields(json_t *out, const json_t *msgs, const json_t *tools)
{
    const char *id = json_string_value(json_object_get(out, "tool_call_id"));
    if (id == NULL)
        return;
    const json_t *tc = call_named(msgs, id);
    json_t *args = tc != NULL ? call_args(tc) : NULL;
    if (args != NULL && json_object_size(args) > 0)
        json_object_set_new(out, "tool_args", args);
    else
        json_decref(args);
    json_object_set_new(out, "tool_call_error", json_boolean(call_failed(tools, id)));
}

/* Message i of a run: an id stable across reads (the run's id and the
 * index: we keep no message ids), from_history false (a run's own
 * messages), OpenAI-form tool calls. */
static json_t *view_message(const json_t *m, size_t i, const char *run_id, const json_t *msgs,
                            const json_t *tools)
{
    json_t *out = json_deep_copy(m);
    if (out == NULL || !json_is_object(out))
        return out;
    char id[160];
    snprintf(id, sizeof id, "%s-%zu", run_id != NULL ? run_id : "run", i);
    json_object_set_new(out, "id", json_string(id));
    json_object_set_new(out, "from_history", json_false());
    const json_t *calls = json_object_get(m, "tool_calls");
    if (json_is_array(calls) && json_array_size(calls) > 0) {
        json_t *list = json_array();
        size_t k;
        json_t *tc;
        json_array_foreach(calls, k, tc) json_array_append_new(list, view_openai_call(tc));
        json_object_set_new(out, "tool_calls", list);
    } else {
        json_object_del(out, "tool_calls");
    }
    const char *role = json_string_value(json_object_get(m, "role"));
    if (role != NULL && strcmp(role, "tool") == 0)
        tool_result_fields(out, msgs, tools);
    return out;
}

json_t *view_messages(const json_t *msgs, const char *run_id, const json_t *tools)
{
    json_t *out = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        json_t *v = view_message(m, i, run_id, msgs, tools);
        if (v != NULL)
            json_array_append_new(out, v);
    }
    return out;
}

void view_run_messages(json_t *run)
{
    const json_t *msgs = json_object_get(run, "messages");
    if (!json_is_array(msgs))
        return;
    json_object_set_new(run, "messages",
                        view_messages(msgs, json_string_value(json_object_get(run, "run_id")),
                                      json_object_get(run, "tools")));
}
