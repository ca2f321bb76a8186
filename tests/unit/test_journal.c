/* The run journal (store_journal.c), the finish write it replays
 * (store_finish.c) and the finisher that feeds it (store_finisher.c):
 * append and replay in order, a torn last line, the file kept until every
 * record landed, the bound, and a finish write that lands once however
 * often it is replayed. The store cases run on SQLite, and on PostgreSQL
 * when TEST_DATABASE_URL is set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/timeutil.h"
#include "store/store_finish.h"
#include "store/store_finisher.h"
#include "store/store_journal.h"
#include "test_store_support.h"

/* ---- a journal in a directory of its own ---- */

typedef struct jdir {
    char dir[64];
    char path[128];
} jdir_t;

static void jdir_make(jdir_t *j)
{
    *j = (jdir_t){.dir = "/tmp/agentos-journal-XXXXXX"};
    assert_non_null(mkdtemp(j->dir));
    assert_int_equal(store_journal_path(j->dir, j->path, sizeof j->path), 0);
}

static void jdir_drop(jdir_t *j)
{
    unlink(j->path);
    rmdir(j->dir);
}

static void write_raw(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* What replay saw: the run ids in order; verdict KEEP for keep_id. */
typedef struct seen {
    char ids[8][64];
    size_t n;
    const char *keep_id;
} seen_t;

static store_journal_verdict_t collect(json_t *rec, void *ud)
{
    seen_t *s = ud;
    const char *id = json_string_value(json_object_get(rec, "run_id"));
    if (s->n < 8)
        snprintf(s->ids[s->n++], 64, "%s", id ? id : "?");
    return s->keep_id && id && strcmp(id, s->keep_id) == 0 ? STORE_JOURNAL_KEEP
                                                           : STORE_JOURNAL_DONE;
}

static int replay(const char *path, seen_t *s, store_journal_stats_t *st)
{
    char err[256] = "";
    return store_journal_replay(path, STORE_JOURNAL_MAX_BYTES, collect, s, st, err, sizeof err);
}

static void test_append_then_replay_in_order(void **state)
{
    (void)state;
    jdir_t j;
    jdir_make(&j);
    const char *a[] = {"{\"run_id\":\"r1\"}", "{\"run_id\":\"r2\"}"};
    const char *b[] = {"{\"run_id\":\"r3\"}"};
    char err[256] = "";
    assert_int_equal(store_journal_append(j.path, 1 << 20, a, 2, err, sizeof err), 2);
    assert_int_equal(store_journal_append(j.path, 1 << 20, b, 1, err, sizeof err), 1);
    seen_t s = {0};
    store_journal_stats_t st;
    assert_int_equal(replay(j.path, &s, &st), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.ids[0], "r1");
    assert_string_equal(s.ids[1], "r2");
    assert_string_equal(s.ids[2], "r3");
    assert_int_equal(st.done, 3);
    assert_int_equal(access(j.path, F_OK), -1); /* every record landed: gone */
    /* no file: nothing to do */
    memset(&s, 0, sizeof s);
    assert_int_equal(replay(j.path, &s, &st), 0);
    assert_int_equal(s.n, 0);
    jdir_drop(&j);
}

static void test_torn_last_line_is_skipped(void **state)
{
    (void)state;
    jdir_t j;
    jdir_make(&j);
    write_raw(j.path, "{\"run_id\":\"r1\"}\nnot json\n{\"run_id\":\"r2\",\"cont");
    seen_t s = {0};
    store_journal_stats_t st;
    assert_int_equal(replay(j.path, &s, &st), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.ids[0], "r1");
    assert_int_equal(st.skipped, 2);
    assert_int_equal(access(j.path, F_OK), -1);

    /* an append after a torn line starts a line of its own */
    write_raw(j.path, "{\"run_id\":\"r1\"}\n{\"run_id\":\"torn");
    const char *c[] = {"{\"run_id\":\"r3\"}"};
    char err[256] = "";
    assert_int_equal(store_journal_append(j.path, 1 << 20, c, 1, err, sizeof err), 1);
    memset(&s, 0, sizeof s);
    assert_int_equal(replay(j.path, &s, &st), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.ids[1], "r3");
    assert_int_equal(st.skipped, 1);
    jdir_drop(&j);
}

static void test_file_stays_until_every_record_landed(void **state)
{
    (void)state;
    jdir_t j;
    jdir_make(&j);
    const char *a[] = {"{\"run_id\":\"r1\"}", "{\"run_id\":\"r2\"}"};
    char err[256] = "";
    assert_int_equal(store_journal_append(j.path, 1 << 20, a, 2, err, sizeof err), 2);
    seen_t s = {.keep_id = "r2"};
    store_journal_stats_t st;
    assert_int_equal(replay(j.path, &s, &st), 0);
    assert_int_equal(st.done, 1);
    assert_int_equal(st.kept, 1);
    assert_int_equal(access(j.path, F_OK), 0);
    memset(&s, 0, sizeof s);
    assert_int_equal(replay(j.path, &s, &st), 0); /* the next start: both again */
    assert_int_equal(s.n, 2);
    assert_int_equal(access(j.path, F_OK), -1);
    jdir_drop(&j);
}

static void test_journal_is_bounded(void **state)
{
    (void)state;
    jdir_t j;
    jdir_make(&j);
    const char *a[] = {"{\"run_id\":\"r1\"}", "{\"run_id\":\"r2-longer-than-the-rest\"}"};
    char err[256] = "";
    assert_int_equal(store_journal_append(j.path, 20, a, 2, err, sizeof err), 1);
    assert_non_null(strstr(err, "full"));
    /* a file above the bound is not read, and stays */
    seen_t s = {0};
    store_journal_stats_t st;
    assert_int_equal(store_journal_replay(j.path, 4, collect, &s, &st, err, sizeof err), -1);
    assert_int_equal(access(j.path, F_OK), 0);
    /* a directory that cannot be made: nothing written, and why */
    err[0] = '\0';
    assert_int_equal(store_journal_append("/proc/nonexistent/x/run-journal.jsonl", 1 << 20, a, 1,
                                          err, sizeof err),
                     0);
    assert_true(err[0] != '\0');
    jdir_drop(&j);
}

/* ---- the finish write ---- */

static void mk_running(const char *ws, const char *sid, const char *run_id, const char *owner)
{
    json_t *s = json_pack("{s:s}", "session_id", sid);
    store_rc_t rc = store_session_create(F->conn, ws, s, NULL);
    assert_true(rc == STORE_OK || rc == STORE_CONFLICT);
    json_decref(s);
    json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:s}", "run_id", run_id, "session_id", sid,
                          "status", "RUNNING", "agent_id", "a1", "owner", owner);
    assert_int_equal(store_run_create(F->conn, ws, r, NULL), STORE_OK);
    json_decref(r);
}

static json_t *record(const char *ws, const char *sid, const char *run_id, const char *status)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:[], "
                     "s:{s:i}, s:i, s:i}",
                     "workspace_id", ws, "run_id", run_id, "session_id", sid, "status", status,
                     "agent_id", "a1", "user_id", "u1", "model", "m", "model_provider", "openai",
                     "content", "the answer", "day", "2026-12-01", "messages", "role", "assistant",
                     "content", "the answer", "tools", "metrics", "input_tokens", 7, "input_tokens",
                     7, "output_tokens", 5);
}

static void check_row(const char *ws, const char *sid, const char *run_id, const char *status,
                      long long tokens, long long usage_runs)
{
    json_t *row = NULL;
    assert_int_equal(store_run_get(F->conn, ws, run_id, &row), STORE_OK);
    assert_string_equal(json_string_value(json_object_get(row, "status")), status);
    assert_string_equal(json_string_value(json_object_get(row, "content")), "the answer");
    json_decref(row);
    assert_int_equal(store_session_get(F->conn, ws, sid, &row), STORE_OK);
    assert_int_equal(json_integer_value(json_object_get(row, "total_tokens")), tokens);
    json_decref(row);
    json_t *rows = NULL;
    assert_int_equal(store_usage_list(F->conn, ws, NULL, NULL, &rows), STORE_OK);
    long long runs = 0;
    size_t i;
    json_t *u;
    json_array_foreach(rows, i, u) runs += json_integer_value(json_object_get(u, "runs"));
    assert_int_equal(runs, usage_runs);
    json_decref(rows);
}

static void test_finish_write_lands_once(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    mk_running(ws, "s1", "r1", "me");
    json_t *rec = record(ws, "s1", "r1", "COMPLETED");
    assert_int_equal(store_finish_write(F->conn, rec), STORE_OK);
    check_row(ws, "s1", "r1", "COMPLETED", 12, 1);
    assert_int_equal(store_finish_write(F->conn, rec), STORE_OK); /* a retry, a replay */
    check_row(ws, "s1", "r1", "COMPLETED", 12, 1);
    json_decref(rec);
    /* not there, not a record */
    rec = record(ws, "s1", "nope", "COMPLETED");
    assert_int_equal(store_finish_write(F->conn, rec), STORE_NOT_FOUND);
    json_object_del(rec, "workspace_id");
    assert_int_equal(store_finish_write(F->conn, rec), STORE_ERROR);
    json_decref(rec);
}

static void test_finish_write_wins_over_the_sweep(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    mk_running(ws, "s1", "r1", "gone-process");
    long long n = 0;
    assert_int_equal(store_runs_interrupt_orphans(F->conn, "me", 0, &n), STORE_OK);
    assert_true(n >= 1);
    json_t *row = NULL;
    assert_int_equal(store_run_get(F->conn, ws, "r1", &row), STORE_OK);
    assert_string_equal(json_string_value(json_object_get(row, "status")), "ERROR");
    json_decref(row);
    json_t *rec = record(ws, "s1", "r1", "COMPLETED");
    assert_int_equal(store_finish_write(F->conn, rec), STORE_OK);
    json_decref(rec);
    check_row(ws, "s1", "r1", "COMPLETED", 12, 1);
}

static store_journal_verdict_t land(json_t *rec, void *ud)
{
    (void)ud;
    return store_finish_write(F->conn, rec) == STORE_UNAVAILABLE ? STORE_JOURNAL_KEEP
                                                                 : STORE_JOURNAL_DONE;
}

static void test_replay_through_the_finish_write_is_idempotent(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    mk_running(ws, "s1", "r1", "gone-process");
    mk_running(ws, "s1", "r2", "gone-process");
    json_t *r1 = record(ws, "s1", "r1", "COMPLETED"), *r2 = record(ws, "s1", "r2", "CANCELLED");
    char *l1 = json_dumps(r1, JSON_COMPACT), *l2 = json_dumps(r2, JSON_COMPACT);
    const char *lines[] = {l1, l2, l1}; /* the same record twice: a shutdown after a crash */
    jdir_t j;
    jdir_make(&j);
    char err[256] = "";
    assert_int_equal(store_journal_append(j.path, 1 << 20, lines, 3, err, sizeof err), 3);
    store_journal_stats_t st;
    assert_int_equal(store_journal_replay(j.path, 1 << 20, land, NULL, &st, err, sizeof err), 0);
    assert_int_equal(st.done, 3);
    assert_int_equal(access(j.path, F_OK), -1);
    /* r2 was CANCELLED: its tokens count, not its usage */
    check_row(ws, "s1", "r1", "COMPLETED", 24, 1);
    json_t *row = NULL;
    assert_int_equal(store_run_get(F->conn, ws, "r2", &row), STORE_OK);
    assert_string_equal(json_string_value(json_object_get(row, "status")), "CANCELLED");
    json_decref(row);
    free(l1);
    free(l2);
    json_decref(r1);
    json_decref(r2);
    jdir_drop(&j);
}

/* ---- the finisher ---- */

static void wait_pending(store_finisher_t *f, size_t want, int ms)
{
    uint64_t until = timeutil_mono_us() + (uint64_t)ms * 1000;
    while (store_finisher_pending(f) != want && timeutil_mono_us() < until)
        usleep(10000);
    assert_int_equal(store_finisher_pending(f), want);
}

static void test_finisher_retries_until_the_database_is_back(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    mk_running(ws, "s1", "r1", "me");
    jdir_t j;
    jdir_make(&j);
    store_finisher_config_t cfg = {.store = F->store,
                                   .journal_path = j.path,
                                   .max_bytes = 1 << 20,
                                   .retry_base_ms = 10,
                                   .retry_max_ms = 50};
    fx_break_database(1);
    store_finisher_t *f = store_finisher_start(&cfg);
    assert_non_null(f);
    json_t *rec = record(ws, "s1", "r1", "COMPLETED");
    char *line = json_dumps(rec, JSON_COMPACT);
    assert_true(store_finisher_add(f, line, 1) != 0);
    usleep(300 * 1000); /* several tries while the database is away */
    assert_int_equal(store_finisher_pending(f), 1);
    fx_break_database(0);
    wait_pending(f, 0, 10000);
    store_finisher_result_t res = store_finisher_stop(f, timeutil_mono_us(), 1000);
    assert_true(res.joined);
    assert_int_equal(res.journalled, 0);
    store_finisher_free(f);
    assert_int_equal(access(j.path, F_OK), -1); /* nothing to journal */
    F->conn = store_conn_get(F->store);
    check_row(ws, "s1", "r1", "COMPLETED", 12, 1);
    free(line);
    json_decref(rec);
    jdir_drop(&j);
}

static void test_finisher_journals_what_is_left_at_stop(void **state)
{
    (void)state;
    jdir_t j;
    jdir_make(&j);
    store_finisher_config_t cfg = {.store = F->store,
                                   .journal_path = j.path,
                                   .max_bytes = 1 << 20,
                                   .retry_base_ms = 10,
                                   .retry_max_ms = 50};
    char *lines[3];
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "q%d", i + 1);
        json_t *rec = record("ws-x", "s1", id, "COMPLETED");
        lines[i] = json_dumps(rec, JSON_COMPACT);
        json_decref(rec);
    }
    store_finisher_t *f = store_finisher_start(&cfg);
    uint64_t t1 = store_finisher_add(f, lines[0], 0); /* a caller's first try */
    uint64_t t2 = store_finisher_add(f, lines[1], 0);
    uint64_t t3 = store_finisher_add(f, lines[2], 0);
    for (int i = 0; i < 3; i++)
        free(lines[i]);
    assert_true(t1 && t2 && t3);
    store_finisher_landed(f, t2); /* landed: forgotten */
    assert_int_equal(store_finisher_pending(f), 2);
    /* the callers' tries still in progress at the deadline */
    store_finisher_result_t res = store_finisher_stop(f, timeutil_mono_us() + 100000, 1000);
    assert_true(res.joined);
    assert_int_equal(res.journalled, 2);
    assert_int_equal(res.lost, 0);
    store_finisher_free(f);
    seen_t s = {0};
    store_journal_stats_t st;
    assert_int_equal(replay(j.path, &s, &st), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.ids[0], "q1");
    assert_string_equal(s.ids[1], "q3");
    jdir_drop(&j);
}

static void test_finisher_is_bounded(void **state)
{
    (void)state;
    jdir_t j;
    jdir_make(&j);
    store_finisher_config_t cfg = {.store = F->store,
                                   .journal_path = j.path,
                                   .max_bytes = 32,
                                   .retry_base_ms = 10,
                                   .retry_max_ms = 50};
    store_finisher_t *f = store_finisher_start(&cfg);
    assert_true(store_finisher_add(f, "{\"run_id\":\"q1\"}", 0) != 0);
    assert_int_equal(store_finisher_add(f, "{\"run_id\":\"q2-too-many\"}", 0), 0);
    store_finisher_result_t res = store_finisher_stop(f, timeutil_mono_us(), 1000);
    assert_int_equal(res.journalled, 1);
    store_finisher_free(f);
    jdir_drop(&j);
}

#define CASE(fn) cmocka_unit_test(fn)

static const struct CMUnitTest cases[] = {
    CASE(test_append_then_replay_in_order),
    CASE(test_torn_last_line_is_skipped),
    CASE(test_file_stays_until_every_record_landed),
    CASE(test_journal_is_bounded),
    CASE(test_finish_write_lands_once),
    CASE(test_finish_write_wins_over_the_sweep),
    CASE(test_replay_through_the_finish_write_is_idempotent),
    CASE(test_finisher_retries_until_the_database_is_back),
    CASE(test_finisher_journals_what_is_left_at_stop),
    CASE(test_finisher_is_bounded),
};

int main(void)
{
    return FX_RUN_ALL(cases);
}
