/* One storage interface, two back ends (SQLite by default, PostgreSQL by
 * DATABASE_URL). Every function takes the workspace and every query filters
 * on it: no call can read or change another workspace's rows.
 *
 * The store_* data functions are blocking: they run on libuv's thread pool
 * (store_submit), each pool thread holding its own connection. They are
 * never called on a loop thread. */
#ifndef AGENTOS_STORE_STORE_H
#define AGENTOS_STORE_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef enum {
    STORE_OK = 0,
    STORE_NOT_FOUND,   /* no such row in this workspace */
    STORE_CONFLICT,    /* the key exists already */
    STORE_UNAVAILABLE, /* the database cannot be reached or timed out: 503 */
    STORE_ERROR,       /* anything else: 500 */
    STORE_BUSY,        /* the store queue is full: 503, try again */
} store_rc_t;

typedef struct store_config {
    const char *database_url;   /* NULL or "": SQLite in data_dir; else postgres(ql):// */
    const char *data_dir;       /* NULL: "data"; created when missing */
    const char *schema;         /* PostgreSQL schema, [a-z_][a-z0-9_]*; NULL: "agentos" */
    int connect_timeout_s;      /* <= 0: 5 (libpq's minimum is 2) */
    int statement_timeout_ms;   /* <= 0: 5000 (SQLite waits up to 5 s for a lock) */
    int wal_checkpoint_ms;      /* SQLite: WAL checkpoint interval; <= 0: 200 */
    int wal_checkpoint_commits; /* SQLite: ...or after this many commits; <= 0: 512 */
} store_config_t;

typedef struct store store_t;           /* shared, read-only once opened */
typedef struct store_conn store_conn_t; /* one per pool thread */

/* Opens the store and runs the migrations (under an advisory lock on
 * PostgreSQL, so replicas never race). Blocking: call at start-up. NULL and
 * one line in err when the database cannot be reached or migrated. */
store_t *store_open(const store_config_t *cfg, char *err, size_t errlen);
/* Closes every thread's connection: call once no submitted work is left. */
void store_close(store_t *s);
const char *store_backend_name(const store_t *s); /* "sqlite" or "postgres" */

/* The calling thread's connection, opened on first use and reopened after a
 * failure. NULL (and STORE_UNAVAILABLE from every call) while the database
 * is down. */
store_conn_t *store_conn_get(store_t *s);

/* ---- async: run work on the pool, done back on the loop ---- */

typedef store_rc_t (*store_work_fn)(store_conn_t *c, void *data);
typedef void (*store_done_fn)(store_rc_t rc, void *data);

/* Runs work(c, data) in one transaction: committed when it returns
 * STORE_OK, rolled back otherwise, so several statements cost one commit.
 * Inside a transaction already (a batch, store_submit_batch), work runs
 * under a savepoint instead: its failure undoes only its own writes, and
 * the enclosing transaction's commit makes them durable. */
store_rc_t store_in_tx(store_conn_t *c, store_work_fn work, void *data);

/* Runs work(conn, data) on a pool thread, then done(rc, data) on loop.
 * While the database is down, work is not called and rc is
 * STORE_UNAVAILABLE. Returns 0, or -1 when it could not be queued (done is
 * then not called). It goes in the bulk lane, which waits while
 * store_submit_bounded's run-critical lane has work (store_lane.h). */
int store_submit(store_t *s, uv_loop_t *loop, store_work_fn work, store_done_fn done, void *data);
/* store_submit for work a request starts: refused (STORE_SUBMIT_BUSY, done
 * not called) while the queue holds queue_max jobs or more; it goes in the
 * run-critical lane. Internal writes that must not be lost (a run's
 * finish: store_submit_batch; heartbeats, the sweep: store_submit) are
 * never refused by the bound but still count. */
#define STORE_SUBMIT_BUSY (-2)
int store_submit_bounded(store_t *s, uv_loop_t *loop, store_work_fn work, store_done_fn done,
                         void *data);
/* store_submit for a write that may share one transaction with the
 * batchable jobs queued beside it (run finishes): work runs inside that
 * transaction and must make its writes through store_in_tx, so that its
 * failure undoes only its own. done sees STORE_OK only once the shared
 * transaction committed. */
int store_submit_batch(store_t *s, uv_loop_t *loop, store_work_fn work, store_done_fn done,
                       void *data);
/* store_submit_bounded for a batchable write (a run's setup): setups queued
 * together share one transaction, as store_submit_batch's jobs do. */
int store_submit_bounded_batch(store_t *s, uv_loop_t *loop, store_work_fn work, store_done_fn done,
                               void *data);
/* The bound for store_submit_bounded (<= 0: none). Set at start-up. */
void store_set_queue_max(store_t *s, int queue_max);
/* 1 while store_submit_bounded would refuse: a handler can answer 503
 * before it starts anything (a stream, a run) that a refusal would end. */
int store_queue_full(const store_t *s);
/* Jobs submitted whose done has not run yet. */
int store_queue_depth(const store_t *s);
/* When (timeutil_mono_us) a job last ended STORE_UNAVAILABLE; 0: never. A
 * cached "the store is up" older than this is wrong. */
uint64_t store_unavailable_at_us(const store_t *s);

/* ---- rows ----
 * Rows are JSON objects whose keys are the table's columns. Times are epoch
 * milliseconds (integers). JSON columns are JSON values, not strings. */

/* SELECT 1: for /ready. */
store_rc_t store_ping(store_conn_t *c);

/* Every data call: STORE_UNAVAILABLE when c is NULL or the database is gone
 * (the next call reconnects), STORE_ERROR for a NULL or empty workspace or
 * a malformed argument (a string field holding a non-string). *out and
 * *rows are new references the caller owns, NULL unless STORE_OK. */

/* Sessions. session: {session_id, session_type, agent_id, user_id, session_name,
 * session_state, metadata}; session_id is required, session_type defaults
 * to "agent"; created_at/updated_at are set by the store, total_tokens
 * starts at 0. STORE_CONFLICT when the id exists in ws. */
store_rc_t store_session_create(store_conn_t *c, const char *ws, const json_t *session,
                                json_t **out);
store_rc_t store_session_get(store_conn_t *c, const char *ws, const char *session_id, json_t **out);

typedef struct store_session_query {
    const char *session_type; /* NULL: any */
    const char *component_id; /* agent_id; NULL: any */
    const char *user_id;      /* NULL: any */
    const char *session_name; /* substring, case-insensitive; NULL: any */
    const char *sort_by;      /* "created_at" | "updated_at" | "session_name"; NULL: created_at */
    int sort_desc;
    int limit; /* >= 1 */
    int page;  /* >= 1 */
} store_session_query_t;

/* *rows: a JSON array of session rows (never with their runs); *total (may
 * be NULL): all matches. q NULL: the defaults. limit <= 0: 20; page <= 0: 1;
 * an unknown sort_by: created_at. */
store_rc_t store_session_list(store_conn_t *c, const char *ws, const store_session_query_t *q,
                              json_t **rows, long long *total);
/* patch may hold session_name, session_state, metadata (replaced whole; null
 * clears); other keys are ignored. Bumps updated_at. */
store_rc_t store_session_update(store_conn_t *c, const char *ws, const char *session_id,
                                const json_t *patch, json_t **out);
/* Deletes the session and its runs, in one transaction. STORE_NOT_FOUND
 * when ws has no such session. */
store_rc_t store_session_delete(store_conn_t *c, const char *ws, const char *session_id);
/* Deletes those of ids that exist in ws (and their runs), all in one
 * transaction; *deleted (may be NULL) counts them. */
store_rc_t store_sessions_delete(store_conn_t *c, const char *ws, const char *const *ids, size_t n,
                                 size_t *deleted);
/* store_sessions_delete, but ids[i] only when its session_type is
 * types[i] (Agno's DELETE /sessions pairs them); types NULL: any type. */
store_rc_t store_sessions_delete_typed(store_conn_t *c, const char *ws, const char *const *ids,
                                       const char *const *types, size_t n, size_t *deleted);
/* Adds a run's tokens to the session's input_tokens, output_tokens and
 * total_tokens (their sum), and bumps updated_at. */
store_rc_t store_session_add_tokens(store_conn_t *c, const char *ws, const char *session_id,
                                    long long input_tokens, long long output_tokens);

/* Runs. run: {run_id, session_id, agent_id, user_id, status, input, content,
 * messages, tools, metrics, model, model_provider, owner}; run_id and
 * session_id are required, status defaults to "PENDING". STORE_CONFLICT when
 * the run id exists in ws, STORE_NOT_FOUND when the session does not. */
store_rc_t store_run_create(store_conn_t *c, const char *ws, const json_t *run, json_t **out);
/* patch: any of status, content, messages, tools, metrics; bumps updated_at.
 * STORE_NOT_FOUND when ws has no such run. */
store_rc_t store_run_update(store_conn_t *c, const char *ws, const char *run_id,
                            const json_t *patch);
store_rc_t store_run_get(store_conn_t *c, const char *ws, const char *run_id, json_t **out);
/* Runs of a session (session_id NULL: any; agent_id NULL: any), oldest
 * first. limit > 0: only the newest limit runs (still oldest first); 0: all. */
store_rc_t store_run_list(store_conn_t *c, const char *ws, const char *session_id,
                          const char *agent_id, int limit, json_t **rows);

#define STORE_RUN_STATUSES_MAX 8

typedef struct store_run_query {
    const char *session_id; /* NULL: any */
    const char *agent_id;   /* NULL: any */
    int limit;              /* 1..; <= 0: 20 */
    int page;               /* 1 is the newest limit runs; <= 0: 1 */
    /* created_at bounds in epoch ms, both included, each when its has_ is set */
    int has_created_from, has_created_to;
    long long created_from_ms, created_to_ms;
    /* status IN these (exact text); nstatuses 0: any */
    const char *statuses[STORE_RUN_STATUSES_MAX];
    int nstatuses;
} store_run_query_t;

/* One page of runs, counted back from the newest (page 1: the newest
 * limit runs, page 2 the limit before them), each page oldest first.
 * *total (may be NULL): all matches. */
store_rc_t store_run_page(store_conn_t *c, const char *ws, const store_run_query_t *q,
                          json_t **rows, long long *total);

/* store_run_page's page, each run only {workspace_id, run_id, session_id,
 * agent_id, user_id, status, input, created_at} and its content's first
 * 280 characters: a preview never reads messages, tools or metrics. */
store_rc_t store_run_previews(store_conn_t *c, const char *ws, const store_run_query_t *q,
                              json_t **rows, long long *total);

/* ---- operator reads across every workspace ----
 * For operators only (tenant_is_operator), never on an end user's or a
 * service caller's behalf: they filter on no workspace, every row they
 * return carries its workspace_id, and none of them writes. v3's indexes
 * keep them index scans. */

/* The most rows a *_find_all_workspaces returns: enough to name the
 * workspaces an ambiguous id is in. */
#define STORE_FIND_MAX 16

/* store_session_list over every workspace; ties in the order break by
 * session_id, then workspace_id. */
store_rc_t store_session_list_all_workspaces(store_conn_t *c, const store_session_query_t *q,
                                             json_t **rows, long long *total);
/* The sessions with that id, in any workspace (ids are unique only within
 * one), by workspace_id; at most STORE_FIND_MAX. An empty array: none. */
store_rc_t store_session_find_all_workspaces(store_conn_t *c, const char *session_id,
                                             json_t **rows);
/* store_run_page over every workspace. */
store_rc_t store_run_page_all_workspaces(store_conn_t *c, const store_run_query_t *q, json_t **rows,
                                         long long *total);
/* The runs with that id, in any workspace, by workspace_id; at most
 * STORE_FIND_MAX. */
store_rc_t store_run_find_all_workspaces(store_conn_t *c, const char *run_id, json_t **rows);

/* Daily usage, one row per (workspace, day, agent, model, provider): one
 * call counts one run and adds its tokens; user_id (may be NULL) joins the
 * day's distinct users. day is "YYYY-MM-DD" (UTC); agent_id, model and
 * provider may be NULL. */
store_rc_t store_usage_add(store_conn_t *c, const char *ws, const char *day, const char *agent_id,
                           const char *user_id, const char *model, const char *provider,
                           long long input_tokens, long long output_tokens);
/* Usage rows {day, agent_id, model, model_provider, runs, input_tokens,
 * output_tokens} for from_day..to_day inclusive (either NULL: open), by day. */
store_rc_t store_usage_list(store_conn_t *c, const char *ws, const char *from_day,
                            const char *to_day, json_t **rows);
/* {day, users}: distinct users per day, same range rules. */
store_rc_t store_usage_users(store_conn_t *c, const char *ws, const char *from_day,
                             const char *to_day, json_t **rows);

/* Agno's daily metrics for from_day..to_day inclusive (both "YYYY-MM-DD"):
 * model_rows {day, model, model_provider, runs, input_tokens,
 * output_tokens, updated_at} by day and model, user_rows {day, users,
 * sessions?} (sessions: created that day; absent when none). */
store_rc_t store_metrics_days(store_conn_t *c, const char *ws, const char *from_day,
                              const char *to_day, json_t **model_rows, json_t **user_rows);
/* The same over every workspace: for operators only, never an end user. */
store_rc_t store_metrics_days_all_workspaces(store_conn_t *c, const char *from_day,
                                             const char *to_day, json_t **model_rows,
                                             json_t **user_rows);

/* ---- run owners: process bookkeeping, not workspace data ---- */

/* Records that owner (a process id) is alive now. */
store_rc_t store_owner_heartbeat(store_conn_t *c, const char *owner);
/* Marks RUNNING/PENDING runs of owners other than self that have not beaten
 * within stale_ms as ERROR ("interrupted"), in every workspace: the one
 * cross-workspace write, and it returns nothing of any workspace. */
store_rc_t store_runs_interrupt_orphans(store_conn_t *c, const char *self, long long stale_ms,
                                        long long *count);

/* ---- os_meta: the service's own settings, not workspace data ---- */

#define STORE_META_VALUE_MAX 128
/* The value under key; when there is none yet, candidate is stored first.
 * Replicas starting together agree: the first insert wins and every one
 * reads it back. out gets at most STORE_META_VALUE_MAX bytes + NUL. */
store_rc_t store_meta_get_or_set(store_conn_t *c, const char *key, const char *candidate,
                                 char out[STORE_META_VALUE_MAX + 1]);

#endif
