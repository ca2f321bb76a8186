/* The operator's reads across every workspace (issue 8), against both back
 * ends: they see each workspace's rows with its workspace_id, filter and
 * page like the workspace reads, find an id that is in several workspaces
 * once per workspace, and stay index scans. Also the two workspace reads
 * that came with them: run previews and DELETE /sessions's session_types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_store_support.h"

static void sleep_ms(int ms)
{
    usleep((useconds_t)ms * 1000);
}

static void mk_session(const char *ws, const char *id, const char *agent, const char *type)
{
    json_t *s =
        json_pack("{s:s, s:s, s:s}", "session_id", id, "agent_id", agent, "session_type", type);
    assert_int_equal(store_session_create(F->conn, ws, s, NULL), STORE_OK);
    json_decref(s);
}

static void mk_run(const char *ws, const char *session_id, const char *run_id, const char *agent,
                   const char *content)
{
    json_t *r =
        json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:{s:s}}", "run_id", run_id, "session_id",
                  session_id, "agent_id", agent, "content", content, "messages", "role", "user",
                  "content", "hi", "input", "input_content", "hi there");
    assert_int_equal(store_run_create(F->conn, ws, r, NULL), STORE_OK);
    json_decref(r);
}

/* "workspace/id" of each row, joined by commas. */
static void join_rows(const json_t *rows, const char *id_key, char *out, size_t n)
{
    out[0] = '\0';
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *ws = json_string_value(json_object_get(row, "workspace_id"));
        const char *id = json_string_value(json_object_get(row, id_key));
        snprintf(out + strlen(out), n - strlen(out), "%s%s/%s", i ? "," : "", ws ? ws : "?",
                 id ? id : "?");
    }
}

static void test_session_list_all_workspaces(void **state)
{
    (void)state;
    char a[64], b[64], agent[64], got[512], want[512];
    fx_new_ws(a);
    fx_new_ws(b);
    fx_new_ws(agent); /* a marker only this test's sessions carry */
    mk_session(a, "s1", agent, "agent");
    sleep_ms(3);
    mk_session(b, "s1", agent, "agent"); /* the same id in another workspace */
    sleep_ms(3);
    mk_session(b, "s2", agent, "team");
    sleep_ms(3);
    mk_session(a, "s3", "someone-else", "agent");

    store_session_query_t q = {.component_id = agent, .sort_desc = 1, .limit = 20, .page = 1};
    json_t *rows = NULL;
    long long total = -1;
    assert_int_equal(store_session_list_all_workspaces(F->conn, &q, &rows, &total), STORE_OK);
    join_rows(rows, "session_id", got, sizeof got);
    snprintf(want, sizeof want, "%s/s2,%s/s1,%s/s1", b, b, a);
    assert_string_equal(got, want);
    assert_int_equal(total, 3);
    json_decref(rows);

    /* paged oldest first, the filters as in one workspace */
    q.sort_desc = 0;
    q.limit = 2;
    q.page = 2;
    assert_int_equal(store_session_list_all_workspaces(F->conn, &q, &rows, &total), STORE_OK);
    join_rows(rows, "session_id", got, sizeof got);
    snprintf(want, sizeof want, "%s/s2", b);
    assert_string_equal(got, want);
    assert_int_equal(total, 3);
    json_decref(rows);
    q = (store_session_query_t){
        .component_id = agent, .session_type = "team", .sort_by = "updated_at"};
    assert_int_equal(store_session_list_all_workspaces(F->conn, &q, &rows, &total), STORE_OK);
    join_rows(rows, "session_id", got, sizeof got);
    snprintf(want, sizeof want, "%s/s2", b);
    assert_string_equal(got, want);
    json_decref(rows);

    /* the workspace read still sees its own only */
    assert_int_equal(store_session_list(F->conn, a, &q, &rows, &total), STORE_OK);
    assert_int_equal(json_array_size(rows), 0);
    json_decref(rows);
    assert_int_equal(store_session_list_all_workspaces(NULL, &q, &rows, &total), STORE_UNAVAILABLE);
    assert_null(rows);
}

/* Runs in sessions dup (of a and b) and one (of b): by id in any
 * workspace, and one agent's page over all of them. */
static void assert_runs_all_workspaces(const char *a, const char *b, const char *dup,
                                       const char *one)
{
    char got[512], want[512];
    json_t *rows = NULL;
    char agent[64], rid[64];
    fx_new_ws(agent);
    fx_new_ws(rid);
    mk_run(a, dup, rid, agent, "first");
    sleep_ms(3);
    mk_run(b, dup, rid, agent, "second");
    sleep_ms(3);
    mk_run(b, one, "r-one", agent, "third");
    mk_run(b, one, "r-other-agent", "ag", "fourth");
    assert_int_equal(store_run_find_all_workspaces(F->conn, rid, &rows), STORE_OK);
    join_rows(rows, "run_id", got, sizeof got);
    snprintf(want, sizeof want, "%s/%s,%s/%s", a, rid, b, rid);
    assert_string_equal(got, want);
    json_decref(rows);
    long long total = -1;
    store_run_query_t q = {.agent_id = agent, .limit = 2, .page = 1};
    assert_int_equal(store_run_page_all_workspaces(F->conn, &q, &rows, &total), STORE_OK);
    join_rows(rows, "run_id", got, sizeof got); /* the newest two, oldest first */
    snprintf(want, sizeof want, "%s/%s,%s/r-one", b, rid, b);
    assert_string_equal(got, want);
    assert_int_equal(total, 3);
    json_decref(rows);
    q.page = 2;
    assert_int_equal(store_run_page_all_workspaces(F->conn, &q, &rows, NULL), STORE_OK);
    join_rows(rows, "run_id", got, sizeof got);
    snprintf(want, sizeof want, "%s/%s", a, rid);
    assert_string_equal(got, want);
    json_decref(rows);
    assert_int_equal(store_run_find_all_workspaces(NULL, rid, &rows), STORE_UNAVAILABLE);
    assert_int_equal(store_run_page_all_workspaces(NULL, &q, &rows, NULL), STORE_UNAVAILABLE);
}

static void test_find_all_workspaces(void **state)
{
    (void)state;
    char a[64], b[64], got[512], want[512];
    fx_new_ws(a);
    fx_new_ws(b);
    if (strcmp(a, b) > 0) { /* found rows come by workspace_id */
        char t[64];
        memcpy(t, a, sizeof t);
        memcpy(a, b, sizeof a);
        memcpy(b, t, sizeof b);
    }
    char dup[64], one[64];
    fx_new_ws(dup);
    fx_new_ws(one);
    mk_session(a, dup, "ag", "agent");
    mk_session(b, dup, "ag", "agent");
    mk_session(b, one, "ag", "agent");
    json_t *rows = NULL;
    assert_int_equal(store_session_find_all_workspaces(F->conn, dup, &rows), STORE_OK);
    join_rows(rows, "session_id", got, sizeof got);
    snprintf(want, sizeof want, "%s/%s,%s/%s", a, dup, b, dup);
    assert_string_equal(got, want);
    json_decref(rows);
    assert_int_equal(store_session_find_all_workspaces(F->conn, one, &rows), STORE_OK);
    assert_int_equal(json_array_size(rows), 1);
    json_decref(rows);
    assert_int_equal(store_session_find_all_workspaces(F->conn, "no-such-session", &rows),
                     STORE_OK);
    assert_int_equal(json_array_size(rows), 0);
    json_decref(rows);

    assert_runs_all_workspaces(a, b, dup, one);
}

/* The plan of a statement, all its text in one string. */
static void plan_of(const char *sql, char *out, size_t n)
{
    store_sql_t q;
    store_sql_init(&q, F->store);
    store_sql_add(&q, F->loc.postgres ? "EXPLAIN " : "EXPLAIN QUERY PLAN ");
    store_sql_add(&q, sql);
    json_t *rows = NULL;
    assert_int_equal(store_sql_exec(F->conn, &q, &rows, NULL), STORE_OK);
    out[0] = '\0';
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *k;
        json_t *v;
        json_object_foreach(row, k, v)
        {
            if (json_is_string(v))
                snprintf(out + strlen(out), n - strlen(out), "%s\n", json_string_value(v));
        }
    }
    json_decref(rows);
}

/* The list across workspaces reads its page off an index, in either time
 * order and direction: no sort of every session. (PostgreSQL is told to
 * avoid sequential scans, so the small table cannot hide a missing index.) */
static void test_all_workspaces_lists_are_index_scans(void **state)
{
    (void)state;
    static const char *const lists[] = {
        "SELECT * FROM {S}sessions WHERE 1 = 1 ORDER BY created_at DESC, session_id DESC,"
        " workspace_id DESC LIMIT 20 OFFSET 0",
        "SELECT * FROM {S}sessions WHERE 1 = 1 ORDER BY updated_at ASC, session_id ASC,"
        " workspace_id ASC LIMIT 20 OFFSET 0",
        "SELECT * FROM {S}runs WHERE 1 = 1 AND agent_id = 'x' ORDER BY created_at DESC,"
        " run_id DESC LIMIT 20 OFFSET 0",
        NULL,
    };
    static const char *const lookups[] = {
        "SELECT * FROM {S}sessions WHERE session_id = 'x' ORDER BY workspace_id LIMIT 16",
        "SELECT * FROM {S}runs WHERE run_id = 'x' ORDER BY workspace_id LIMIT 16",
        NULL,
    };
    if (F->loc.postgres)
        assert_int_equal(store_sql_run(F->conn, "SET enable_seqscan = off"), STORE_OK);
    char plan[4096];
    for (int i = 0; lists[i] != NULL; i++) {
        plan_of(lists[i], plan, sizeof plan);
        assert_non_null(strstr(plan, F->loc.postgres ? "Index" : "INDEX"));
        assert_null(strstr(plan, F->loc.postgres ? "Sort" : "TEMP B-TREE"));
    }
    for (int i = 0; lookups[i] != NULL; i++) {
        plan_of(lookups[i], plan, sizeof plan);
        assert_non_null(strstr(plan, F->loc.postgres ? "Index" : "INDEX"));
        assert_null(strstr(plan, F->loc.postgres ? "Seq Scan" : "SCAN"));
    }
    if (F->loc.postgres)
        assert_int_equal(store_sql_run(F->conn, "RESET enable_seqscan"), STORE_OK);
}

static void test_run_previews(void **state)
{
    (void)state;
    char ws[64], other[64];
    fx_new_ws(ws);
    fx_new_ws(other);
    mk_session(ws, "s1", "ag", "agent");
    mk_session(other, "s1", "ag", "agent");
    char long_text[700] = "";
    for (int i = 0; i < 300; i++)
        strcat(long_text, "\xc3\xa9"); /* 300 characters of two bytes each */
    mk_run(ws, "s1", "r1", "ag", "short");
    sleep_ms(3);
    mk_run(ws, "s1", "r2", "ag", long_text);
    mk_run(other, "s1", "o1", "ag", "not mine");
    store_run_query_t q = {.session_id = "s1", .limit = 10, .page = 1};
    json_t *rows = NULL;
    long long total = -1;
    assert_int_equal(store_run_previews(F->conn, ws, &q, &rows, &total), STORE_OK);
    assert_int_equal(json_array_size(rows), 2);
    assert_int_equal(total, 2);
    json_t *r1 = json_array_get(rows, 0), *r2 = json_array_get(rows, 1);
    assert_string_equal(json_string_value(json_object_get(r1, "run_id")), "r1");
    assert_string_equal(json_string_value(json_object_get(r1, "content")), "short");
    assert_string_equal(json_string_value(json_object_get(r1, "workspace_id")), ws);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r1, "input"), "input_content")),
        "hi there");
    assert_int_equal(json_string_length(json_object_get(r2, "content")), 280 * 2);
    /* a preview never reads the heavy columns */
    assert_null(json_object_get(r1, "messages"));
    assert_null(json_object_get(r1, "tools"));
    assert_null(json_object_get(r1, "metrics"));
    json_decref(rows);
    assert_int_equal(store_run_previews(F->conn, "", &q, &rows, &total), STORE_ERROR);
}

/* Agno's run filters: created_at bounds (both included) and a status set. */
static void test_run_filters(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    mk_session(ws, "s1", "ag", "agent");
    mk_run(ws, "s1", "r1", "ag", "one");
    sleep_ms(3);
    mk_run(ws, "s1", "r2", "ag", "two");
    sleep_ms(3);
    mk_run(ws, "s1", "r3", "ag", "three");
    json_t *patch = json_pack("{s:s}", "status", "RUNNING");
    assert_int_equal(store_run_update(F->conn, ws, "r2", patch), STORE_OK);
    json_decref(patch);
    json_t *row = NULL;
    assert_int_equal(store_run_get(F->conn, ws, "r2", &row), STORE_OK);
    long long t2 = json_integer_value(json_object_get(row, "created_at"));
    json_decref(row);

    char got[256];
    json_t *rows = NULL;
    long long total = -1;
    store_run_query_t q = {.session_id = "s1", .has_created_from = 1, .created_from_ms = t2};
    assert_int_equal(store_run_page(F->conn, ws, &q, &rows, &total), STORE_OK);
    join_rows(rows, "run_id", got, sizeof got);
    assert_non_null(strstr(got, "/r2,"));
    assert_null(strstr(got, "/r1"));
    assert_int_equal(total, 2);
    json_decref(rows);
    q = (store_run_query_t){.session_id = "s1", .has_created_to = 1, .created_to_ms = t2};
    assert_int_equal(store_run_previews(F->conn, ws, &q, &rows, &total), STORE_OK);
    assert_int_equal(json_array_size(rows), 2);
    assert_int_equal(total, 2);
    json_decref(rows);
    q = (store_run_query_t){.session_id = "s1", .statuses = {"RUNNING", "ERROR"}, .nstatuses = 2};
    assert_int_equal(store_run_previews(F->conn, ws, &q, &rows, &total), STORE_OK);
    join_rows(rows, "run_id", got, sizeof got);
    assert_non_null(strstr(got, "/r2"));
    assert_int_equal(json_array_size(rows), 1);
    assert_int_equal(total, 1);
    json_decref(rows);
    q.statuses[1] = NULL;
    assert_int_equal(store_run_page(F->conn, ws, &q, &rows, &total), STORE_ERROR);
    assert_null(rows);
}

static void test_delete_typed(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    mk_session(ws, "s-agent", "ag", "agent");
    mk_session(ws, "s-team", "ag", "team");
    mk_run(ws, "s-team", "r-team", "ag", "kept with its session");
    const char *ids[] = {"s-agent", "s-team", "missing"};
    const char *types[] = {"agent", "agent", "agent"};
    size_t deleted = 99;
    assert_int_equal(store_sessions_delete_typed(F->conn, ws, ids, types, 3, &deleted), STORE_OK);
    assert_int_equal(deleted, 1);
    json_t *row = NULL;
    assert_int_equal(store_session_get(F->conn, ws, "s-agent", &row), STORE_NOT_FOUND);
    assert_int_equal(store_session_get(F->conn, ws, "s-team", &row), STORE_OK);
    json_decref(row);
    assert_int_equal(store_run_get(F->conn, ws, "r-team", &row), STORE_OK);
    json_decref(row);
    types[1] = "team";
    assert_int_equal(store_sessions_delete_typed(F->conn, ws, ids + 1, types + 1, 1, &deleted),
                     STORE_OK);
    assert_int_equal(deleted, 1);
    assert_int_equal(store_run_get(F->conn, ws, "r-team", &row), STORE_NOT_FOUND);
}

static const struct CMUnitTest cases[] = {
    cmocka_unit_test(test_session_list_all_workspaces),
    cmocka_unit_test(test_find_all_workspaces),
    cmocka_unit_test(test_all_workspaces_lists_are_index_scans),
    cmocka_unit_test(test_run_previews),
    cmocka_unit_test(test_run_filters),
    cmocka_unit_test(test_delete_typed),
};

int main(void)
{
    return FX_RUN_ALL(cases);
}
