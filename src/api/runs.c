/* The runs routes: start a run (streamed as SSE, or answered whole),
 * cancel it from any loop, and read runs back from the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/run.h"
#include "api/app.h"
#include "api/body.h"
#include "api/form.h"
#include "api/handlers.h"
#include "api/store_job.h"
#include "api/tenant.h"
#include "api/views.h"
#include "core/counters.h"
#include "core/ids.h"
#include "core/list.h"
#include "core/log.h"
#include "http/pending.h"
#include "http/reply.h"
#include "http/sse.h"

#define MESSAGE_MAX (256 * 1024)
/* session_state and metadata, each as compact JSON. */
#define RUN_OBJECT_MAX (64 * 1024)

/* A run as this loop tracks it: the run, and where its events go. */
typedef struct api_run {
    app_loop_t *loop;
    run_t *run;
    char run_id[IDS_UUID_LEN + 1];
    char ws[AUTH_ID_MAX];
    http_sse_t *sse;         /* streamed: until the run ends */
    int sse_open;            /* the client still reads */
    http_pending_t *pending; /* answered whole: the request, if still there */
    int background;
    list_t link; /* in loop->runs, newest first */
} api_run_t;

/* ---- the loop's list ---- */

static void track(app_loop_t *loop, api_run_t *ar)
{
    list_insert_head(&loop->runs, &ar->link);
    loop->nruns++;
}

static void untrack(app_loop_t *loop, api_run_t *ar)
{
    if (list_is_linked(&ar->link)) {
        list_remove(&ar->link);
        loop->nruns--;
    }
}

void runs_on_cancel(void *loop_data, const char *run_id)
{
    app_loop_t *loop = loop_data;
    list_t *node;
    LIST_FOREACH(node, &loop->runs) {
        api_run_t *ar = LIST_ENTRY(node, api_run_t, link);
        if (strcmp(ar->run_id, run_id) == 0 && ar->run != NULL) {
            char reason[IDS_UUID_LEN + 32]; /* Agno's words */
            snprintf(reason, sizeof(reason), "Run %s was cancelled", ar->run_id);
            run_cancel(ar->run, reason);
            return;
        }
    }
}

void runs_cancel_all(void *loop_data, const char *reason)
{
    app_loop_t *loop = loop_data;
    /* A cancel may end its run at once (on_end frees ar): next first. */
    list_t *node, *tmp;
    LIST_FOREACH_SAFE(node, tmp, &loop->runs) {
        api_run_t *ar = LIST_ENTRY(node, api_run_t, link);
        if (ar->run != NULL)
            run_cancel(ar->run, reason);
    }
}

/* ---- the sink ---- */

/* SSE framing around the data: "event: ", name, "\ndata: ", "\n\n". */
static size_t frame_len(const char *name, size_t data_len)
{
    return 16 + strlen(name) + data_len;
}

/* A frame the stream cannot take now is refused rather than queued: one
 * over the cap, or a large one (a quarter of the cap and more) that would
 * overflow what is queued, so that a reader who keeps up is never cut off
 * as too slow because of one frame's size. The run splits or reports it. */
static int on_frame(void *ud, const char *name, const char *data, size_t len)
{
    api_run_t *ar = ud;
    if (ar->sse == NULL || !ar->sse_open)
        return 0;
    size_t frame = frame_len(name, len);
    size_t max = http_sse_max_frame(ar->sse);
    /* Too large to try, or refused as too large when tried. */
    if (frame > max || (frame > max / 4 && frame > http_sse_room(ar->sse)) ||
        http_sse_event(ar->sse, name, data, len) == HTTP_SSE_ERR_TOO_LARGE)
        return RUN_SINK_TOO_LARGE;
    return 0;
}

static int on_event(void *ud, const char *name, const json_t *event)
{
    api_run_t *ar = ud;
    if (ar->sse == NULL || !ar->sse_open)
        return 0;
    char *data = json_dumps(event, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (data == NULL)
        return 0;
    int rc = on_frame(ud, name, data, strlen(data));
    free(data);
    return rc;
}

/* A failed run is still the run: 200 with status "ERROR", as Agno answers. */
static void reply_run(http_request_t *r, run_t *run)
{
    if (run == NULL) {
        http_reply_error(r, 503, "OVERLOADED", "Out of memory; try again");
        return;
    }
    json_t *o = run_object(run);
    view_run_messages(o); /* the same messages GET answers */
    http_reply_json(r, 200, o);
}

static void on_end(void *ud, run_t *run)
{
    api_run_t *ar = ud;
    if (ar->sse != NULL)
        http_sse_end(ar->sse);
    if (ar->pending != NULL) {
        http_request_t *r = http_pending_request(ar->pending);
        if (r != NULL)
            reply_run(r, run);
        http_pending_release(ar->pending);
    }
    live_runs_remove(ar->loop->app->live, ar->run_id);
    counters_run_ended(run != NULL ? run_status(run) : RUN_STATUS_ERROR);
    untrack(ar->loop, ar);
    free(ar);
}

/* The client left or reads too slowly. Never cancelled right here (this
 * may be inside the run's own event): the run stops at its next bytes, and
 * the inbox reaches it if it is quiet. */
static void on_sse_close(void *ud, http_sse_close_t why)
{
    api_run_t *ar = ud;
    ar->sse_open = 0;
    if (why == HTTP_SSE_TOO_SLOW)
        log_json(LOG_LEVEL_WARN, "SSE reader cut off: too slow",
                 json_pack("{s:s, s:s}", "run_id", ar->run_id, "workspace_id", ar->ws));
    if (ar->run != NULL)
        run_resume(ar->run); /* a paused run must go on: to its end or its cancel */
    if (ar->background)
        return;
    if (ar->run != NULL)
        run_cancel_soon(ar->run, why == HTTP_SSE_TOO_SLOW ? "the client read too slowly"
                                                          : "the client disconnected");
    live_runs_cancel(ar->loop->app->live, ar->ws, NULL, ar->run_id);
}

static int is_backlogged(void *ud)
{
    api_run_t *ar = ud;
    return ar->sse != NULL && ar->sse_open && http_sse_backlogged(ar->sse);
}

static void on_sse_drain(void *ud)
{
    api_run_t *ar = ud;
    if (ar->run != NULL)
        run_resume(ar->run);
}

/* ---- POST /agents/{agent_id}/runs ---- */

typedef struct run_input {
    const char *message, *session_id;
    int stream, background;
    json_t *session_state, *metadata; /* owned; NULL: not given */
} run_input_t;

static void input_free(run_input_t *in)
{
    json_decref(in->session_state);
    json_decref(in->metadata);
}

static int parse_input(http_request_t *r, json_t *fields, run_input_t *in)
{
    if (api_field_string(r, fields, "message", MESSAGE_MAX, &in->message) ||
        api_field_id(r, fields, "session_id", &in->session_id) ||
        form_bool(r, fields, "stream", 1, &in->stream) ||
        form_bool(r, fields, "background", 0, &in->background) ||
        form_json_object(r, fields, "session_state", RUN_OBJECT_MAX, &in->session_state) ||
        form_json_object(r, fields, "metadata", RUN_OBJECT_MAX, &in->metadata))
        return -1;
    if (in->message == NULL || in->message[0] == '\0') {
        api_reply_422(r, "body", "message", "missing", "is required", NULL);
        return -1;
    }
    return 0;
}

static run_env_t run_env(app_loop_t *loop, uv_loop_t *uvloop)
{
    const config_t *cfg = loop->app->cfg;
    return (run_env_t){
        .loop = uvloop,
        .store = loop->app->store,
        .http = app_loop_http(loop),
        .owner = loop->app->owner_id,
        .max_event_bytes = 1 << 20,
        .model_connect_timeout_ms = (long)cfg->model_connect_timeout_s * 1000,
        .model_stall_timeout_s = cfg->model_stall_timeout_s,
        .model_max_retries = cfg->model_max_retries,
        .model_retry_base_ms = cfg->model_retry_base_ms,
        .model_buffer_size = run_model_buffer_size(cfg->sse_max_buffer),
        .model_max_reply = cfg->model_max_reply,
        .run_timeout_s = cfg->run_timeout_s,
        /* Text pieces well under the SSE cap, even escaped (6 bytes a byte). */
        .content_chunk = cfg->sse_max_buffer / 64 < 16384 ? cfg->sse_max_buffer / 64 : 16384,
    };
}

/* Where the events go: an SSE stream, the reply at the end, or nowhere
 * (background without a stream: answered 202 at once). */
static int attach_client(http_request_t *r, api_run_t *ar, const run_input_t *in,
                         const char *session_id)
{
    const config_t *cfg = ar->loop->app->cfg;
    if (in->stream) {
        http_sse_opts_t o = {.max_buffer = cfg->sse_max_buffer,
                             .ping_ms = cfg->sse_ping_ms,
                             .stall_ms = cfg->sse_stall_ms,
                             .on_close = on_sse_close,
                             .on_drain = on_sse_drain,
                             .ud = ar};
        ar->sse = http_sse_start(r, &o);
        ar->sse_open = ar->sse != NULL;
        return ar->sse != NULL ? 0 : -1;
    }
    if (in->background) {
        http_reply_json(r, 202,
                        json_pack("{s:s, s:s, s:s}", "run_id", ar->run_id, "session_id", session_id,
                                  "status", run_status_name(RUN_STATUS_RUNNING)));
        return 0;
    }
    ar->pending = http_pending_new(r);
    return ar->pending != NULL ? 0 : -1;
}

static void start_run(http_request_t *r, const agent_def_t *agent, const run_input_t *in)
{
    app_loop_t *loop = r->loop_data;
    const auth_tenant_t *t = tenant_of(r);
    api_run_t *ar = calloc(1, sizeof(*ar));
    if (ar == NULL) {
        http_reply_error(r, 503, "OVERLOADED", "Out of memory; try again");
        return;
    }
    if (store_queue_full(loop->app->store)) {
        /* Checked again by the setup job; here it is still a clean 503. */
        free(ar);
        api_reply_store_error(r, STORE_BUSY, NULL);
        return;
    }
    ar->loop = loop;
    ar->background = in->background;
    ids_uuid4(ar->run_id);
    memcpy(ar->ws, t->workspace_id, sizeof(ar->ws));
    char session[API_ID_MAX];
    if (in->session_id != NULL && in->session_id[0] != '\0')
        snprintf(session, sizeof(session), "%s", in->session_id);
    else
        ids_uuid4(session);
    if (live_runs_add(loop->app->live, ar->ws, agent->id, ar->run_id, loop->inbox,
                      loop->app->cfg->max_runs_per_workspace) != 0) {
        free(ar);
        http_reply_error(r, 429, "TOO_MANY_RUNS",
                         "This workspace has as many runs in flight as it may; try later");
        return;
    }
    if (attach_client(r, ar, in, session) != 0) {
        live_runs_remove(loop->app->live, ar->run_id);
        free(ar);
        http_reply_error(r, 503, "OVERLOADED", "Out of memory; try again");
        return;
    }
    track(loop, ar);
    counters_run_started();
    run_env_t env = run_env(loop, http_request_loop(r));
    run_params_t p = {.agent = agent,
                      .workspace_id = t->workspace_id,
                      .user_id = t->user_id,
                      .session_id = session,
                      .run_id = ar->run_id,
                      .message = in->message,
                      .session_state = in->session_state,
                      .metadata = in->metadata};
    run_sink_t sink = {.on_event = on_event,
                       .on_frame = on_frame,
                       .on_end = on_end,
                       .backlogged = is_backlogged,
                       .ud = ar};
    ar->run = run_start(&env, &p, &sink);
    if (ar->run == NULL) /* out of memory: end what was attached */
        on_end(ar, NULL);
}

void runs_create(http_request_t *r)
{
    app_loop_t *loop = r->loop_data;
    char *agent_id = api_path_id(r, 0, 128);
    if (agent_id == NULL)
        return;
    const agent_def_t *agent = registry_find(&loop->app->agents, agent_id);
    if (agent == NULL) {
        http_reply_error(r, 404, "NOT_FOUND", "Agent not found");
        return;
    }
    json_t *fields = form_fields(r);
    if (fields == NULL)
        return;
    run_input_t in = {0};
    if (parse_input(r, fields, &in) == 0)
        start_run(r, agent, &in);
    input_free(&in);
    json_decref(fields);
}

/* ---- POST /agents/{agent_id}/runs/{run_id}/cancel ---- */

static store_rc_t get_run_work(store_conn_t *c, void *data)
{
    api_job_t *job = data;
    return store_run_get(c, job->ws, job->id2, &job->out);
}

/* Not running in this process. As Agno 3.1.10 does, a run id that names no
 * run of this agent (unknown, another agent's, another workspace's) answers
 * 200 {} like a run that ended: the answer says nothing of what exists. A
 * run still RUNNING here belongs to another replica. */
static void cancel_reply(http_request_t *r, api_job_t *job)
{
    if (job->rc != STORE_OK && job->rc != STORE_NOT_FOUND) {
        api_reply_store_error(r, job->rc, job->not_found);
        return;
    }
    const char *agent = json_string_value(json_object_get(job->out, "agent_id"));
    const char *status = json_string_value(json_object_get(job->out, "status"));
    int ours = job->rc == STORE_OK && agent != NULL && strcmp(agent, job->id) == 0;
    if (ours && run_status_name_is_open(status)) {
        http_reply_error(r, 409, "RUN_ON_ANOTHER_REPLICA",
                         "The run is in flight on another replica; cancel it there");
        return;
    }
    http_reply_json(r, 200, json_object());
}

/* A job on the run named by the path (agent id in id, run id in id2). */
static api_job_t *run_job(http_request_t *r, store_work_fn work, api_reply_fn reply)
{
    return api_path_job(r, work, reply, "Run not found");
}

void runs_cancel(http_request_t *r)
{
    app_loop_t *loop = r->loop_data;
    char *agent_id = api_path_id(r, 0, 128);
    if (agent_id == NULL)
        return;
    if (registry_find(&loop->app->agents, agent_id) == NULL) {
        http_reply_error(r, 404, "NOT_FOUND", "Agent not found");
        return;
    }
    api_job_t *job = run_job(r, get_run_work, cancel_reply);
    if (job == NULL)
        return;
    job->reply_errors = 1;
    if (live_runs_cancel(loop->app->live, job->ws, job->id, job->id2)) {
        api_job_free(job);
        http_reply_json(r, 200, json_object());
        return;
    }
    api_job_submit(r, job);
}

/* ---- GET /agents/{agent_id}/runs[/{run_id}] ---- */

#define MAX_RUNS_PAGE 100

/* The run job->id2 into job->out: in the caller's workspace, or for an
 * operator's read across workspaces in any (api_job_pick_workspace). */
static store_rc_t load_run(store_conn_t *c, api_job_t *job)
{
    if (!job->all_workspaces)
        return store_run_get(c, job->ws, job->id2, &job->out);
    json_t *rows;
    store_rc_t rc = store_run_find_all_workspaces(c, job->id2, &rows);
    return rc == STORE_OK ? api_job_pick_workspace(job, rows) : rc;
}

/* On the pool: the run (404 under another agent), then the reply's bytes. */
static store_rc_t get_view_work(store_conn_t *c, void *data)
{
    api_job_t *job = data;
    store_rc_t rc = load_run(c, job);
    if (rc != STORE_OK || job->body != NULL)
        return rc;
    const char *agent = json_string_value(json_object_get(job->out, "agent_id"));
    if (agent == NULL || strcmp(agent, job->id) != 0)
        return STORE_NOT_FOUND;
    const agent_def_t *def = registry_find(&job->app->agents, agent);
    json_t *v = view_run_output(job->out);
    /* An agent no longer loaded is named by its id. */
    json_object_set_new(v, "agent_name",
                        json_string(def != NULL && def->name != NULL ? def->name : agent));
    return api_job_render(job, 200, v);
}

void runs_get(http_request_t *r)
{
    api_job_t *job = run_job(r, get_view_work, NULL);
    if (job != NULL)
        api_job_submit(r, job);
}

/* On the pool: one page of the agent's runs, then the reply's bytes. */
static store_rc_t list_work(store_conn_t *c, void *data)
{
    api_job_t *job = data;
    job->runs.session_id = json_string_value(json_object_get(job->in, "session_id"));
    job->runs.agent_id = job->id;
    store_rc_t rc = job->all_workspaces
                        ? store_run_page_all_workspaces(c, &job->runs, &job->out, NULL)
                        : store_run_page(c, job->ws, &job->runs, &job->out, NULL);
    return rc == STORE_OK ? api_job_render(job, 200, view_runs(job->out)) : rc;
}

void runs_list(http_request_t *r)
{
    app_loop_t *loop = r->loop_data;
    char *agent = api_path_id(r, 0, API_ID_MAX - 1);
    if (agent == NULL)
        return;
    if (registry_find(&loop->app->agents, agent) == NULL) {
        http_reply_error(r, 404, "NOT_FOUND", "Agent not found");
        return;
    }
    const char *session;
    if (api_query_id(r, "session_id", &session) != 0)
        return;
    api_job_t *job = api_job_new(r, list_work, NULL);
    if (job != NULL) {
        strcpy(job->id, agent);
        if (session != NULL)
            json_object_set_new(job->in, "session_id", json_string(session));
        if (api_query_int(r, "limit", 20, 1, MAX_RUNS_PAGE, &job->runs.limit) ||
            api_query_int(r, "page", 1, 1, 1000000, &job->runs.page)) {
            api_job_free(job);
            return;
        }
    }
    api_job_submit(r, job);
}
