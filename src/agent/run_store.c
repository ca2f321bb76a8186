/* The run's row: before the model is called, the session (made when new),
 * the history and a RUNNING row; at the end, the final row, the session's
 * tokens and the day's usage. Jobs run on the store pool and see only the
 * run's fields the loop leaves alone meanwhile. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/run_internal.h"
#include "agent/run_store.h"
#include "core/log.h"
#include "store/store_finish.h"

#define SESSION_NAME_CHARS 80

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

/* The caller's keys win over the stored ones, nested objects merged key
 * by key (Agno's merge_dictionaries), and the result is the session's
 * state from now on. Without caller keys the stored state is left alone. */
static store_rc_t merge_state(store_conn_t *c, run_t *run, json_t *stored)
{
    json_t *merged = json_is_object(stored) ? json_deep_copy(stored) : json_object();
    if (merged == NULL || json_object_update_recursive(merged, run->state_in) != 0) {
        json_decref(merged);
        return STORE_ERROR;
    }
    /* Each run's keys are bounded at the edge; their sum over runs is here. */
    char *text = json_dumps(merged, JSON_COMPACT);
    size_t len = text != NULL ? strlen(text) : SIZE_MAX;
    free(text);
    if (len > RUN_STATE_MAX) {
        run->state_too_large = 1;
        json_decref(merged);
        return STORE_ERROR;
    }
    json_t *patch = json_pack("{s:O}", "session_state", merged);
    store_rc_t rc = patch != NULL ? store_session_update(c, run->ws, run->session_id, patch, NULL)
                                  : STORE_ERROR;
    json_decref(patch);
    if (rc == STORE_OK)
        run->session_state = merged;
    else
        json_decref(merged);
    return rc;
}

static store_rc_t create_session(store_conn_t *c, run_t *run)
{
    json_t *s = json_pack("{s:s, s:s, s:s, s:s, s:o}", "session_id", run->session_id,
                          "session_type", "agent", "agent_id", run->agent->id, "user_id", run->user,
                          "session_name", session_name(run->message));
    if (s != NULL && run->state_in != NULL)
        json_object_set(s, "session_state", run->state_in);
    store_rc_t rc = s != NULL ? store_session_create(c, run->ws, s, NULL) : STORE_ERROR;
    json_decref(s);
    if (rc == STORE_OK && run->state_in != NULL)
        run->session_state = json_incref(run->state_in);
    return rc;
}

static store_rc_t ensure_session(store_conn_t *c, run_t *run)
{
    json_t *row = NULL;
    store_rc_t rc = store_session_get(c, run->ws, run->session_id, &row);
    if (rc == STORE_NOT_FOUND) {
        rc = create_session(c, run);
        if (rc != STORE_CONFLICT)
            return rc;
        /* made by a run beside this one: its state is merged into */
        rc = store_session_get(c, run->ws, run->session_id, &row);
    }
    json_t *state = json_object_get(row, "session_state");
    if (rc == STORE_OK && run->state_in != NULL)
        rc = merge_state(c, run, state);
    else if (json_is_object(state)) /* the state the run ends with: runs do not change it */
        run->session_state = json_incref(state);
    json_decref(row);
    return rc;
}

/* Earlier completed runs, tool traffic included (run_history.c). Failed
 * and cancelled runs are read too but left out, so more rows are read than
 * runs kept: a few failures do not empty the history. */
static store_rc_t load_history(store_conn_t *c, run_t *run)
{
    int want = run->agent->num_history_runs;
    int limit = want > RUN_HISTORY_MAX_ROWS / 2 ? RUN_HISTORY_MAX_ROWS : want * 2 + 4;
    json_t *rows = NULL;
    store_rc_t rc = store_run_list(c, run->ws, run->session_id, NULL, limit, &rows);
    if (rc != STORE_OK)
        return rc;
    run->history = run_history_build(rows, want, RUN_HISTORY_MAX_BYTES);
    json_decref(rows);
    return run->history != NULL ? STORE_OK : STORE_ERROR;
}

static store_rc_t insert_row(store_conn_t *c, run_t *run)
{
    json_t *row =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:s, s:[], s:[], s:{}}", "run_id",
                  run->run_id, "session_id", run->session_id, "agent_id", run->agent->id, "user_id",
                  run->user, "status", run_status_name(RUN_STATUS_RUNNING), "input",
                  "input_content", run->message, "model", run->agent->model.id, "model_provider",
                  run->agent->provider, "owner", run->env.owner, "messages", "tools", "metrics");
    if (row != NULL && run->metadata != NULL)
        json_object_set(row, "metadata", run->metadata);
    store_rc_t rc = row != NULL ? store_run_create(c, run->ws, row, NULL) : STORE_ERROR;
    json_decref(row);
    return rc;
}

static store_rc_t setup_unit(store_conn_t *c, void *data)
{
    run_t *run = data;
    store_rc_t rc = ensure_session(c, run);
    if (rc == STORE_OK && run->agent->add_history_to_context && run->agent->num_history_runs > 0)
        rc = load_history(c, run);
    if (rc == STORE_OK && (rc = insert_row(c, run)) == STORE_OK)
        run->row_written = 1;
    return rc;
}

/* The session, its state and the row in one transaction: one commit (one
 * WAL sync point) per setup instead of one per statement, and a setup that
 * fails half way leaves nothing behind. */
static store_rc_t setup_work(store_conn_t *c, void *data)
{
    run_t *run = ((setup_job_t *)data)->run;
    store_rc_t rc = store_in_tx(c, setup_unit, run);
    if (rc != STORE_OK)
        run->row_written = 0; /* rolled back with the rest */
    return rc;
}

static void setup_done(store_rc_t rc, void *data)
{
    setup_job_t *job = data;
    run_t *run = job->run;
    void (*done)(run_t *, store_rc_t) = job->done;
    free(job);
    if (rc != STORE_OK)
        run->row_written = 0; /* its batch did not commit */
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
    /* Bounded: a run's setup is work a request starts (its finish is not).
     * Batchable: setups queued together share one commit. */
    int rc = store_submit_bounded_batch(run->env.store, run->env.loop, setup_work, setup_done, job);
    if (rc == 0)
        return;
    /* Never done inside run_start: its caller has not seen the run yet. */
    job->rc = rc == STORE_SUBMIT_BUSY ? STORE_BUSY : STORE_UNAVAILABLE;
    job->refused.data = job;
    uv_timer_init(run->env.loop, &job->refused); /* neither fails on a live loop */
    uv_timer_start(&job->refused, on_refused, 0, 0);
}

/* ---- the end ---- */

/* Set before the loops start, read-only after. */
static store_finisher_t *finisher;

void run_store_use_finisher(store_finisher_t *f)
{
    finisher = f;
}

typedef struct finish_job {
    run_t *run;
    void (*done)(run_t *run);
    json_t *rec;
    uint64_t ticket; /* the finisher's, 0 without one */
} finish_job_t;

static store_rc_t finish_work(store_conn_t *c, void *data)
{
    return store_finish_write(c, ((finish_job_t *)data)->rec);
}

/* An acknowledged run must not be lost to a database outage: a first try
 * here, then the finisher retries for as long as the process lives (and
 * journals the row at shutdown). The run itself ends after the first try,
 * so a client waits for no outage and the slot is freed. */
static void finish_done(store_rc_t rc, void *data)
{
    finish_job_t *job = data;
    run_t *run = job->run;
    if (rc == STORE_UNAVAILABLE && job->ticket != 0) {
        store_finisher_retry(finisher, job->ticket);
        log_json(LOG_LEVEL_WARN, "run row pending: the database is unavailable, retrying",
                 json_pack("{s:s, s:s}", "run_id", run->run_id, "workspace_id", run->ws));
    } else {
        if (job->ticket != 0)
            store_finisher_landed(finisher, job->ticket);
        if (rc != STORE_OK)
            log_json(LOG_LEVEL_ERROR, "run row not saved",
                     json_pack("{s:s, s:s, s:i}", "run_id", run->run_id, "workspace_id", run->ws,
                               "store_rc", (int)rc));
    }
    void (*done)(run_t *) = job->done;
    json_decref(job->rec);
    free(job);
    done(run);
}

/* Everything the finish write needs, apart from the run (store_finish.h):
 * the same record is the journal's line. */
static json_t *finish_record(run_t *run)
{
    time_t now = time(NULL);
    struct tm tm;
    char day[11];
    gmtime_r(&now, &tm);
    strftime(day, sizeof(day), "%Y-%m-%d", &tm);
    const char *content = run->content ? run->content : run->end_text;
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s, s:O, s:O, s:o, s:I, "
                     "s:I}",
                     "workspace_id", run->ws, "run_id", run->run_id, "session_id", run->session_id,
                     "agent_id", run->agent->id, "user_id", run->user, "model",
                     run->agent->model.id, "model_provider", run->agent->provider, "status",
                     run_status_name(run->status), "content", content, "day", day, "messages",
                     run->run_messages, "tools", run->tools_log, "metrics", run_metrics(run),
                     "input_tokens", (json_int_t)run->input_tokens, "output_tokens",
                     (json_int_t)run->output_tokens);
}

/* Accounted for by the finisher before the first try, so that a shutdown
 * in the middle of that try still journals it. */
static uint64_t finish_ticket(const json_t *rec)
{
    if (finisher == NULL)
        return 0;
    char *line = json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(15));
    uint64_t ticket = line != NULL ? store_finisher_add(finisher, line, 0) : 0;
    free(line);
    if (ticket == 0)
        log_msg(LOG_LEVEL_WARN, "run row not held for retries: too many rows pending");
    return ticket;
}

void run_store_finish(run_t *run, void (*done)(run_t *run))
{
    finish_job_t *job = run->row_written ? calloc(1, sizeof(*job)) : NULL;
    if (job != NULL && (job->rec = finish_record(run)) == NULL) {
        free(job);
        job = NULL;
    }
    if (job == NULL) {
        if (run->row_written)
            log_json(LOG_LEVEL_ERROR, "run row not saved: out of memory",
                     json_pack("{s:s, s:s}", "run_id", run->run_id, "workspace_id", run->ws));
        done(run);
        return;
    }
    job->run = run;
    job->done = done;
    job->ticket = finish_ticket(job->rec);
    /* Batchable: finishes queued together share one commit. */
    if (store_submit_batch(run->env.store, run->env.loop, finish_work, finish_done, job) != 0)
        finish_done(STORE_UNAVAILABLE, job);
}
