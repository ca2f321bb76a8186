#include <stdlib.h>
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
    /* Agno's schemas: the name is a string and the state an object. */
    if (!json_is_string(json_object_get(v, "session_name")))
        json_object_set_new(v, "session_name", json_string(""));
    if (!json_is_object(json_object_get(v, "session_state")))
        json_object_set_new(v, "session_state", json_object());
    /* The per-model split (Agno's metrics.details) is kept per run, not per
     * session: the run objects carry it. */
    json_object_set_new(
        v, "metrics",
        json_pack(
            "{s:I, s:I, s:I}", "input_tokens",
            (json_int_t)json_integer_value(json_object_get(row, "input_tokens")), "output_tokens",
            (json_int_t)json_integer_value(json_object_get(row, "output_tokens")), "total_tokens",
            (json_int_t)json_integer_value(json_object_get(row, "total_tokens"))));
    json_object_set_new(v, "created_at", view_time(json_object_get(row, "created_at")));
    json_object_set_new(v, "updated_at", view_time(json_object_get(row, "updated_at")));
    return v;
}

/* What a chat client replays: Agno's get_chat_history leaves out system
 * and tool messages. m is already in Agno's form (view_messages). */
static int chat_message(const json_t *m)
{
    const char *role = json_string_value(json_object_get(m, "role"));
    return role != NULL && strcmp(role, "system") != 0 && strcmp(role, "tool") != 0;
}

/* The messages of the runs given, oldest first. */
static json_t *chat_history(const json_t *runs)
{
    json_t *history = json_array();
    size_t i, j;
    json_t *run, *m;
    json_array_foreach(runs, i, run)
    {
        json_t *msgs = view_messages(json_object_get(run, "messages"),
                                     json_string_value(json_object_get(run, "run_id")),
                                     json_object_get(run, "tools"));
        json_array_foreach(msgs, j, m)
        {
            if (chat_message(m))
                json_array_append(history, m);
        }
        json_decref(msgs);
    }
    return history;
}

/* Agno spells the providers it knows with capitals. */
const char *view_provider(const char *p)
{
    return model_provider_agno_name(p);
}

json_t *view_session_detail(const json_t *row, const json_t *runs, long long runs_count,
                            const agent_def_t *agent)
{
    json_t *v = view_session(row);
    json_object_set_new(v, "agent_session_id", json_deep_copy(json_object_get(v, "session_id")));
    json_object_set_new(v, "session_summary", json_null()); /* we make no summaries */
    json_object_set_new(v, "chat_history", chat_history(runs));
    json_object_set_new(v, "runs_count", json_integer((json_int_t)runs_count));
    json_object_set_new(v, "agent_data",
                        agent == NULL ? json_null()
                                      : json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "name",
                                                  agent->name ? agent->name : agent->id, "agent_id",
                                                  agent->id, "model", "name", agent->model_id, "id",
                                                  agent->model_id, "provider",
                                                  view_provider(agent->provider)));
    return v;
}

/* workspace_id too: an operator reading across workspaces must see where
 * each run is, and an end user sees only their own. */
static const char *const run_keys[] = {
    "run_id",   "session_id", "agent_id", "user_id",        "status",       "content", "metrics",
    "messages", "tools",      "model",    "model_provider", "workspace_id", NULL};

/* What Agno adds to every run object that we have no feature for: no
 * nested runs (parent_run_id ""), no session state kept per run. The
 * caller's metadata is the row's. The provider is spelled as Agno does and
 * the messages are in its form. */
static void agno_run_fields(json_t *v, const json_t *row)
{
    json_object_set_new(v, "parent_run_id", json_string("")); /* Agno's from_dict default */
    json_object_set_new(v, "run_response_format", json_string("text"));
    json_object_set_new(v, "session_state", json_object());
    json_t *meta = json_object_get(row, "metadata");
    json_object_set_new(v, "metadata", json_is_object(meta) ? json_deep_copy(meta) : json_null());
    const char *p = json_string_value(json_object_get(v, "model_provider"));
    if (p != NULL)
        json_object_set_new(v, "model_provider", json_string(view_provider(p)));
    view_run_messages(v);
}

json_t *view_run(const json_t *row)
{
    json_t *v = json_object();
    copy_fields(v, row, run_keys);
    agno_run_fields(v, row);
    json_t *input = json_object_get(row, "input");
    json_t *text = json_is_object(input) ? json_object_get(input, "input_content") : NULL;
    json_object_set_new(v, "run_input", text ? json_deep_copy(text) : json_null());
    json_object_set_new(v, "created_at", view_time(json_object_get(row, "created_at")));
    json_object_set_new(v, "updated_at", view_time(json_object_get(row, "updated_at")));
    return v;
}

/* Each row through one view, in order. */
static json_t *view_each(const json_t *rows, json_t *(*view)(const json_t *))
{
    json_t *out = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) json_array_append_new(out, view(row));
    return out;
}

json_t *view_runs(const json_t *rows)
{
    return view_each(rows, view_run);
}

json_t *view_run_output(const json_t *row)
{
    json_t *v = json_object();
    copy_fields(v, row, run_keys);
    agno_run_fields(v, row);
    json_object_set_new(v, "content_type", json_string("str")); /* runs answer text */
    json_t *input = json_object_get(row, "input");
    json_object_set_new(v, "input", json_is_object(input) ? json_deep_copy(input) : json_null());
    /* RunOutput keeps epoch seconds, not ISO text. */
    json_t *ms = json_object_get(row, "created_at");
    json_object_set_new(v, "created_at",
                        json_is_integer(ms) ? json_integer(json_integer_value(ms) / 1000)
                                            : json_null());
    return v;
}

#define PREVIEW_CHARS 280 /* Agno's _RUN_PREVIEW_CHARS */

/* The first PREVIEW_CHARS characters of v (JSON other than a string as its
 * text, as Agno's preview does); NULL for none. */
static json_t *preview_text(const json_t *v)
{
    if (v == NULL || json_is_null(v))
        return NULL;
    char *dump = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *text = dump != NULL ? dump : json_string_value(v);
    if (text == NULL)
        return NULL;
    size_t n = 0, chars = 0;
    while (text[n] != '\0' && chars < PREVIEW_CHARS) {
        n++;
        while (((unsigned char)text[n] & 0xC0) == 0x80) /* the rest of one character */
            n++;
        chars++;
    }
    json_t *out = json_stringn(text, n);
    free(dump);
    return out;
}

static void set_present(json_t *v, const char *key, json_t *value)
{
    if (value != NULL && !json_is_null(value))
        json_object_set_new(v, key, value);
    else
        json_decref(value);
}

json_t *view_run_preview(const json_t *row)
{
    static const char *const keys[] = {"run_id", "agent_id",     "user_id",
                                       "status", "workspace_id", NULL};
    json_t *v = json_object();
    for (size_t i = 0; keys[i] != NULL; i++)
        set_present(v, keys[i], json_deep_copy(json_object_get(row, keys[i])));
    json_t *input = json_object_get(row, "input");
    set_present(
        v, "run_input",
        preview_text(json_is_object(input) ? json_object_get(input, "input_content") : NULL));
    set_present(v, "content_preview", preview_text(json_object_get(row, "content")));
    set_present(v, "created_at", view_time(json_object_get(row, "created_at")));
    json_object_set_new(v, "parent_run_id", json_string("")); /* no nested runs */
    return v;
}

json_t *view_run_previews(const json_t *rows)
{
    return view_each(rows, view_run_preview);
}
