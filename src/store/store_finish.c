/* The finish write of a run, from its record (store_finish.h). It runs
 * live (the run's first try, then the finisher's retries) and at start-up
 * (journal replay): the same code, so a replayed row equals a live one. */
#include <string.h>

#include "core/run_status.h"
#include "store/store_finish.h"
#include "store/store_internal.h"

#define ID_MAX 1024 /* far above any id the API admits: a bound, not a rule */

static const char *str_of(const json_t *rec, const char *key)
{
    return json_string_value(json_object_get(rec, key));
}

/* name is status s (the row's text column, read through the table). */
static int status_is(const char *name, run_status_t s)
{
    run_status_t got;
    return run_status_parse(name, &got) == 0 && got == s;
}

static int id_ok(const json_t *rec, const char *key, int required)
{
    json_t *v = json_object_get(rec, key);
    if (v == NULL || json_is_null(v))
        return !required;
    size_t n = json_string_length(v);
    return json_is_string(v) && n > 0 && n <= ID_MAX;
}

static int tokens_ok(const json_t *rec, const char *key)
{
    json_t *v = json_object_get(rec, key);
    return v == NULL || (json_is_integer(v) && json_integer_value(v) >= 0);
}

int store_finish_check(const json_t *rec)
{
    static const char *const required[] = {"workspace_id", "run_id", "session_id", "status", NULL};
    static const char *const optional[] = {"agent_id",       "user_id", "model",
                                           "model_provider", "day",     NULL};
    if (!json_is_object(rec))
        return -1;
    for (int i = 0; required[i] != NULL; i++)
        if (!id_ok(rec, required[i], 1))
            return -1;
    for (int i = 0; optional[i] != NULL; i++)
        if (!id_ok(rec, optional[i], 0))
            return -1;
    json_t *content = json_object_get(rec, "content");
    if (content != NULL && !json_is_string(content) && !json_is_null(content))
        return -1;
    return tokens_ok(rec, "input_tokens") && tokens_ok(rec, "output_tokens") ? 0 : -1;
}

/* 1 when the row still waits for its end: RUNNING, PENDING, or marked
 * interrupted by a sweep that could not know the end was on its way. */
static store_rc_t row_open(store_conn_t *c, const char *ws, const char *run_id, int *open)
{
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT status, content FROM {S}runs WHERE workspace_id = ? AND run_id = ?");
    store_sql_text(&q, ws);
    store_sql_text(&q, run_id);
    json_t *rows = NULL;
    store_rc_t rc = store_sql_exec(c, &q, &rows, NULL);
    if (rc != STORE_OK)
        return rc;
    json_t *row = json_array_get(rows, 0);
    const char *status = json_string_value(json_object_get(row, "status"));
    const char *content = json_string_value(json_object_get(row, "content"));
    if (row == NULL)
        rc = STORE_NOT_FOUND;
    else if (status == NULL || run_status_name_is_open(status))
        *open = 1;
    else
        *open = status_is(status, RUN_STATUS_ERROR) && content != NULL &&
                strcmp(content, STORE_INTERRUPTED_TEXT) == 0;
    json_decref(rows);
    return rc;
}

static store_rc_t write_all(store_conn_t *c, const json_t *rec)
{
    const char *ws = str_of(rec, "workspace_id"), *status = str_of(rec, "status");
    json_t *patch = json_pack("{s:s}", "status", status);
    static const char *const keys[] = {"content", "messages", "tools", "metrics", NULL};
    for (int i = 0; patch != NULL && keys[i] != NULL; i++) {
        json_t *v = json_object_get(rec, keys[i]);
        if (v != NULL)
            json_object_set(patch, keys[i], v);
    }
    if (patch == NULL)
        return STORE_ERROR;
    store_rc_t rc = store_run_update(c, ws, str_of(rec, "run_id"), patch);
    json_decref(patch);
    long long in = json_integer_value(json_object_get(rec, "input_tokens"));
    long long out = json_integer_value(json_object_get(rec, "output_tokens"));
    if (rc == STORE_OK && in + out > 0)
        rc = store_session_add_tokens(c, ws, str_of(rec, "session_id"), in, out);
    const char *day = str_of(rec, "day");
    if (rc == STORE_OK && day != NULL && !status_is(status, RUN_STATUS_CANCELLED))
        rc = store_usage_add(c, ws, day, str_of(rec, "agent_id"), str_of(rec, "user_id"),
                             str_of(rec, "model"), str_of(rec, "model_provider"), in, out);
    return rc;
}

typedef struct finish_arg {
    const json_t *rec;
} finish_arg_t;

static store_rc_t finish_unit(store_conn_t *c, void *data)
{
    const json_t *rec = ((finish_arg_t *)data)->rec;
    int open = 0;
    store_rc_t rc = row_open(c, str_of(rec, "workspace_id"), str_of(rec, "run_id"), &open);
    if (rc == STORE_OK && open)
        rc = write_all(c, rec);
    return rc;
}

store_rc_t store_finish_write(store_conn_t *c, const json_t *rec)
{
    if (store_finish_check(rec) != 0)
        return STORE_ERROR;
    store_rc_t rc = store_check(c, str_of(rec, "workspace_id"));
    if (rc != STORE_OK)
        return rc;
    /* Its own transaction, or a savepoint in a batch of finishes. */
    finish_arg_t arg = {rec};
    return store_in_tx(c, finish_unit, &arg);
}
