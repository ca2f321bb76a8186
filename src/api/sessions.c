/* The sessions routes of Agno's AgentOS API, scoped to the caller's
 * workspace (an operator's reads: every workspace, or the one it names).
 * Another workspace's session is a 404, never a 403. A session's runs are
 * in session_runs.c. */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/body.h"
#include "api/handlers.h"
#include "api/sessions_internal.h"
#include "api/store_job.h"
#include "api/views.h"
#include "core/ids.h"
#include "core/timeutil.h"
#include "http/reply.h"

#define SESSION_NAME_MAX 512
#define NOT_FOUND "Session not found"

/* ---- query values, copied into the job so the pool thread owns them ---- */

static int copy_query(http_request_t *r, api_job_t *job, const char *key, const char **out)
{
    const char *v = http_request_query(r, key);
    *out = NULL;
    if (v == NULL || *v == '\0')
        return 0;
    json_t *s = json_string(v);
    if (s == NULL || strlen(v) > API_ID_MAX) {
        json_decref(s);
        api_reply_422(r, "query", key, "string_too_long", "is too long or not UTF-8", NULL);
        return -1;
    }
    json_object_set_new(job->in, key, s);
    *out = json_string_value(s);
    return 0;
}

/* A query value that is an id (component_id, user_id): the id rule. */
static int copy_query_id(http_request_t *r, api_job_t *job, const char *key, const char **out)
{
    const char *v;
    *out = NULL;
    if (api_query_id(r, key, &v) != 0)
        return -1;
    if (v == NULL)
        return 0;
    json_t *s = json_string(v);
    if (s == NULL) {
        http_reply_error(r, 503, "OVERLOADED", "Out of memory; try again");
        return -1;
    }
    json_object_set_new(job->in, key, s);
    *out = json_string_value(s);
    return 0;
}

static int parse_type(http_request_t *r, api_job_t *job)
{
    if (copy_query(r, job, "type", &job->query.session_type) != 0)
        return -1;
    const char *t = job->query.session_type;
    if (t == NULL) /* Agno's list has no default type; a created session is an agent's */
        return 0;
    if (strcmp(t, "agent") == 0 || strcmp(t, "team") == 0 || strcmp(t, "workflow") == 0)
        return 0;
    api_reply_422(r, "query", "type", "enum", "must be agent, team or workflow", json_string(t));
    return -1;
}

static int parse_sort(http_request_t *r, api_job_t *job)
{
    const char *by, *order;
    if (copy_query(r, job, "sort_by", &by) != 0 || copy_query(r, job, "sort_order", &order) != 0)
        return -1;
    if (by != NULL && strcmp(by, "created_at") != 0 && strcmp(by, "updated_at") != 0 &&
        strcmp(by, "session_name") != 0) {
        api_reply_422(r, "query", "sort_by", "enum",
                      "must be created_at, updated_at or session_name", json_string(by));
        return -1;
    }
    if (order != NULL && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0) {
        api_reply_422(r, "query", "sort_order", "enum", "must be asc or desc", json_string(order));
        return -1;
    }
    job->query.sort_by = by;
    job->query.sort_desc = order == NULL || strcmp(order, "desc") == 0;
    return 0;
}

static int parse_list_query(http_request_t *r, api_job_t *job)
{
    store_session_query_t *q = &job->query;
    return parse_type(r, job) || parse_sort(r, job) ||
                   copy_query_id(r, job, "component_id", &q->component_id) ||
                   copy_query_id(r, job, "user_id", &q->user_id) ||
                   copy_query(r, job, "session_name", &q->session_name) ||
                   api_query_int(r, "limit", 20, 1, 1000, &q->limit) ||
                   api_query_int(r, "page", 1, 1, 1000000, &q->page)
               ? -1
               : 0;
}

/* ---- GET /sessions ---- */

/* On the pool: the rows, then the reply's bytes. */
static store_rc_t list_work(store_conn_t *c, void *data)
{
    api_job_t *job = data;
    store_rc_t rc = job->all_workspaces
                        ? store_session_list_all_workspaces(c, &job->query, &job->out, &job->total)
                        : store_session_list(c, job->ws, &job->query, &job->out, &job->total);
    if (rc != STORE_OK)
        return rc;
    json_t *rows = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(job->out, i, row) json_array_append_new(rows, view_session(row));
    long long limit = job->query.limit;
    json_t *meta =
        json_pack("{s:i, s:i, s:I, s:I, s:f}", "page", job->query.page, "limit", job->query.limit,
                  "total_pages", (json_int_t)((job->total + limit - 1) / limit), "total_count",
                  (json_int_t)job->total, "search_time_ms",
                  (double)(timeutil_mono_us() - job->start_us) / 1000.0);
    return api_job_render(job, 200, json_pack("{s:o, s:o}", "data", rows, "meta", meta));
}

void sessions_list(http_request_t *r)
{
    api_job_t *job = api_job_new(r, list_work, NULL);
    if (job != NULL && parse_list_query(r, job) != 0) {
        api_job_free(job);
        return;
    }
    api_job_submit(r, job);
}

/* ---- POST /sessions ---- */

static store_rc_t create_work(store_conn_t *c, void *data)
{
    api_job_t *job = data;
    return store_session_create(c, job->ws, job->in, &job->out);
}

static const agent_def_t *session_agent(const api_job_t *job)
{
    const char *agent_id = json_string_value(json_object_get(job->out, "agent_id"));
    return agent_id ? registry_find(&job->app->agents, agent_id) : NULL;
}

static void create_reply(http_request_t *r, api_job_t *job)
{
    json_t *empty = json_array();
    http_reply_json(r, 201, view_session_detail(job->out, empty, 0, session_agent(job)));
    json_decref(empty);
}

/* Builds the row to insert from the body; the token's user always wins. */
static int parse_create(http_request_t *r, api_job_t *job, json_t *body)
{
    const char *id, *name, *agent;
    json_t *state, *meta;
    if (api_field_id(r, body, "session_id", &id) ||
        api_field_string(r, body, "session_name", SESSION_NAME_MAX, &name) ||
        api_field_id(r, body, "agent_id", &agent) ||
        api_field_object(r, body, "session_state", &state) ||
        api_field_object(r, body, "metadata", &meta))
        return -1;
    if (parse_type(r, job) != 0)
        return -1;
    if (job->query.session_type == NULL)
        job->query.session_type = "agent";
    char uuid[IDS_UUID_LEN + 1];
    if (id == NULL || *id == '\0') {
        ids_uuid4(uuid);
        id = uuid;
    }
    json_t *in = job->in;
    json_object_set_new(in, "session_id", json_string(id));
    json_object_set_new(in, "session_type", json_string(job->query.session_type));
    json_object_set_new(in, "user_id", json_string(job->user_id));
    json_object_set_new(in, "session_name", name ? json_string(name) : json_null());
    json_object_set_new(in, "agent_id", agent ? json_string(agent) : json_null());
    json_object_set_new(in, "session_state", state ? json_deep_copy(state) : json_object());
    json_object_set_new(in, "metadata", meta ? json_deep_copy(meta) : json_object());
    return 0;
}

void sessions_create(http_request_t *r)
{
    json_t *body = api_body_object(r);
    if (body == NULL)
        return;
    api_job_t *job = api_job_new(r, create_work, create_reply);
    int bad = job != NULL && parse_create(r, job, body) != 0;
    json_decref(body);
    if (bad) {
        api_job_free(job);
        return;
    }
    api_job_submit(r, job);
}

/* ---- GET /sessions/{id} and /sessions/{id}/runs ---- */

#define DEFAULT_HISTORY_RUNS 3 /* the registry's default num_history_runs */
#define MAX_HISTORY_RUNS 100

/* chat_history covers the runs the session's agent remembers, unless the
 * query asked for another number. */
static int history_runs(const api_job_t *job)
{
    if (job->history_runs > 0)
        return job->history_runs;
    const agent_def_t *a = session_agent(job);
    return a != NULL && a->num_history_runs > 0 ? a->num_history_runs : DEFAULT_HISTORY_RUNS;
}

/* On the pool, with the session row in job->out: its latest runs, then
 * the detail's bytes. */
static store_rc_t render_detail(store_conn_t *c, api_job_t *job)
{
    store_run_query_t q = {.session_id = job->id, .limit = history_runs(job), .page = 1};
    store_rc_t rc = store_run_page(c, job->ws, &q, &job->out2, &job->total);
    if (rc != STORE_OK)
        return rc;
    return api_job_render(job, 200,
                          view_session_detail(job->out, job->out2, job->total, session_agent(job)));
}

store_rc_t sessions_load(store_conn_t *c, api_job_t *job)
{
    if (!job->all_workspaces)
        return store_session_get(c, job->ws, job->id, &job->out);
    json_t *rows;
    store_rc_t rc = store_session_find_all_workspaces(c, job->id, &rows);
    return rc == STORE_OK ? api_job_pick_workspace(job, rows) : rc;
}

/* On the pool: the session, its latest runs, then the reply's bytes. */
static store_rc_t get_work(store_conn_t *c, void *data)
{
    api_job_t *job = data;
    store_rc_t rc = sessions_load(c, job);
    return rc == STORE_OK && job->body == NULL ? render_detail(c, job) : rc;
}

api_job_t *sessions_path_job(http_request_t *r, store_work_fn work, api_reply_fn reply)
{
    return api_path_job(r, work, reply, NOT_FOUND);
}

static api_job_t *session_job(http_request_t *r, store_work_fn work, api_reply_fn reply)
{
    return sessions_path_job(r, work, reply);
}

void sessions_get(http_request_t *r)
{
    api_job_t *job = session_job(r, get_work, NULL);
    if (job == NULL)
        return;
    if (api_query_int(r, "num_history_runs", 0, 1, MAX_HISTORY_RUNS, &job->history_runs) != 0) {
        api_job_free(job);
        return;
    }
    api_job_submit(r, job);
}

/* ---- POST /sessions/{id}/rename and PATCH /sessions/{id} ---- */

/* On the pool: the change, then the full detail (Agno answers it). */
static store_rc_t update_work(store_conn_t *c, void *data)
{
    api_job_t *job = data;
    store_rc_t rc = store_session_update(c, job->ws, job->id, job->in, &job->out);
    return rc == STORE_OK ? render_detail(c, job) : rc;
}

static int parse_patch(http_request_t *r, api_job_t *job, json_t *body, int rename)
{
    const char *name;
    json_t *state = NULL, *meta = NULL;
    if (api_field_string(r, body, "session_name", SESSION_NAME_MAX, &name) ||
        (!rename && (api_field_object(r, body, "session_state", &state) ||
                     api_field_object(r, body, "metadata", &meta))))
        return -1;
    if (rename && (name == NULL || *name == '\0')) {
        api_reply_422(r, "body", "session_name", "missing", "is required", NULL);
        return -1;
    }
    if (name != NULL)
        json_object_set_new(job->in, "session_name", json_string(name));
    if (state != NULL)
        json_object_set(job->in, "session_state", state);
    if (meta != NULL)
        json_object_set(job->in, "metadata", meta);
    if (json_object_size(job->in) == 0) {
        api_reply_422(r, "body", NULL, "missing",
                      "Nothing to change: give session_name, session_state or metadata", NULL);
        return -1;
    }
    return 0;
}

static void update_session(http_request_t *r, int rename)
{
    json_t *body = api_body_object(r);
    if (body == NULL)
        return;
    api_job_t *job = session_job(r, update_work, NULL);
    int bad = job != NULL && parse_patch(r, job, body, rename) != 0;
    json_decref(body);
    if (job == NULL || bad) {
        api_job_free(job);
        return;
    }
    api_job_submit(r, job);
}

void sessions_rename(http_request_t *r)
{
    update_session(r, 1);
}

void sessions_patch(http_request_t *r)
{
    update_session(r, 0);
}

/* ---- DELETE /sessions/{id} and DELETE /sessions ---- */

static store_rc_t delete_work(store_conn_t *c, void *data)
{
    api_job_t *job = data;
    return store_session_delete(c, job->ws, job->id);
}

static void no_content(http_request_t *r, api_job_t *job)
{
    (void)job;
    http_reply_empty(r, 204);
}

void sessions_delete(http_request_t *r)
{
    api_job_t *job = session_job(r, delete_work, no_content);
    if (job != NULL)
        api_job_submit(r, job);
}

/* session_types pairs with session_ids: ids[i] goes only if it is a
 * session of types[i] (Agno's DeleteSessionRequest). */
static store_rc_t bulk_delete_work(store_conn_t *c, void *data)
{
    api_job_t *job = data;
    json_t *ids = json_object_get(job->in, "session_ids");
    json_t *types = json_object_get(job->in, "session_types");
    size_t n = json_array_size(ids);
    const char **list = calloc(2 * n, sizeof(*list));
    if (list == NULL)
        return STORE_ERROR;
    for (size_t i = 0; i < n; i++) {
        list[i] = json_string_value(json_array_get(ids, i));
        list[n + i] = json_string_value(json_array_get(types, i));
    }
    store_rc_t rc = store_sessions_delete_typed(c, job->ws, list, list + n, n, &job->count);
    free(list);
    return rc;
}

/* Agno's DeleteSessionRequest: both lists are required (FastAPI's
 * "missing"), each 1 or more long, of the same length. The first fault
 * found is the one reported. */
static int parse_bulk(http_request_t *r, api_job_t *job, json_t *body)
{
    json_t *ids = json_object_get(body, "session_ids");
    if (ids == NULL) {
        api_reply_422(r, "body", "session_ids", "missing", "Field required", NULL);
        return -1;
    }
    size_t i, n = json_array_size(ids);
    json_t *id;
    int ok = json_is_array(ids) && n > 0 && n <= API_MAX_BULK_IDS;
    json_array_foreach(ids, i, id) ok =
        ok && json_is_string(id) && ids_valid(json_string_value(id), json_string_length(id));
    if (!ok) {
        api_reply_422(r, "body", "session_ids", "value_error",
                      "must be a list of 1 to 1000 session ids (each 1 to 128 bytes of printable "
                      "UTF-8)",
                      NULL);
        return -1;
    }
    json_t *types = json_object_get(body, "session_types"), *t;
    if (types == NULL) {
        api_reply_422(r, "body", "session_types", "missing", "Field required", NULL);
        return -1;
    }
    ok = json_is_array(types) && json_array_size(types) > 0;
    json_array_foreach(types, i, t)
    {
        const char *s = json_string_value(t);
        ok = ok && s != NULL &&
             (strcmp(s, "agent") == 0 || strcmp(s, "team") == 0 || strcmp(s, "workflow") == 0);
    }
    if (!ok) {
        api_reply_422(r, "body", "session_types", "enum",
                      "must be a list of agent, team or workflow", json_incref(types));
        return -1;
    }
    if (json_array_size(types) != n) {
        http_reply_error(r, 400, "BAD_REQUEST",
                         "Session IDs and session types must have the same length");
        return -1;
    }
    json_object_set(job->in, "session_ids", ids);
    json_object_set(job->in, "session_types", types);
    return 0;
}

void sessions_delete_many(http_request_t *r)
{
    json_t *body = api_body_object(r);
    if (body == NULL)
        return;
    api_job_t *job = api_job_new(r, bulk_delete_work, no_content);
    int bad = job != NULL && parse_bulk(r, job, body) != 0;
    json_decref(body);
    if (bad) {
        api_job_free(job);
        return;
    }
    api_job_submit(r, job);
}
