/* The run's row: before the model is called, the session (made when new),
 * the history and a RUNNING row; at the end, the final row, the session's
 * tokens and the day's usage. Jobs run on the store pool and see only the
 * run's fields the loop leaves alone meanwhile. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/run_internal.h"
#include "core/log.h"

#define SESSION_NAME_CHARS 80
#define FINISH_TRIES 5

typedef struct setup_job {
    run_t *run;
    void (*done)(run_t *run, store_rc_t rc);
    uv_timer_t refused; /* a refused setup answers on the next loop turn */
    store_rc_t rc;
} setup_job_t;

/* The first words of the first message, cut on a UTF-8 boundary. */
static json_t *session_name(const char *message)
{
    size_t n = strlen(message), chars = 0, i = 0;
    while (i < n && chars < SESSION_NAME_CHARS) {
        i++;
        while (i < n && ((unsigned char)message[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    return json_stringn(message, i);
}

static store_rc_t ensure_session(store_conn_t *c, run_t *run)
{
    json_t *row = NULL;
    store_rc_t rc = store_session_get(c, run->ws, run->session_id, &row);
    json_decref(row);
    if (rc != STORE_NOT_FOUND)
        return rc;
    json_t *s = json_pack("{s:s, s:s, s:s, s:s, s:o}", "session_id", run->session_id,
                          "session_type", "agent", "agent_id", run->agent->id, "user_id", run->user,
                          "session_name", session_name(run->message));
    rc = store_session_create(c, run->ws, s, NULL);
    json_decref(s);
    return rc == STORE_CONFLICT ? STORE_OK : rc; /* made by a run beside this one */
}

/* The text of earlier completed runs: their user and assistant messages
 * (tool traffic stays out: a provider refuses orphaned tool results). */
static store_rc_t load_history(store_conn_t *c, run_t *run)
{
    json_t *rows = NULL;
    store_rc_t rc =
        store_run_list(c, run->ws, run->session_id, NULL, run->agent->num_history_runs, &rows);
    if (rc != STORE_OK)
        return rc;
    run->history = json_array();
    size_t i, j;
    json_t *row, *m;
    json_array_foreach(rows, i, row)
    {
        const char *status = json_string_value(json_object_get(row, "status"));
        if (status == NULL || strcmp(status, "COMPLETED") != 0)
            continue;
        json_array_foreach(json_object_get(row, "messages"), j, m)
        {
            const char *role = json_string_value(json_object_get(m, "role"));
            const char *text = json_string_value(json_object_get(m, "content"));
            int keep = role && text && *text && json_object_get(m, "tool_calls") == NULL &&
                       (strcmp(role, "user") == 0 || strcmp(role, "assistant") == 0);
            if (keep)
                json_array_append_new(run->history,
                                      json_pack("{s:s, s:s}", "role", role, "content", text));
        }
    }
    json_decref(rows);
    return STORE_OK;
}

static store_rc_t insert_row(store_conn_t *c, run_t *run)
{
    json_t *row =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:s, s:[], s:[], s:{}}", "run_id",
                  run->run_id, "session_id", run->session_id, "agent_id", run->agent->id, "user_id",
                  run->user, "status", "RUNNING", "input", "input_content", run->message, "model",
                  run->agent->model.id, "model_provider", run->agent->provider, "owner",
                  run->env.owner, "messages", "tools", "metrics");
    store_rc_t rc = store_run_create(c, run->ws, row, NULL);
    json_decref(row);
    return rc;
}

static store_rc_t setup_work(store_conn_t *c, void *data)
{
    run_t *run = ((setup_job_t *)data)->run;
    store_rc_t rc = ensure_session(c, run);
    if (rc == STORE_OK && run->agent->add_history_to_context && run->agent->num_history_runs > 0)
        rc = load_history(c, run);
    if (rc == STORE_OK && (rc = insert_row(c, run)) == STORE_OK)
        run->row_written = 1;
    return rc;
}

static void setup_done(store_rc_t rc, void *data)
{
    setup_job_t *job = data;
    run_t *run = job->run;
    void (*done)(run_t *, store_rc_t) = job->done;
    free(job);
    done(run, rc);
}

static void on_refused_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_refused(uv_timer_t *t)
{
    setup_job_t *job = t->data;
    uv_close((uv_handle_t *)t, on_refused_closed);
    job->done(job->run, job->rc);
}

void run_store_setup(run_t *run, void (*done)(run_t *run, store_rc_t rc))
{
    setup_job_t *job = malloc(sizeof(*job));
    if (job == NULL) {
        done(run, STORE_UNAVAILABLE);
        return;
    }
    job->run = run;
    job->done = done;
    /* Bounded: a run's setup is work a request starts (its finish is not). */
    int rc = store_submit_bounded(run->env.store, run->env.loop, setup_work, setup_done, job);
    if (rc == 0)
        return;
    /* Never done inside run_start: its caller has not seen the run yet. */
    job->rc = rc == STORE_SUBMIT_BUSY ? STORE_BUSY : STORE_UNAVAILABLE;
    job->refused.data = job;
    uv_timer_init(run->env.loop, &job->refused); /* neither fails on a live loop */
    uv_timer_start(&job->refused, on_refused, 0, 0);
}

/* ---- the end ---- */

typedef struct finish_job {
    run_t *run;
    void (*done)(run_t *run);
    json_t *patch;
    char day[11];
    uv_timer_t *retry;
} finish_job_t;

static store_rc_t finish_work(store_conn_t *c, void *data)
{
    finish_job_t *job = data;
    run_t *run = job->run;
    store_rc_t rc = store_run_update(c, run->ws, run->run_id, job->patch);
    long long tokens = run->input_tokens + run->output_tokens;
    if (rc == STORE_OK && tokens > 0)
        rc = store_session_add_tokens(c, run->ws, run->session_id, tokens);
    if (rc == STORE_OK && strcmp(run->status, "CANCELLED") != 0)
        rc = store_usage_add(c, run->ws, job->day, run->agent->id, run->user, run->agent->model.id,
                             run->agent->provider, run->input_tokens, run->output_tokens);
    return rc;
}

static void finish_submit(finish_job_t *job);

static void on_retry_closed(uv_handle_t *h)
{
    free(h);
}

static void on_retry(uv_timer_t *t)
{
    finish_job_t *job = t->data;
    uv_close((uv_handle_t *)t, on_retry_closed);
    job->retry = NULL;
    finish_submit(job);
}

static void finish_end(finish_job_t *job)
{
    run_t *run = job->run;
    void (*done)(run_t *) = job->done;
    json_decref(job->patch);
    free(job);
    done(run);
}

/* An acknowledged run must not be lost to a database blip: a few tries,
 * backing off, before giving up with an error in the log. */
static void finish_done(store_rc_t rc, void *data)
{
    finish_job_t *job = data;
    run_t *run = job->run;
    if (rc == STORE_UNAVAILABLE && ++run->finish_tries < FINISH_TRIES &&
        (job->retry = malloc(sizeof(uv_timer_t))) != NULL) {
        uv_timer_init(run->env.loop, job->retry);
        job->retry->data = job;
        uv_timer_start(job->retry, on_retry, 500u << run->finish_tries, 0);
        return;
    }
    if (rc != STORE_OK)
        log_json(LOG_ERROR, "run row not saved",
                 json_pack("{s:s, s:s, s:i}", "run_id", run->run_id, "workspace_id", run->ws,
                           "store_rc", (int)rc));
    finish_end(job);
}

static void finish_submit(finish_job_t *job)
{
    if (store_submit(job->run->env.store, job->run->env.loop, finish_work, finish_done, job) != 0)
        finish_done(STORE_UNAVAILABLE, job);
}

void run_store_finish(run_t *run, void (*done)(run_t *run))
{
    finish_job_t *job = calloc(1, sizeof(*job));
    if (!run->row_written || job == NULL) {
        free(job);
        done(run);
        return;
    }
    job->run = run;
    job->done = done;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(job->day, sizeof(job->day), "%Y-%m-%d", &tm);
    const char *content = run->content ? run->content : run->end_text;
    job->patch = json_pack("{s:s, s:s?, s:O, s:O, s:o}", "status", run->status, "content", content,
                           "messages", run->run_messages, "tools", run->tools_log, "metrics",
                           run_metrics(run));
    finish_submit(job);
}
