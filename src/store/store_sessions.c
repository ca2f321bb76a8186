/* Sessions: one row each, keyed by (workspace_id, session_id). Every
 * statement filters on the workspace, so the same session id in two
 * workspaces is two unrelated rows; the *_all_workspaces reads at the end
 * are the operator's exception, and they only read. */
#include <string.h>

#include "store/store_internal.h"

#define DEFAULT_LIMIT 20

store_rc_t store_session_create(store_conn_t *c, const char *ws, const json_t *session,
                                json_t **out)
{
    const char *id, *type, *agent, *user, *name;
    if (out != NULL)
        *out = NULL;
    store_rc_t rc = store_check(c, ws);
    if (rc != STORE_OK)
        return rc;
    if (!json_is_object(session) || store_json_str(session, "session_id", &id) || id == NULL ||
        id[0] == '\0' || store_json_str(session, "session_type", &type) ||
        store_json_str(session, "agent_id", &agent) || store_json_str(session, "user_id", &user) ||
        store_json_str(session, "session_name", &name))
        return STORE_ERROR;
    long long now = (long long)store_now_ms();
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "INSERT INTO {S}sessions (workspace_id, session_id, session_type, agent_id,"
                      " user_id, session_name, session_state, metadata, total_tokens, created_at,"
                      " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)"
                      " ON CONFLICT (workspace_id, session_id) DO NOTHING");
    /* The whole row only for a caller that wants it: a run's setup does
     * not, and building it decoded every JSON column again. */
    store_sql_add(&q, out != NULL ? " RETURNING *" : " RETURNING session_id");
    store_sql_text(&q, ws);
    store_sql_text(&q, id);
    store_sql_text(&q, type != NULL ? type : "agent");
    store_sql_text(&q, agent);
    store_sql_text(&q, user);
    store_sql_text(&q, name);
    store_sql_json(&q, json_object_get(session, "session_state"));
    store_sql_json(&q, json_object_get(session, "metadata"));
    store_sql_int(&q, now);
    store_sql_int(&q, now);
    json_t *rows;
    rc = store_sql_write(c, &q, &rows, NULL);
    return store_one_row(rc, rows, STORE_CONFLICT, out);
}

store_rc_t store_session_get(store_conn_t *c, const char *ws, const char *session_id, json_t **out)
{
    return store_get_row(c, ws,
                         "SELECT * FROM {S}sessions WHERE workspace_id = ? AND session_id = ?",
                         session_id, out);
}

/* The WHERE clause shared by the page and its count; ws NULL: every
 * workspace (the operator's reads only). */
static void list_filters(store_sql_t *q, const char *ws, const store_session_query_t *f)
{
    if (ws != NULL) {
        store_sql_add(q, " FROM {S}sessions WHERE workspace_id = ?");
        store_sql_text(q, ws);
    } else {
        store_sql_add(q, " FROM {S}sessions WHERE 1 = 1");
    }
    if (f->session_type != NULL) {
        store_sql_add(q, " AND session_type = ?");
        store_sql_text(q, f->session_type);
    }
    if (f->component_id != NULL) {
        store_sql_add(q, " AND agent_id = ?");
        store_sql_text(q, f->component_id);
    }
    if (f->user_id != NULL) {
        store_sql_add(q, " AND user_id = ?");
        store_sql_text(q, f->user_id);
    }
    if (f->session_name != NULL) {
        store_sql_add(q, " AND session_name ");
        store_sql_add(q, q->s->be->ilike);
        store_sql_add(q, " ? ESCAPE '!'");
        store_sql_like(q, f->session_name);
    }
}

/* Only these reach the ORDER BY: a column name cannot be a parameter. */
static const char *sort_column(const char *sort_by)
{
    static const char *const allowed[] = {"created_at", "updated_at", "session_name", NULL};
    for (int i = 0; sort_by != NULL && allowed[i] != NULL; i++) {
        if (strcmp(sort_by, allowed[i]) == 0)
            return allowed[i];
    }
    return "created_at";
}

static store_rc_t list_count(store_conn_t *c, const char *ws, const store_session_query_t *f,
                             long long *total)
{
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT count(*) AS total");
    list_filters(&q, ws, f);
    json_t *rows;
    store_rc_t rc = store_sql_exec(c, &q, &rows, NULL);
    if (rc == STORE_OK)
        *total = json_integer_value(json_object_get(json_array_get(rows, 0), "total"));
    json_decref(rows);
    return rc;
}

static store_rc_t list_page(store_conn_t *c, const char *ws, const store_session_query_t *f,
                            json_t **rows)
{
    const char *dir = f->sort_desc ? " DESC" : " ASC";
    long long limit = f->limit > 0 ? f->limit : DEFAULT_LIMIT;
    long long page = f->page > 0 ? f->page : 1;
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT *");
    list_filters(&q, ws, f);
    const char *col = sort_column(f->sort_by);
    store_sql_add(&q, " ORDER BY ");
    store_sql_add(&q, col);
    store_sql_add(&q, dir);
    /* Rows without a name sort last either way, on both back ends (the
     * times are NOT NULL: no NULLS clause, which would keep PostgreSQL off
     * the index); the id breaks ties so pages never overlap, and across
     * workspaces the workspace after it, as the v4 indexes hold them. */
    if (strcmp(col, "session_name") == 0)
        store_sql_add(&q, " NULLS LAST");
    store_sql_add(&q, ", session_id");
    store_sql_add(&q, dir);
    if (ws == NULL) {
        store_sql_add(&q, ", workspace_id");
        store_sql_add(&q, dir);
    }
    store_sql_add(&q, " LIMIT ? OFFSET ?");
    store_sql_int(&q, limit);
    store_sql_int(&q, (page - 1) * limit);
    return store_sql_exec(c, &q, rows, NULL);
}

/* ws NULL: every workspace. */
static store_rc_t list(store_conn_t *c, const char *ws, const store_session_query_t *q,
                       json_t **rows, long long *total)
{
    static const store_session_query_t defaults = {0};
    store_rc_t rc;
    if (q == NULL)
        q = &defaults;
    rc = list_page(c, ws, q, rows);
    if (rc == STORE_OK && total != NULL)
        rc = list_count(c, ws, q, total);
    if (rc != STORE_OK) {
        json_decref(*rows);
        *rows = NULL;
    }
    return rc;
}

store_rc_t store_session_list(store_conn_t *c, const char *ws, const store_session_query_t *q,
                              json_t **rows, long long *total)
{
    *rows = NULL;
    if (total != NULL)
        *total = 0;
    store_rc_t rc = store_check(c, ws);
    return rc == STORE_OK ? list(c, ws, q, rows, total) : rc;
}

store_rc_t store_session_update(store_conn_t *c, const char *ws, const char *session_id,
                                const json_t *patch, json_t **out)
{
    const char *name;
    if (out != NULL)
        *out = NULL;
    store_rc_t rc = store_check(c, ws);
    if (rc != STORE_OK)
        return rc;
    if (session_id == NULL || !json_is_object(patch) ||
        store_json_str(patch, "session_name", &name))
        return STORE_ERROR;
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "UPDATE {S}sessions SET updated_at = ?");
    store_sql_int(&q, (long long)store_now_ms());
    if (json_object_get(patch, "session_name") != NULL) {
        store_sql_add(&q, ", session_name = ?");
        store_sql_text(&q, name);
    }
    static const char *const json_keys[] = {"session_state", "metadata", NULL};
    for (int i = 0; json_keys[i] != NULL; i++) {
        json_t *v = json_object_get(patch, json_keys[i]);
        if (v == NULL)
            continue;
        store_sql_add(&q, i == 0 ? ", session_state = ?" : ", metadata = ?");
        store_sql_json(&q, v);
    }
    store_sql_add(&q, " WHERE workspace_id = ? AND session_id = ? RETURNING *");
    store_sql_text(&q, ws);
    store_sql_text(&q, session_id);
    json_t *rows;
    rc = store_sql_write(c, &q, &rows, NULL);
    return store_one_row(rc, rows, STORE_NOT_FOUND, out);
}

/* In the caller's transaction. *n: sessions deleted (0 or 1). type not
 * NULL: only a session of that type (its runs go with it, or stay). */
static store_rc_t delete_one(store_conn_t *c, const char *ws, const char *id, const char *type,
                             long long *n)
{
    static const char *const tables[] = {"DELETE FROM {S}runs", "DELETE FROM {S}sessions"};
    store_rc_t rc = STORE_OK;
    for (int i = 0; i < 2 && rc == STORE_OK; i++) {
        store_sql_t q;
        store_sql_init(&q, c->store);
        store_sql_add(&q, tables[i]);
        store_sql_add(&q, " WHERE workspace_id = ? AND session_id = ?");
        store_sql_text(&q, ws);
        store_sql_text(&q, id);
        if (type != NULL) {
            store_sql_add(&q, " AND EXISTS (SELECT 1 FROM {S}sessions AS s WHERE"
                              " s.workspace_id = ? AND s.session_id = ? AND s.session_type = ?)");
            store_sql_text(&q, ws);
            store_sql_text(&q, id);
            store_sql_text(&q, type);
        }
        rc = store_sql_exec(c, &q, NULL, n);
    }
    return rc;
}

store_rc_t store_session_delete(store_conn_t *c, const char *ws, const char *session_id)
{
    size_t deleted = 0;
    store_rc_t rc = store_sessions_delete(c, ws, &session_id, 1, &deleted);
    return rc == STORE_OK && deleted == 0 ? STORE_NOT_FOUND : rc;
}

store_rc_t store_sessions_delete(store_conn_t *c, const char *ws, const char *const *ids, size_t n,
                                 size_t *deleted)
{
    return store_sessions_delete_typed(c, ws, ids, NULL, n, deleted);
}

store_rc_t store_sessions_delete_typed(store_conn_t *c, const char *ws, const char *const *ids,
                                       const char *const *types, size_t n, size_t *deleted)
{
    if (deleted != NULL)
        *deleted = 0;
    store_rc_t rc = store_check(c, ws);
    if (rc != STORE_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == NULL)
            return STORE_ERROR;
    }
    size_t count = 0;
    rc = store_tx_begin(c);
    for (size_t i = 0; i < n && rc == STORE_OK; i++) {
        long long one = 0;
        rc = delete_one(c, ws, ids[i], types != NULL ? types[i] : NULL, &one);
        count += one > 0;
    }
    if (rc == STORE_OK)
        rc = store_tx_commit(c);
    else
        store_tx_rollback(c);
    if (rc == STORE_OK && deleted != NULL)
        *deleted = count;
    return rc;
}

store_rc_t store_session_add_tokens(store_conn_t *c, const char *ws, const char *session_id,
                                    long long input_tokens, long long output_tokens)
{
    store_rc_t rc = store_check(c, ws);
    if (rc != STORE_OK)
        return rc;
    if (session_id == NULL)
        return STORE_ERROR;
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "UPDATE {S}sessions SET total_tokens = total_tokens + ?,"
                      " input_tokens = input_tokens + ?, output_tokens = output_tokens + ?,"
                      " updated_at = ? WHERE workspace_id = ? AND session_id = ?");
    store_sql_int(&q, input_tokens + output_tokens);
    store_sql_int(&q, input_tokens);
    store_sql_int(&q, output_tokens);
    store_sql_int(&q, (long long)store_now_ms());
    store_sql_text(&q, ws);
    store_sql_text(&q, session_id);
    long long changed = 0;
    rc = store_sql_write(c, &q, NULL, &changed);
    return rc == STORE_OK && changed == 0 ? STORE_NOT_FOUND : rc;
}

/* ---- operator reads across every workspace: never an end user's ---- */

/* The check at the top of an operator read: a connection, no workspace. */
static store_rc_t check_conn(const store_conn_t *c)
{
    return c != NULL && c->db != NULL ? STORE_OK : STORE_UNAVAILABLE;
}

store_rc_t store_session_list_all_workspaces(store_conn_t *c, const store_session_query_t *q,
                                             json_t **rows, long long *total)
{
    *rows = NULL;
    if (total != NULL)
        *total = 0;
    store_rc_t rc = check_conn(c);
    return rc == STORE_OK ? list(c, NULL, q, rows, total) : rc;
}

store_rc_t store_session_find_all_workspaces(store_conn_t *c, const char *session_id, json_t **rows)
{
    *rows = NULL;
    store_rc_t rc = check_conn(c);
    if (rc != STORE_OK)
        return rc;
    if (session_id == NULL)
        return STORE_ERROR;
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT * FROM {S}sessions WHERE session_id = ? ORDER BY workspace_id"
                      " LIMIT ?");
    store_sql_text(&q, session_id);
    store_sql_int(&q, STORE_FIND_MAX);
    return store_sql_exec(c, &q, rows, NULL);
}
