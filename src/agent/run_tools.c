/* A model turn's tool calls: all started at once (HTTP tools run
 * concurrently on the loop's curl multi), each reported as it ends; when
 * the last one is in, their results go back to the model. A failed tool is
 * a result the model reads, never the end of the run. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/run_internal.h"
#include "agent/tools_builtin.h"

#define TOOL_RESULT_MAX (64 * 1024)

json_t *run_tool_schemas(const agent_def_t *agent)
{
    json_t *out = json_array();
    for (size_t i = 0; i < agent->ntools; i++) {
        const tool_def_t *t = &agent->tools[i];
        json_t *schema =
            t->kind == TOOL_BUILTIN
                ? tools_builtin_schema(t->name)
                : json_pack("{s:s, s:s, s:O}", "name", t->name, "description",
                            t->description ? t->description : "", "parameters", t->parameters);
        if (schema != NULL)
            json_array_append_new(out, schema);
    }
    return out;
}

static const tool_def_t *find_tool(const agent_def_t *agent, const char *name)
{
    for (size_t i = 0; i < agent->ntools; i++)
        if (strcmp(agent->tools[i].name, name) == 0)
            return &agent->tools[i];
    return NULL;
}

/* Agno's ToolExecution.to_dict: every key, the ones we never fill null. */
static const char *const tool_null_keys[] = {"child_run_id",
                                             "requires_confirmation",
                                             "confirmed",
                                             "confirmation_note",
                                             "requires_user_input",
                                             "user_input_schema",
                                             "user_feedback_schema",
                                             "answered",
                                             "external_execution_required",
                                             "external_execution_silent",
                                             "approval_type",
                                             "approval_id",
                                             "parent_tool_call_id",
                                             NULL};

static json_t *tool_json(const tool_exec_t *e, int with_result)
{
    json_error_t jerr;
    json_t *args = json_loads(e->args, JSON_DECODE_ANY, &jerr);
    json_t *t = json_pack("{s:s, s:s, s:o}", "tool_call_id", e->id, "tool_name", e->name,
                          "tool_args", args ? args : json_string(e->args));
    if (t == NULL)
        return NULL;
    if (with_result) {
        json_object_set_new(t, "tool_call_error", json_boolean(e->is_error));
        json_object_set_new(t, "result", json_string(e->result ? e->result : ""));
        json_object_set_new(t, "metrics",
                            json_pack("{s:f, s:f, s:f}", "start_time", e->start_time, "end_time",
                                      e->end_time, "duration", e->end_time - e->start_time));
    } else {
        json_object_set_new(t, "tool_call_error", json_null());
        json_object_set_new(t, "result", json_null());
        json_object_set_new(t, "metrics", json_null());
    }
    json_object_set_new(t, "stop_after_tool_call", json_false());
    json_object_set_new(t, "created_at", json_integer((json_int_t)e->start_time));
    for (const char *const *k = tool_null_keys; *k != NULL; k++)
        json_object_set_new(t, *k, json_null());
    return t;
}

/* UTF-8 characters, as Python's len counts them. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* One argument as Python's str() would print it. malloc'd. */
static char *arg_text(const json_t *v)
{
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_true(v))
        return strdup("True");
    if (json_is_false(v))
        return strdup("False");
    if (json_is_null(v))
        return strdup("None");
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Agno's FunctionCall.get_call_str on an 80-column terminal. A call wider
 * than that is shown as name(...), so its text needs no more bytes than 80
 * characters take in UTF-8 (4 each): that is the buffer's limit. */
#define CALL_STR_WIDTH 80
#define CALL_STR_MAX (4 * CALL_STR_WIDTH)

/* The arguments, "k=v, k2=v2", each string longer than max_arg as "...". */
static buf_rc_t call_args(buf_t *out, json_t *args, size_t max_arg)
{
    const char *key;
    json_t *v;
    const char *sep = "";
    json_object_foreach(args, key, v)
    {
        char *text = json_is_string(v) && utf8_chars(json_string_value(v)) > max_arg ? strdup("...")
                                                                                     : arg_text(v);
        buf_rc_t rc = text != NULL ? buf_printf(out, "%s%s=%s", sep, key, text) : BUF_NOMEM;
        free(text);
        if (rc != BUF_OK)
            return rc;
        sep = ", ";
    }
    return BUF_OK;
}

char *run_tool_call_str(const char *name, const char *args_json)
{
    size_t name_len = utf8_chars(name);
    size_t max_arg = name_len + 4 < CALL_STR_WIDTH ? (CALL_STR_WIDTH - name_len - 4) / 2 : 0;
    if (max_arg < 20)
        max_arg = 20;
    json_t *args = json_loads(args_json ? args_json : "", JSON_DECODE_ANY, NULL);
    buf_t out;
    buf_init(&out, CALL_STR_MAX);
    buf_rc_t rc = buf_printf(&out, "%s(", name);
    if (rc == BUF_OK)
        rc = call_args(&out, args, max_arg);
    if (rc == BUF_OK)
        rc = buf_append_str(&out, ")");
    json_decref(args);
    if (rc == BUF_NOMEM || rc == BUF_FORMAT)
        return NULL; /* the failed call freed out */
    if (rc == BUF_OK && utf8_chars(buf_ptr(&out)) <= CALL_STR_WIDTH)
        return buf_take(&out, NULL);
    buf_free(&out);
    size_t n = strlen(name) + 6;
    char *wide = malloc(n);
    if (wide != NULL)
        snprintf(wide, n, "%s(...)", name);
    return wide;
}

/* ToolCallCompleted, and ToolCallError after it for a failed call, as Agno
 * sends them: the Completed content says what ran and for how long. */
static void report_done(run_t *run, const tool_exec_t *e)
{
    char *call = run_tool_call_str(e->name, e->args);
    char tail[64];
    snprintf(tail, sizeof(tail), " completed in %.4fs. ", e->end_time - e->start_time);
    json_t *f = json_pack("{s:o}", "tool", tool_json(e, 1));
    if (f != NULL && call != NULL) {
        size_t n = strlen(call) + strlen(tail) + 1;
        char *content = malloc(n);
        if (content != NULL) {
            snprintf(content, n, "%s%s", call, tail);
            json_object_set_new(f, "content", json_string(content));
            free(content);
        }
    }
    free(call);
    run_emit(run, "ToolCallCompleted", f);
    if (e->is_error && run->fail_text == NULL)
        run_emit(
            run, "ToolCallError",
            json_pack("{s:o, s:s}", "tool", tool_json(e, 1), "error", e->result ? e->result : ""));
}

static void exec_free(tool_exec_t *e)
{
    free(e->id);
    free(e->name);
    free(e->args);
    free(e->result);
    buf_free(&e->body);
}

static void free_execs(run_t *run)
{
    for (size_t i = 0; i < run->nexecs; i++)
        exec_free(&run->execs[i]);
    free(run->execs);
    run->execs = NULL;
    run->nexecs = run->pending_execs = 0;
}

/* Every result is in: they join the conversation in call order. */
static void all_done(run_t *run)
{
    for (size_t i = 0; i < run->nexecs; i++) {
        tool_exec_t *e = &run->execs[i];
        json_t *m = run_message("tool", e->result);
        json_object_set_new(m, "tool_call_id", json_string(e->id));
        json_object_set_new(m, "tool_name", json_string(e->name));
        json_array_append(run->messages, m);
        json_array_append_new(run->run_messages, m);
        json_array_append_new(run->tools_log, tool_json(e, 1));
    }
    free_execs(run);
    run_tools_done(run);
}

static void complete(tool_exec_t *e, char *result, int is_error)
{
    run_t *run = e->run;
    e->result = result ? result : strdup("");
    e->is_error = is_error;
    e->end_time = run_now();
    e->done = 1;
    report_done(run, e);
}

/* printf-style, so that the compiler checks each call's format. */
__attribute__((format(printf, 1, 2))) static char *error_text(const char *fmt, ...)
{
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return strdup(buf);
}

/* ---- HTTP tools ---- */

static int on_tool_data(void *ud, const char *buf, size_t len)
{
    tool_exec_t *e = ud;
    /* Past the limit the answer is cut, not refused: the model reads what fits. */
    size_t room = TOOL_RESULT_MAX - buf_len(&e->body);
    if (len > room) {
        e->truncated = 1;
        len = room;
    }
    return buf_append(&e->body, buf, len) == BUF_OK ? 0 : 1;
}

static void on_tool_done(void *ud, http_call_result_t result, long status, const char *err,
                         const char *body, size_t body_len)
{
    tool_exec_t *e = ud;
    run_t *run = e->run;
    e->call = NULL;
    if (result == HTTP_CALL_OK) {
        complete(e, buf_take(&e->body, NULL), 0);
    } else if (result == HTTP_CALL_HTTP_ERROR) {
        char code[32], excerpt[300];
        snprintf(code, sizeof(code), "%ld", status);
        snprintf(excerpt, sizeof(excerpt), "%.*s", (int)(body_len < 299 ? body_len : 299),
                 body ? body : "");
        complete(e, error_text("Error: the tool answered HTTP %s: %s", code, excerpt), 1);
    } else {
        complete(e, error_text("Error: the tool could not be called: %s", err ? err : ""), 1);
    }
    if (--run->pending_execs == 0)
        all_done(run);
}

/* GET and DELETE carry the arguments in the URL, the others as JSON. */
static int query_method(const char *method)
{
    return method != NULL && (strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0);
}

static struct curl_slist *tool_headers(const run_t *run, const tool_def_t *t)
{
    char line[512];
    /* A bodiless DELETE goes through curl's POST path: the empty
     * Content-Type keeps curl from adding its form type. */
    struct curl_slist *h = curl_slist_append(
        NULL, query_method(t->method) ? "Content-Type:" : "Content-Type: application/json");
    snprintf(line, sizeof(line), "X-Workspace-Id: %s", run->ws);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "X-User-Id: %s", run->user);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "X-Run-Id: %s", run->run_id);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "X-Session-Id: %s", run->session_id);
    h = curl_slist_append(h, line);
    for (size_t i = 0; i < t->nheaders; i++) {
        snprintf(line, sizeof(line), "%s: %s", t->headers[i].name,
                 t->headers[i].value ? t->headers[i].value : "");
        h = curl_slist_append(h, line);
    }
    return h;
}

/* The call's URL: the tool's, or for GET and DELETE the tool's with the
 * arguments as its query. NULL when the exec is complete (an error). */
static char *call_url(tool_exec_t *e, const tool_def_t *t, json_t *args)
{
    int too_long = 0;
    char *url =
        query_method(t->method) ? run_tool_query_url(t->url, args, &too_long) : strdup(t->url);
    if (url == NULL && too_long)
        complete(e,
                 error_text("Error: the arguments do not fit in the tool's URL (at most %zu "
                            "bytes with its query); send shorter values",
                            RUN_TOOL_URL_MAX),
                 1);
    else if (url == NULL)
        complete(e, strdup("Error: out of memory"), 1);
    return url;
}

/* 0 when the call went out; otherwise the exec is complete (an error). */
static int start_http_tool(tool_exec_t *e, const tool_def_t *t)
{
    run_t *run = e->run;
    json_t *args = json_loads(e->args, 0, NULL);
    if (!json_is_object(args)) {
        json_decref(args);
        complete(e, strdup("Error: the arguments are not a JSON object"), 1);
        return -1;
    }
    char *url = call_url(e, t, args);
    json_decref(args);
    if (url == NULL)
        return -1;
    int query = query_method(t->method);
    http_call_opts_t opts = {
        .method = t->method ? t->method : "POST",
        .url = url,
        .headers = tool_headers(run, t),
        .body = query ? NULL : strdup(e->args),
        .body_len = query ? 0 : strlen(e->args),
        .connect_timeout_ms = 5000,
        .stall_timeout_s = 30,
        .total_timeout_ms = t->timeout_ms > 0 ? t->timeout_ms : 10000,
    };
    http_call_cbs_t cbs = {.on_data = on_tool_data, .on_done = on_tool_done, .ud = e};
    e->call = http_client_start(run->env.http, &opts, &cbs);
    free(url); /* the call keeps its own copy */
    if (e->call == NULL) {
        complete(e, strdup("Error: the tool call could not start"), 1);
        return -1;
    }
    return 0;
}

/* Starts one call; 1 when it runs on, 0 when it completed at once. */
static int start_one(tool_exec_t *e)
{
    run_t *run = e->run;
    const tool_def_t *t = find_tool(run->agent, e->name);
    if (run->tool_calls_used >= run->agent->tool_call_limit) {
        complete(e, strdup("Error: the tool call limit of this run is reached"), 1);
        return 0;
    }
    run->tool_calls_used++;
    if (t == NULL) {
        complete(e, error_text("Error: there is no tool named %s", e->name), 1);
        return 0;
    }
    if (t->kind == TOOL_BUILTIN) {
        int is_error = 0;
        char *out = tools_builtin_call(t->name, e->args, run->ws, run->user, &is_error);
        complete(e, out, is_error);
        return 0;
    }
    return start_http_tool(e, t) == 0;
}

void run_tools_start(run_t *run, model_result_t *res)
{
    run->execs = calloc(res->ntool_calls, sizeof(tool_exec_t));
    if (run->execs == NULL) {
        run_finish(run, RUN_STATUS_ERROR, "out of memory");
        return;
    }
    run->nexecs = res->ntool_calls;
    for (size_t i = 0; i < run->nexecs; i++) {
        tool_exec_t *e = &run->execs[i];
        e->run = run;
        buf_init(&e->body, TOOL_RESULT_MAX);
        e->id = strdup(res->tool_calls[i].id ? res->tool_calls[i].id : "");
        e->name = strdup(res->tool_calls[i].name ? res->tool_calls[i].name : "");
        e->args = strdup(res->tool_calls[i].arguments ? res->tool_calls[i].arguments : "{}");
        if (e->id == NULL || e->name == NULL || e->args == NULL) {
            run_finish(run, RUN_STATUS_ERROR, "out of memory");
            return;
        }
        e->start_time = run_now();
        run_emit(run, "ToolCallStarted", json_pack("{s:o}", "tool", tool_json(e, 0)));
    }
    /* Counted before any can finish, so an early completion cannot see zero. */
    run->pending_execs = run->nexecs + 1;
    for (size_t i = 0; i < run->nexecs; i++)
        if (!start_one(&run->execs[i]))
            run->pending_execs--;
    if (--run->pending_execs == 0)
        all_done(run);
}

void run_tools_cancel(run_t *run)
{
    for (size_t i = 0; i < run->nexecs; i++)
        if (run->execs[i].call != NULL)
            http_call_cancel(run->execs[i].call);
    free_execs(run);
}
