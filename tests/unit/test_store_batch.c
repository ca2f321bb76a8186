/* The store's per-run costs (issue 11): a run's setup is one transaction
 * (one commit, and nothing left behind when it fails); run-critical work
 * goes before a backlog of finishes; finishes queued together share one
 * commit, and one failing among them loses nothing of the others. Commits
 * and the order work ran in are counted, never timed. The pool has one
 * thread (UV_THREADPOOL_SIZE=1, set in main), so the order is the lanes'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/registry.h"
#include "agent/run_internal.h"
#include "store/store_sqlite_ckpt.h"
#include "store/store_sqlite_stmt.h"
#include "test_store_support.h"

typedef struct setup_case {
    agent_def_t agent;
    run_t run;
    uv_loop_t loop;
    store_rc_t rc;
    int done;
} setup_case_t;

static void on_setup(run_t *run, store_rc_t rc)
{
    setup_case_t *sc = (setup_case_t *)((char *)run - offsetof(setup_case_t, run));
    sc->rc = rc;
    sc->done++;
}

/* One run's setup on a loop of its own, as run_start submits it. */
static store_rc_t setup(char *ws, char *session_id, char *run_id)
{
    setup_case_t *sc = calloc(1, sizeof *sc);
    assert_non_null(sc);
    sc->agent = (agent_def_t){
        .id = "agent", .provider = "openai", .add_history_to_context = 1, .num_history_runs = 3};
    sc->agent.model.id = "m";
    assert_int_equal(uv_loop_init(&sc->loop), 0);
    sc->run = (run_t){.agent = &sc->agent,
                      .ws = ws,
                      .user = "u",
                      .session_id = session_id,
                      .run_id = run_id,
                      .message = "hello"};
    sc->run.env = (run_env_t){.loop = &sc->loop, .store = F->store, .owner = "test"};
    run_store_setup(&sc->run, on_setup);
    assert_int_equal(uv_run(&sc->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&sc->loop), 0);
    assert_int_equal(sc->done, 1);
    store_rc_t rc = sc->rc;
    json_decref(sc->run.history);
    json_decref(sc->run.session_state);
    free(sc);
    return rc;
}

static uint64_t commits(void)
{
    return atomic_load(&F->store->commits);
}

/* A new session and its first run: one commit, not one per write. */
static void test_setup_one_commit(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    uint64_t before = commits();
    assert_int_equal(setup(ws, "s1", "r1"), STORE_OK);
    assert_int_equal(commits() - before, 1);
    assert_int_equal(store_session_get(F->conn, ws, "s1", NULL), STORE_OK);
    assert_int_equal(store_run_get(F->conn, ws, "r1", NULL), STORE_OK);
    /* A second run of the same session reads its history: still one. */
    before = commits();
    assert_int_equal(setup(ws, "s1", "r2"), STORE_OK);
    assert_int_equal(commits() - before, 1);
}

/* A setup that fails at its last write leaves no new session behind. */
static void test_setup_failure_rolls_back(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    assert_int_equal(setup(ws, "s1", "r1"), STORE_OK);
    uint64_t before = commits();
    assert_int_equal(setup(ws, "s2", "r1"), STORE_CONFLICT); /* the run id is taken */
    assert_int_equal(commits(), before);
    assert_int_equal(store_session_get(F->conn, ws, "s2", NULL), STORE_NOT_FOUND);
}

/* The widest column count among this connection's cached statements
 * that start with prefix (SQLite). */
static int cached_columns(const char *prefix)
{
    store_sqlite_conn_t *sc = F->conn->db;
    int most = -1;
    for (int i = 0; i < sc->n; i++) {
        sqlite3_stmt *st = sc->e[i].st;
        if (strncmp(sqlite3_sql(st), prefix, strlen(prefix)) == 0 &&
            sqlite3_column_count(st) > most)
            most = sqlite3_column_count(st);
    }
    return most;
}

/* A create whose caller wants no row returns only the key: the row's JSON
 * columns are not decoded for nothing. */
static void test_create_returns_key_only(void **state)
{
    (void)state;
    if (F->loc.postgres)
        return;
    char ws[64];
    fx_new_ws(ws);
    store_stmt_clear(F->conn->db);
    json_t *s = json_pack("{s:s}", "session_id", "s");
    json_t *r = json_pack("{s:s, s:s, s:[]}", "run_id", "r", "session_id", "s", "messages");
    assert_int_equal(store_session_create(F->conn, ws, s, NULL), STORE_OK);
    assert_int_equal(store_run_create(F->conn, ws, r, NULL), STORE_OK);
    assert_int_equal(store_run_create(F->conn, ws, r, NULL), STORE_CONFLICT);
    assert_int_equal(cached_columns("INSERT INTO sessions"), 1);
    assert_int_equal(cached_columns("INSERT INTO runs"), 1);
    json_decref(s);
    json_decref(r);
}

/* ---- lanes and batches ---- */

typedef struct lane_state {
    uv_sem_t gate; /* holds the pool's one thread, while the backlog forms */
    const char *ws;
    atomic_int seq;
    int fail_at; /* the batched job that fails after its write */
} lane_state_t;

typedef struct lane_job {
    lane_state_t *st;
    int i;
    int ran_at; /* its place in the order work ran, from 1 */
    store_rc_t rc;
    int done;
} lane_job_t;

static store_rc_t gate_work(store_conn_t *c, void *data)
{
    (void)c;
    lane_job_t *job = data;
    uv_sem_wait(&job->st->gate);
    job->ran_at = atomic_fetch_add(&job->st->seq, 1) + 1;
    return STORE_OK;
}

static store_rc_t session_unit(store_conn_t *c, void *data)
{
    lane_job_t *job = data;
    char id[32];
    snprintf(id, sizeof id, "s%d", job->i);
    json_t *s = json_pack("{s:s}", "session_id", id);
    store_rc_t rc = store_session_create(c, job->st->ws, s, NULL);
    json_decref(s);
    return rc == STORE_OK && job->i == job->st->fail_at ? STORE_ERROR : rc;
}

/* A finish's shape: its writes through store_in_tx. */
static store_rc_t finish_like_work(store_conn_t *c, void *data)
{
    lane_job_t *job = data;
    job->ran_at = atomic_fetch_add(&job->st->seq, 1) + 1;
    return store_in_tx(c, session_unit, job);
}

static store_rc_t setup_like_work(store_conn_t *c, void *data)
{
    (void)c;
    lane_job_t *job = data;
    job->ran_at = atomic_fetch_add(&job->st->seq, 1) + 1;
    return STORE_OK;
}

static void lane_done(store_rc_t rc, void *data)
{
    lane_job_t *job = data;
    job->rc = rc;
    job->done++;
}

#define BACKLOG 10

/* A blocked thread, a backlog of finishes, then a run's setup: the setup
 * runs next, before every finish; the finishes then share one commit and
 * the one that failed took only its own write with it. */
static void test_setup_before_finish_backlog(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    lane_state_t st = {.ws = ws, .fail_at = 4};
    assert_int_equal(uv_sem_init(&st.gate, 0), 0);
    lane_job_t gate = {.st = &st}, setup_job = {.st = &st}, fin[BACKLOG];
    assert_int_equal(store_submit(F->store, &loop, gate_work, lane_done, &gate), 0);
    for (int i = 0; i < BACKLOG; i++) {
        fin[i] = (lane_job_t){.st = &st, .i = i};
        assert_int_equal(store_submit_batch(F->store, &loop, finish_like_work, lane_done, &fin[i]),
                         0);
    }
    assert_int_equal(store_submit_bounded(F->store, &loop, setup_like_work, lane_done, &setup_job),
                     0);
    uint64_t before = commits();
    uv_sem_post(&st.gate);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    uv_sem_destroy(&st.gate);
    assert_int_equal(setup_job.done, 1);
    for (int i = 0; i < BACKLOG; i++) {
        assert_int_equal(fin[i].done, 1);
        assert_true(setup_job.ran_at < fin[i].ran_at);
        assert_int_equal(fin[i].rc, i == st.fail_at ? STORE_ERROR : STORE_OK);
        char id[32];
        snprintf(id, sizeof id, "s%d", i);
        assert_int_equal(store_session_get(F->conn, ws, id, NULL),
                         i == st.fail_at ? STORE_NOT_FOUND : STORE_OK);
    }
    assert_int_equal(commits() - before, 1);
    assert_int_equal(store_queue_depth(F->store), 0);
}

#define SETUPS 5

/* Setups queued together behind a busy thread share one commit, and each
 * still gets its rows. */
static void test_setups_batched(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    lane_state_t st = {.ws = ws, .fail_at = -1};
    assert_int_equal(uv_sem_init(&st.gate, 0), 0);
    lane_job_t gate = {.st = &st};
    assert_int_equal(store_submit(F->store, &loop, gate_work, lane_done, &gate), 0);
    setup_case_t *sc = calloc(SETUPS, sizeof *sc);
    char sid[SETUPS][16], rid[SETUPS][16];
    for (int i = 0; i < SETUPS; i++) {
        snprintf(sid[i], sizeof sid[i], "s%d", i);
        snprintf(rid[i], sizeof rid[i], "r%d", i);
        sc[i].agent = (agent_def_t){.id = "agent", .provider = "openai"};
        sc[i].agent.model.id = "m";
        sc[i].run = (run_t){.agent = &sc[i].agent,
                            .ws = ws,
                            .user = "u",
                            .session_id = sid[i],
                            .run_id = rid[i],
                            .message = "hello"};
        sc[i].run.env = (run_env_t){.loop = &loop, .store = F->store, .owner = "test"};
        run_store_setup(&sc[i].run, on_setup);
    }
    uint64_t before = commits();
    uv_sem_post(&st.gate);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    uv_sem_destroy(&st.gate);
    assert_int_equal(commits() - before, 1);
    for (int i = 0; i < SETUPS; i++) {
        assert_int_equal(sc[i].done, 1);
        assert_int_equal(sc[i].rc, STORE_OK);
        assert_true(sc[i].run.row_written);
        assert_int_equal(store_run_get(F->conn, ws, rid[i], NULL), STORE_OK);
        json_decref(sc[i].run.session_state);
    }
    free(sc);
}

/* ---- one writer at a time, queued in the process ---- */

typedef struct writer {
    atomic_int busy_calls;
    store_rc_t rc;
    const char *ws;
} writer_t;

static int count_busy(void *arg, int tries)
{
    (void)tries;
    atomic_fetch_add(&((writer_t *)arg)->busy_calls, 1);
    uv_sleep(1);
    return 1; /* keep waiting */
}

static void writer_main(void *arg)
{
    writer_t *w = arg;
    store_conn_t *c = store_conn_get(F->store);
    sqlite3_busy_handler(((store_sqlite_conn_t *)c->db)->db, count_busy, w);
    json_t *s = json_pack("{s:s}", "session_id", "second");
    w->rc = store_session_create(c, w->ws, s, NULL);
    json_decref(s);
    sqlite3_busy_timeout(((store_sqlite_conn_t *)c->db)->db, 5000);
}

/* A write while another thread's write transaction is open waits for it
 * in the process, never in SQLite's sleeping busy handler. */
static void test_writers_queue_in_process(void **state)
{
    (void)state;
    if (F->loc.postgres)
        return;
    char ws[64];
    fx_new_ws(ws);
    writer_t w = {.ws = ws};
    assert_int_equal(store_tx_begin(F->conn), STORE_OK);
    uv_thread_t t;
    assert_int_equal(uv_thread_create(&t, writer_main, &w), 0);
    uv_sleep(200); /* room for the writer to reach its BEGIN: not a bound */
    json_t *s = json_pack("{s:s}", "session_id", "first");
    assert_int_equal(store_session_create(F->conn, ws, s, NULL), STORE_OK);
    json_decref(s);
    assert_int_equal(store_tx_commit(F->conn), STORE_OK);
    uv_thread_join(&t);
    assert_int_equal(w.rc, STORE_OK);
    assert_int_equal(atomic_load(&w.busy_calls), 0);
}

/* ---- WAL checkpoints off the commit path ---- */

typedef struct wal_watch {
    int last, restarts, commits;
} wal_watch_t;

/* Called by SQLite after each commit with the WAL's size: it shrinks only
 * when a checkpoint let the WAL start over. */
static int on_wal(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    wal_watch_t *w = arg;
    w->restarts += pages < w->last;
    w->last = pages;
    w->commits++;
    return SQLITE_OK;
}

typedef struct ckpt_store {
    fx_location_t loc;
    store_t *store;
    store_conn_t *conn;
    wal_watch_t watch;
} ckpt_store_t;

static void ckpt_open(ckpt_store_t *k, int interval_ms, int every)
{
    memset(k, 0, sizeof *k);
    store_config_t cfg = fx_fresh_location(&k->loc);
    cfg.wal_checkpoint_ms = interval_ms;
    cfg.wal_checkpoint_commits = every;
    char err[256] = "";
    k->store = store_open(&cfg, err, sizeof err);
    assert_non_null(k->store);
    k->conn = store_conn_get(k->store);
    assert_non_null(k->conn);
    sqlite3_wal_hook(((store_sqlite_conn_t *)k->conn->db)->db, on_wal, &k->watch);
}

static void ckpt_close(ckpt_store_t *k)
{
    store_close(k->store);
    fx_drop_location(&k->loc);
}

static void ckpt_commits(ckpt_store_t *k, int n)
{
    char id[32];
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "c%d", k->watch.commits);
        json_t *s = json_pack("{s:s}", "session_id", id);
        assert_int_equal(store_session_create(k->conn, "ws", s, NULL), STORE_OK);
        json_decref(s);
    }
}

/* Polls, never times: fails only if the thread never gets to it. */
static void wait_runs(ckpt_store_t *k, uint64_t n)
{
    for (int i = 0; i < 2000 && store_ckpt_runs(k->store->ckpt) < n; i++)
        uv_sleep(10);
    assert_true(store_ckpt_runs(k->store->ckpt) >= n);
}

/* With the thread's timer and commit count out of reach, 600 commits never
 * checkpoint: the WAL only grows (it used to start over after 256). */
static void test_commit_never_checkpoints(void **state)
{
    (void)state;
    if (F->loc.postgres)
        return;
    ckpt_store_t k;
    ckpt_open(&k, 60000, 1 << 30);
    ckpt_commits(&k, 600);
    assert_int_equal(k.watch.commits, 600);
    assert_int_equal(k.watch.restarts, 0);
    assert_int_equal(store_ckpt_runs(k.store->ckpt), 0);
    ckpt_close(&k);
}

/* The thread checkpoints after every_commits commits, and then the WAL
 * starts over; and on its timer when commits are few. */
static void test_thread_checkpoints(void **state)
{
    (void)state;
    if (F->loc.postgres)
        return;
    ckpt_store_t k;
    ckpt_open(&k, 60000, 50);
    /* A checkpoint that ran while commits went on copied only part of
     * the WAL: a few rounds give one that found it still. */
    for (uint64_t round = 1; round <= 20 && k.watch.restarts == 0; round++) {
        ckpt_commits(&k, 50); /* wakes the thread once */
        wait_runs(&k, round);
        ckpt_commits(&k, 1);
    }
    assert_true(k.watch.restarts >= 1);
    ckpt_close(&k);
    ckpt_open(&k, 10, 1 << 30);
    ckpt_commits(&k, 1);
    wait_runs(&k, 1);
    ckpt_close(&k);
}

#define CASE(fn) cmocka_unit_test(fn)

static const struct CMUnitTest cases[] = {
    CASE(test_setup_one_commit),         CASE(test_setup_failure_rolls_back),
    CASE(test_create_returns_key_only),  CASE(test_setup_before_finish_backlog),
    CASE(test_setups_batched),           CASE(test_writers_queue_in_process),
    CASE(test_commit_never_checkpoints), CASE(test_thread_checkpoints),
};

int main(void)
{
    setenv("UV_THREADPOOL_SIZE", "1", 1); /* before the pool starts */
    return FX_RUN_ALL(cases);
}
