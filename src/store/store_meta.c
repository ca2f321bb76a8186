/* os_meta: a few values of the service itself (the os_id), shared by every
 * replica on one database. Like run_owners, not workspace data: nothing here
 * reads or returns a workspace's rows. */
#include <string.h>

#include "store/store_internal.h"

static store_rc_t meta_insert(store_conn_t *c, const char *key, const char *value)
{
    store_sql_t q;
    store_sql_init(&q, c->store);
    /* DO NOTHING: a replica that got there first keeps its value. */
    store_sql_add(&q, "INSERT INTO {S}os_meta (key, value) VALUES (?, ?)"
                      " ON CONFLICT (key) DO NOTHING");
    store_sql_text(&q, key);
    store_sql_text(&q, value);
    return store_sql_write(c, &q, NULL, NULL);
}

static store_rc_t meta_read(store_conn_t *c, const char *key, char out[STORE_META_VALUE_MAX + 1])
{
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT value FROM {S}os_meta WHERE key = ?");
    store_sql_text(&q, key);
    json_t *rows = NULL;
    store_rc_t rc = store_sql_exec(c, &q, &rows, NULL);
    if (rc != STORE_OK)
        return rc;
    const char *v = json_string_value(json_object_get(json_array_get(rows, 0), "value"));
    if (v == NULL)
        rc = STORE_NOT_FOUND;
    else if (strlen(v) > STORE_META_VALUE_MAX)
        rc = STORE_ERROR;
    else
        memcpy(out, v, strlen(v) + 1);
    json_decref(rows);
    return rc;
}

store_rc_t store_meta_get_or_set(store_conn_t *c, const char *key, const char *candidate,
                                 char out[STORE_META_VALUE_MAX + 1])
{
    if (c == NULL || c->db == NULL)
        return STORE_UNAVAILABLE;
    if (key == NULL || candidate == NULL || candidate[0] == '\0' ||
        strlen(candidate) > STORE_META_VALUE_MAX)
        return STORE_ERROR;
    store_rc_t rc = meta_insert(c, key, candidate);
    return rc == STORE_OK ? meta_read(c, key, out) : rc;
}
