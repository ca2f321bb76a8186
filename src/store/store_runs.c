/* Runs: rows of their own, keyed by (workspace_id, run_id), each tied to a
 * session of the same workspace (a foreign key that includes the
 * workspace), so a run can never hang off another workspace's session. */
#include "store/store_internal.h"
#include "core/run_status.h"

static const char *const run_text_keys[] = {
    "session_id", "agent_id",       "user_id", "status", "content",
    "model",      "model_provider", "owner",   NULL,
};

store_rc_t store_run_create(store_conn_t *c, const char *ws, const json_t *run, json_t **out)
{
    const char *id, *text[9];
    if (out != NULL)
        *out = NULL;
    store_rc_t rc = store_check(c, ws);
    if (rc != STORE_OK)
        return rc;
    if (!json_is_object(run) || store_json_str(run, "run_id", &id) || id == NULL || !id[0])
        return STORE_ERROR;
    for (int i = 0; run_text_keys[i] != NULL; i++) {
        if (store_json_str(run, run_text_keys[i], &text[i]) != 0)
            return STORE_ERROR;
    }
    if (text[0] == NULL)
        return STORE_ERROR; /* a run belongs to a session */
    if (text[3] == NULL)
        text[3] = run_status_name(RUN_STATUS_PENDING);
    long long now = (long long)store_now_ms();
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "INSERT INTO {S}runs (workspace_id, run_id, session_id, agent_id, user_id,"
                      " status, content, model, model_provider, owner, input, messages, tools,"
                      " metrics, metadata, created_at, updated_at)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                      " ON CONFLICT (workspace_id, run_id) DO NOTHING");
    /* The whole row only for a caller that wants it: a run's setup does
     * not, and building it decoded every JSON column again. */
    store_sql_add(&q, out != NULL ? " RETURNING *" : " RETURNING run_id");
    store_sql_text(&q, ws);
    store_sql_text(&q, id);
    for (int i = 0; run_text_keys[i] != NULL; i++)
        store_sql_text(&q, text[i]);
    store_sql_json(&q, json_object_get(run, "input"));
    store_sql_json(&q, json_object_get(run, "messages"));
    store_sql_json(&q, json_object_get(run, "tools"));
    store_sql_json(&q, json_object_get(run, "metrics"));
    store_sql_json(&q, json_object_get(run, "metadata"));
    store_sql_int(&q, now);
    store_sql_int(&q, now);
    json_t *rows;
    rc = store_sql_write(c, &q, &rows, NULL);
    return store_one_row(rc, rows, STORE_CONFLICT, out);
}

/* Adds ", key = ?" and binds the patch's value; -1 for a bad value. */
static int patch_field(store_sql_t *q, const json_t *patch, const char *key, int is_json)
{
    json_t *v = json_object_get(patch, key);
    const char *s;
    if (v == NULL)
        return 0;
    if (!is_json && store_json_str(patch, key, &s) != 0)
        return -1;
    store_sql_add(q, ", ");
    store_sql_add(q, key);
    store_sql_add(q, " = ?");
    if (is_json)
        store_sql_json(q, v);
    else
        store_sql_text(q, s);
    return 0;
}

store_rc_t store_run_update(store_conn_t *c, const char *ws, const char *run_id,
                            const json_t *patch)
{
    static const char *const keys[] = {"status", "content", "messages", "tools", "metrics", NULL};
    store_rc_t rc = store_check(c, ws);
    if (rc != STORE_OK)
        return rc;
    if (run_id == NULL || !json_is_object(patch) || json_is_null(json_object_get(patch, "status")))
        return STORE_ERROR;
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "UPDATE {S}runs SET updated_at = ?");
    store_sql_int(&q, (long long)store_now_ms());
    for (int i = 0; keys[i] != NULL; i++) {
        if (patch_field(&q, patch, keys[i], i >= 2) != 0) {
            store_sql_free(&q);
            return STORE_ERROR;
        }
    }
    store_sql_add(&q, " WHERE workspace_id = ? AND run_id = ?");
    store_sql_text(&q, ws);
    store_sql_text(&q, run_id);
    long long changed = 0;
    rc = store_sql_write(c, &q, NULL, &changed);
    return rc == STORE_OK && changed == 0 ? STORE_NOT_FOUND : rc;
}

store_rc_t store_run_get(store_conn_t *c, const char *ws, const char *run_id, json_t **out)
{
    return store_get_row(c, ws, "SELECT * FROM {S}runs WHERE workspace_id = ? AND run_id = ?",
                         run_id, out);
}

/* " FROM runs WHERE ..." for the workspace (NULL: every workspace, for the
 * operator's reads only) and the filters of f that are set. */
static void run_filters(store_sql_t *q, const char *ws, const store_run_query_t *f)
{
    if (ws != NULL) {
        store_sql_add(q, " FROM {S}runs WHERE workspace_id = ?");
        store_sql_text(q, ws);
    } else {
        store_sql_add(q, " FROM {S}runs WHERE 1 = 1");
    }
    if (f->session_id != NULL) {
        store_sql_add(q, " AND session_id = ?");
        store_sql_text(q, f->session_id);
    }
    if (f->agent_id != NULL) {
        store_sql_add(q, " AND agent_id = ?");
        store_sql_text(q, f->agent_id);
    }
    if (f->has_created_from) {
        store_sql_add(q, " AND created_at >= ?");
        store_sql_int(q, f->created_from_ms);
    }
    if (f->has_created_to) {
        store_sql_add(q, " AND created_at <= ?");
        store_sql_int(q, f->created_to_ms);
    }
    for (int i = 0; i < f->nstatuses && i < STORE_RUN_STATUSES_MAX; i++) {
        store_sql_add(q, i == 0 ? " AND status IN (?" : ", ?");
        store_sql_text(q, f->statuses[i]);
    }
    if (f->nstatuses > 0)
        store_sql_add(q, ")");
}

/* Every column of a run. */
#define ALL_COLUMNS "*"
/* A preview's: no messages, tools or metrics, and the content cut where
 * Agno cuts it (SQL's substr counts characters on both back ends). */
#define PREVIEW_COLUMNS                                                                            \
    "workspace_id, run_id, session_id, agent_id, user_id, status, input, created_at,"              \
    " substr(content, 1, 280) AS content"

/* The newest limit runs after skipping the newest offset (limit <= 0: all),
 * returned oldest first; cols: what of each. */
static store_rc_t newest_runs(store_conn_t *c, const char *ws, const char *cols,
                              const store_run_query_t *f, long long limit, long long offset,
                              json_t **rows)
{
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT * FROM (SELECT ");
    store_sql_add(&q, cols);
    run_filters(&q, ws, f);
    store_sql_add(&q, " ORDER BY created_at DESC, run_id DESC");
    if (limit > 0) {
        store_sql_add(&q, " LIMIT ? OFFSET ?");
        store_sql_int(&q, limit);
        store_sql_int(&q, offset);
    }
    store_sql_add(&q, ") AS r ORDER BY created_at, run_id");
    return store_sql_exec(c, &q, rows, NULL);
}

store_rc_t store_run_list(store_conn_t *c, const char *ws, const char *session_id,
                          const char *agent_id, int limit, json_t **rows)
{
    *rows = NULL;
    store_rc_t rc = store_check(c, ws);
    if (rc != STORE_OK)
        return rc;
    store_run_query_t f = {.session_id = session_id, .agent_id = agent_id};
    return newest_runs(c, ws, ALL_COLUMNS, &f, limit, 0, rows);
}

static store_rc_t run_count(store_conn_t *c, const char *ws, const store_run_query_t *q,
                            long long *total)
{
    store_sql_t sql;
    store_sql_init(&sql, c->store);
    store_sql_add(&sql, "SELECT count(*) AS total");
    run_filters(&sql, ws, q);
    json_t *rows;
    store_rc_t rc = store_sql_exec(c, &sql, &rows, NULL);
    if (rc == STORE_OK)
        *total = json_integer_value(json_object_get(json_array_get(rows, 0), "total"));
    json_decref(rows);
    return rc;
}

/* ws NULL: every workspace. */
static store_rc_t page_of(store_conn_t *c, const char *ws, const char *cols,
                          const store_run_query_t *q, json_t **rows, long long *total)
{
    if (q == NULL)
        return STORE_ERROR;
    long long limit = q->limit > 0 ? q->limit : 20;
    long long page = q->page > 0 ? q->page : 1;
    if (q->nstatuses < 0 || q->nstatuses > STORE_RUN_STATUSES_MAX)
        return STORE_ERROR;
    for (int i = 0; i < q->nstatuses; i++) {
        if (q->statuses[i] == NULL)
            return STORE_ERROR;
    }
    store_rc_t rc = newest_runs(c, ws, cols, q, limit, (page - 1) * limit, rows);
    if (rc == STORE_OK && total != NULL)
        rc = run_count(c, ws, q, total);
    if (rc != STORE_OK) {
        json_decref(*rows);
        *rows = NULL;
    }
    return rc;
}

store_rc_t store_run_page(store_conn_t *c, const char *ws, const store_run_query_t *q,
                          json_t **rows, long long *total)
{
    *rows = NULL;
    if (total != NULL)
        *total = 0;
    store_rc_t rc = store_check(c, ws);
    return rc == STORE_OK ? page_of(c, ws, ALL_COLUMNS, q, rows, total) : rc;
}

store_rc_t store_run_previews(store_conn_t *c, const char *ws, const store_run_query_t *q,
                              json_t **rows, long long *total)
{
    *rows = NULL;
    if (total != NULL)
        *total = 0;
    store_rc_t rc = store_check(c, ws);
    return rc == STORE_OK ? page_of(c, ws, PREVIEW_COLUMNS, q, rows, total) : rc;
}

/* ---- operator reads across every workspace: never an end user's ---- */

store_rc_t store_run_page_all_workspaces(store_conn_t *c, const store_run_query_t *q, json_t **rows,
                                         long long *total)
{
    *rows = NULL;
    if (total != NULL)
        *total = 0;
    if (c == NULL || c->db == NULL)
        return STORE_UNAVAILABLE;
    return page_of(c, NULL, ALL_COLUMNS, q, rows, total);
}

store_rc_t store_run_find_all_workspaces(store_conn_t *c, const char *run_id, json_t **rows)
{
    *rows = NULL;
    if (c == NULL || c->db == NULL)
        return STORE_UNAVAILABLE;
    if (run_id == NULL)
        return STORE_ERROR;
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT * FROM {S}runs WHERE run_id = ? ORDER BY workspace_id LIMIT ?");
    store_sql_text(&q, run_id);
    store_sql_int(&q, STORE_FIND_MAX);
    return store_sql_exec(c, &q, rows, NULL);
}
