#include <string.h>

#include "api/views.h"
#include "core/timeutil.h"

json_t *view_time(const json_t *ms)
{
    if (!json_is_integer(ms))
        return json_null();
    char iso[TIMEUTIL_ISO_LEN];
    timeutil_iso8601((uint64_t)json_integer_value(ms) * 1000u, iso);
    return json_string(iso);
}

/* Copies the named fields of row (null when missing). */
static void copy_fields(json_t *dst, const json_t *row, const char *const *keys)
{
    for (size_t i = 0; keys[i] != NULL; i++) {
        json_t *v = json_object_get(row, keys[i]);
        json_object_set_new(dst, keys[i], v ? json_deep_copy(v) : json_null());
    }
}

static const char *const session_keys[] = {
    "session_id", "session_name", "session_state", "session_type", "user_id",
    "agent_id",   "total_tokens", "metadata",      "workspace_id", NULL};

json_t *view_session(const json_t *row)
{
    json_t *v = json_object();
    copy_fields(v, row, session_keys);
    json_object_set_new(v, "created_at", view_time(json_object_get(row, "created_at")));
    json_object_set_new(v, "updated_at", view_time(json_object_get(row, "updated_at")));
    return v;
}

/* The messages of the runs given, oldest first: what a chat client replays. */
static json_t *chat_history(const json_t *runs)
{
    json_t *history = json_array();
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run)
    {
        json_t *msgs = json_object_get(run, "messages");
        if (json_is_array(msgs))
            json_array_extend(history, msgs);
    }
    return history;
}

json_t *view_session_detail(const json_t *row, const json_t *runs, long long runs_count)
{
    json_t *v = view_session(row);
    json_object_set_new(v, "agent_session_id", json_deep_copy(json_object_get(v, "session_id")));
    json_object_set_new(v, "chat_history", chat_history(runs));
    json_object_set_new(v, "runs_count", json_integer((json_int_t)runs_count));
    return v;
}

static const char *const run_keys[] = {"run_id", "session_id", "agent_id",       "user_id",
                                       "status", "content",    "metrics",        "messages",
                                       "tools",  "model",      "model_provider", NULL};

json_t *view_run(const json_t *row)
{
    json_t *v = json_object();
    copy_fields(v, row, run_keys);
    json_t *input = json_object_get(row, "input");
    json_t *text = json_is_object(input) ? json_object_get(input, "input_content") : NULL;
    json_object_set_new(v, "run_input", text ? json_deep_copy(text) : json_null());
    json_object_set_new(v, "created_at", view_time(json_object_get(row, "created_at")));
    json_object_set_new(v, "updated_at", view_time(json_object_get(row, "updated_at")));
    return v;
}

json_t *view_runs(const json_t *rows)
{
    json_t *out = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) json_array_append_new(out, view_run(row));
    return out;
}
