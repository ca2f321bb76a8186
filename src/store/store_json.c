/* Rows as JSON: which columns hold JSON, decoding column text, and reading
 * the string fields of an input object. */
#include <string.h>

#include "store/store_internal.h"

/* Stored as jsonb on PostgreSQL, as JSON text on SQLite; returned as JSON
 * values on both. */
static const char *const json_columns[] = {
    "session_state", "metadata", "input", "messages", "tools", "metrics", NULL,
};

int store_json_column(const char *name)
{
    for (int i = 0; json_columns[i] != NULL; i++) {
        if (strcmp(name, json_columns[i]) == 0)
            return 1;
    }
    return 0;
}

json_t *store_json_value(const char *name, const char *text)
{
    if (text == NULL)
        return json_null();
    if (!store_json_column(name))
        return json_string(text);
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    /* Only the store writes these columns, so bad JSON means someone else
     * did: hand it back as the text it is rather than lose it. */
    return v != NULL ? v : json_string(text);
}

int store_json_str(const json_t *obj, const char *key, const char **out)
{
    json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    return 0;
}

json_t *store_json_first(json_t *rows)
{
    json_t *row = json_array_size(rows) > 0 ? json_incref(json_array_get(rows, 0)) : NULL;
    json_decref(rows);
    return row;
}

store_rc_t store_one_row(store_rc_t rc, json_t *rows, store_rc_t if_none, json_t **out)
{
    json_t *row = rc == STORE_OK ? store_json_first(rows) : NULL;
    if (rc == STORE_OK && row == NULL)
        rc = if_none;
    if (out != NULL && rc == STORE_OK)
        *out = row;
    else
        json_decref(row);
    return rc;
}

store_rc_t store_get_row(store_conn_t *c, const char *ws, const char *tmpl, const char *id,
                         json_t **out)
{
    if (out != NULL)
        *out = NULL;
    store_rc_t rc = store_check(c, ws);
    if (rc != STORE_OK)
        return rc;
    if (id == NULL)
        return STORE_ERROR;
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, tmpl);
    store_sql_text(&q, ws);
    store_sql_text(&q, id);
    json_t *rows;
    rc = store_sql_exec(c, &q, &rows, NULL);
    return store_one_row(rc, rows, STORE_NOT_FOUND, out);
}
