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
