/* What the model sees of earlier runs: the user and assistant messages of
 * the session's newest completed runs, their tool calls and tool results
 * included (as Agno sends them), in the neutral message shape (model.h).
 * A provider refuses a tool result without its call (and OpenAI a call
 * without its result), so a run whose tool traffic does not pair up is
 * left out whole. */
#include <stdlib.h>
#include <string.h>

#include "agent/run_internal.h"

/* A message as the model gets it: only the keys the request builders read. */
static json_t *history_message(const json_t *m)
{
    const char *role = json_string_value(json_object_get(m, "role"));
    const json_t *content = json_object_get(m, "content");
    if (role == NULL)
        return NULL;
    json_t *out = json_pack("{s:s, s:s}", "role", role, "content",
                            json_is_string(content) ? json_string_value(content) : "");
    if (out == NULL)
        return NULL;
    /* jansson's getter gives a non-const borrowed value, so out can share it. */
    json_t *calls = json_object_get(m, "tool_calls");
    if (strcmp(role, "assistant") == 0 && json_is_array(calls) && json_array_size(calls) > 0)
        json_object_set(out, "tool_calls", calls);
    const char *id = json_string_value(json_object_get(m, "tool_call_id"));
    if (strcmp(role, "tool") == 0 && id != NULL)
        json_object_set_new(out, "tool_call_id", json_string(id));
    return out;
}

/* 1 when every tool call of msgs has its result right after it (before
 * the next assistant or user message) and every result has its call. */
static int tool_traffic_pairs(const json_t *msgs)
{
    json_t *open = json_object(); /* call ids waiting for their result */
    int ok = open != NULL;
    size_t i, j;
    json_t *m, *tc;
    json_array_foreach(msgs, i, m)
    {
        if (!ok)
            break;
        const char *role = json_string_value(json_object_get(m, "role"));
        if (strcmp(role, "tool") == 0) {
            const char *id = json_string_value(json_object_get(m, "tool_call_id"));
            ok = id != NULL && json_object_get(open, id) != NULL;
            if (ok)
                json_object_del(open, id);
            continue;
        }
        ok = json_object_size(open) == 0; /* the previous calls are all answered */
        json_array_foreach(json_object_get(m, "tool_calls"), j, tc)
        {
            const char *id = json_string_value(json_object_get(tc, "id"));
            const char *name = json_string_value(json_object_get(tc, "name"));
            if (id == NULL || *id == '\0' || name == NULL || *name == '\0' ||
                json_object_get(open, id) != NULL)
                ok = 0;
            else
                json_object_set_new(open, id, json_true());
        }
    }
    ok = ok && json_object_size(open) == 0;
    json_decref(open);
    return ok;
}

/* One run's messages for the model, or NULL when it is left out. */
static json_t *run_part(const json_t *row)
{
    run_status_t status;
    if (run_status_parse(json_string_value(json_object_get(row, "status")), &status) != 0 ||
        status != RUN_STATUS_COMPLETED)
        return NULL;
    json_t *out = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(row, "messages"), i, m)
    {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (role == NULL || (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0 &&
                             strcmp(role, "tool") != 0))
            continue; /* the system message is this run's own */
        const char *text = json_string_value(json_object_get(m, "content"));
        if (strcmp(role, "assistant") != 0 && strcmp(role, "tool") != 0 &&
            (text == NULL || *text == '\0'))
            continue;
        json_t *hm = history_message(m);
        const char *hc = json_string_value(json_object_get(hm, "content"));
        if (hm != NULL && strcmp(role, "assistant") == 0 && *hc == '\0' &&
            json_object_get(hm, "tool_calls") == NULL) {
            json_decref(hm); /* an empty answer says nothing */
            continue;
        }
        if (hm == NULL || json_array_append_new(out, hm) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    if (json_array_size(out) == 0 || !tool_traffic_pairs(out)) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static size_t json_bytes(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    size_t n = s != NULL ? strlen(s) : (size_t)-1;
    free(s);
    return n;
}

json_t *run_history_build(const json_t *rows, int max_runs, size_t max_bytes)
{
    json_t *parts = json_array(); /* newest first */
    size_t bytes = 0;
    for (size_t i = json_array_size(rows); i-- > 0 && parts != NULL;) {
        if (max_runs >= 0 && json_array_size(parts) >= (size_t)max_runs)
            break;
        json_t *part = run_part(json_array_get(rows, i));
        if (part == NULL)
            continue;
        size_t n = json_bytes(part);
        if (n == (size_t)-1 || n > max_bytes - bytes || bytes > max_bytes) {
            json_decref(part); /* an older run would not fit either: history ends here */
            break;
        }
        bytes += n;
        json_array_append_new(parts, part);
    }
    json_t *out = json_array();
    for (size_t i = json_array_size(parts); out != NULL && i-- > 0;)
        json_array_extend(out, json_array_get(parts, i));
    json_decref(parts);
    return out;
}
