/* The store (src/store): the same cases against both back ends. SQLite runs
 * in a temporary directory; PostgreSQL runs when TEST_DATABASE_URL is set,
 * in a fresh random schema that is dropped afterwards. */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_store_support.h"

#define NWS 5

/* ---- helpers ---- */

static json_t *session_obj(const char *id, const char *agent, const char *user, const char *name)
{
    json_t *s = json_pack("{s:s}", "session_id", id);
    if (agent != NULL)
        json_object_set_new(s, "agent_id", json_string(agent));
    if (user != NULL)
        json_object_set_new(s, "user_id", json_string(user));
    if (name != NULL)
        json_object_set_new(s, "session_name", json_string(name));
    return s;
}

static void mk_session(const char *ws, const char *id, const char *agent, const char *user,
                       const char *name)
{
    json_t *s = session_obj(id, agent, user, name);
    assert_int_equal(store_session_create(F->conn, ws, s, NULL), STORE_OK);
    json_decref(s);
}

static void mk_run(const char *ws, const char *session_id, const char *run_id, const char *agent,
                   const char *content)
{
    json_t *r =
        json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}", "run_id", run_id, "session_id", session_id,
                  "agent_id", agent, "content", content, "input", "input_content", content);
    assert_int_equal(store_run_create(F->conn, ws, r, NULL), STORE_OK);
    json_decref(r);
}

static const char *str(const json_t *row, const char *key)
{
    return json_string_value(json_object_get(row, key));
}

static long long num(const json_t *row, const char *key)
{
    return json_integer_value(json_object_get(row, key));
}

static json_t *list(const char *ws, const store_session_query_t *q, long long *total)
{
    json_t *rows = NULL;
    assert_int_equal(store_session_list(F->conn, ws, q, &rows, total), STORE_OK);
    assert_true(json_is_array(rows));
    return rows;
}

/* The session ids of rows, joined by commas, into buf. */
static const char *ids(const json_t *rows, char *buf, size_t n)
{
    size_t i, len = 0;
    json_t *row;
    buf[0] = '\0';
    json_array_foreach(rows, i, row)
    {
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? "," : "", str(row, "session_id"));
    }
    return buf;
}

static void sleep_ms(int ms)
{
    usleep((useconds_t)ms * 1000);
}

/* ---- sessions ---- */

static void test_ping(void **state)
{
    (void)state;
    assert_int_equal(store_ping(F->conn), STORE_OK);
    assert_int_equal(store_ping(NULL), STORE_UNAVAILABLE);
    assert_string_equal(store_backend_name(F->store), F->backend);
}

/* The row test_session_crud created from in; its created_at. */
static long long assert_created_session(const json_t *row, const json_t *in, const char *ws)
{
    assert_string_equal(str(row, "workspace_id"), ws);
    assert_string_equal(str(row, "session_id"), "s1");
    assert_string_equal(str(row, "session_type"), "agent");
    assert_string_equal(str(row, "agent_id"), "agent-a");
    assert_string_equal(str(row, "user_id"), "user-1");
    assert_string_equal(str(row, "session_name"), "First chat");
    assert_true(
        json_equal(json_object_get(row, "session_state"), json_object_get(in, "session_state")));
    assert_true(json_equal(json_object_get(row, "metadata"), json_object_get(in, "metadata")));
    assert_int_equal(num(row, "total_tokens"), 0);
    long long created = num(row, "created_at");
    assert_true(created > 1700000000000LL); /* epoch milliseconds */
    assert_int_equal(num(row, "updated_at"), created);
    return created;
}

/* Tokens add up on session s1 of ws, and only on a session that exists. */
static void assert_session_tokens(const char *ws)
{
    json_t *row = NULL;
    assert_int_equal(store_session_add_tokens(F->conn, ws, "s1", 100, 20), STORE_OK);
    assert_int_equal(store_session_add_tokens(F->conn, ws, "s1", 30, 0), STORE_OK);
    assert_int_equal(store_session_get(F->conn, ws, "s1", &row), STORE_OK);
    assert_int_equal(num(row, "total_tokens"), 150);
    assert_int_equal(num(row, "input_tokens"), 130);
    assert_int_equal(num(row, "output_tokens"), 20);
    json_decref(row);
    assert_int_equal(store_session_add_tokens(F->conn, ws, "nope", 1, 0), STORE_NOT_FOUND);
}

static void test_session_crud(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    json_t *in = session_obj("s1", "agent-a", "user-1", "First chat");
    json_object_set_new(in, "session_state",
                        json_pack("{s:i, s:[s, s]}", "turn", 3, "tags", "x", "y"));
    json_object_set_new(in, "metadata", json_pack("{s:s}", "source", "web"));
    json_t *row = NULL;
    assert_int_equal(store_session_create(F->conn, ws, in, &row), STORE_OK);
    long long created = assert_created_session(row, in, ws);
    json_decref(row);

    assert_int_equal(store_session_get(F->conn, ws, "s1", &row), STORE_OK);
    assert_string_equal(str(row, "session_name"), "First chat");
    assert_true(json_equal(json_object_get(row, "metadata"), json_object_get(in, "metadata")));
    json_decref(row);
    json_decref(in);

    sleep_ms(3);
    json_t *patch = json_pack("{s:s, s:{s:b}, s:n, s:s}", "session_name", "Renamed",
                              "session_state", "done", 1, "metadata", "agent_id", "ignored");
    assert_int_equal(store_session_update(F->conn, ws, "s1", patch, &row), STORE_OK);
    assert_string_equal(str(row, "session_name"), "Renamed");
    assert_true(json_is_true(json_object_get(json_object_get(row, "session_state"), "done")));
    assert_true(json_is_null(json_object_get(row, "metadata")));
    assert_string_equal(str(row, "agent_id"), "agent-a"); /* not patchable */
    assert_int_equal(num(row, "created_at"), created);
    assert_true(num(row, "updated_at") > created);
    json_decref(row);
    json_decref(patch);

    assert_session_tokens(ws);

    assert_int_equal(store_session_delete(F->conn, ws, "s1"), STORE_OK);
    row = json_true(); /* must be reset on failure */
    assert_int_equal(store_session_get(F->conn, ws, "s1", &row), STORE_NOT_FOUND);
    assert_null(row);
    assert_int_equal(store_session_delete(F->conn, ws, "s1"), STORE_NOT_FOUND);
    patch = json_pack("{s:s}", "session_name", "x");
    assert_int_equal(store_session_update(F->conn, ws, "s1", patch, NULL), STORE_NOT_FOUND);
    json_decref(patch);
}

static void test_session_conflict(void **state)
{
    (void)state;
    char ws[64], other[64];
    fx_new_ws(ws);
    fx_new_ws(other);
    mk_session(ws, "dup", "a", "u", "one");
    json_t *again = session_obj("dup", "b", "v", "two");
    json_t *row = json_true();
    assert_int_equal(store_session_create(F->conn, ws, again, &row), STORE_CONFLICT);
    assert_null(row);
    /* The first row is untouched. */
    assert_int_equal(store_session_get(F->conn, ws, "dup", &row), STORE_OK);
    assert_string_equal(str(row, "session_name"), "one");
    json_decref(row);
    /* The same id in another workspace is another row. */
    assert_int_equal(store_session_create(F->conn, other, again, &row), STORE_OK);
    assert_string_equal(str(row, "workspace_id"), other);
    json_decref(row);
    json_decref(again);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    json_t *noid = json_pack("{s:s}", "agent_id", "a");
    json_t *emptyid = json_pack("{s:s}", "session_id", "");
    json_t *badname = json_pack("{s:s, s:i}", "session_id", "x", "session_name", 5);
    json_t *ok = session_obj("x", NULL, NULL, NULL);
    json_t *rows = NULL;
    assert_int_equal(store_session_create(F->conn, ws, noid, NULL), STORE_ERROR);
    assert_int_equal(store_session_create(F->conn, ws, emptyid, NULL), STORE_ERROR);
    assert_int_equal(store_session_create(F->conn, ws, badname, NULL), STORE_ERROR);
    assert_int_equal(store_session_create(F->conn, ws, NULL, NULL), STORE_ERROR);
    assert_int_equal(store_session_create(F->conn, NULL, ok, NULL), STORE_ERROR);
    assert_int_equal(store_session_create(F->conn, "", ok, NULL), STORE_ERROR);
    assert_int_equal(store_session_create(NULL, ws, ok, NULL), STORE_UNAVAILABLE);
    assert_int_equal(store_session_get(F->conn, NULL, "x", NULL), STORE_ERROR);
    assert_int_equal(store_session_list(F->conn, "", NULL, &rows, NULL), STORE_ERROR);
    assert_null(rows);
    assert_int_equal(store_session_list(NULL, ws, NULL, &rows, NULL), STORE_UNAVAILABLE);
    assert_int_equal(store_session_update(F->conn, ws, "x", badname, NULL), STORE_ERROR);
    assert_int_equal(store_run_get(NULL, ws, "r", NULL), STORE_UNAVAILABLE);
    assert_int_equal(store_usage_add(F->conn, ws, "2026-1-01", NULL, NULL, NULL, NULL, 1, 1),
                     STORE_ERROR);
    assert_int_equal(store_usage_add(F->conn, ws, "2026-01-0x", NULL, NULL, NULL, NULL, 1, 1),
                     STORE_ERROR);
    /* Nothing was written by the failed calls. */
    long long total = -1;
    json_decref(list(ws, NULL, &total));
    assert_int_equal(total, 0);
    json_decref(noid);
    json_decref(emptyid);
    json_decref(badname);
    json_decref(ok);
}

/* Names, ids and JSON that would break pasted SQL travel as parameters. */
static void test_hostile_values(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    const char *evil = "x'); DROP TABLE sessions; --";
    json_t *in = session_obj(evil, "a\"b", "ü\\ser", "Ünïcødé 名前 'quoted' \"dq\" \\ $1 ?");
    json_object_set_new(in, "metadata",
                        json_pack("{s:s, s:f, s:[i, n, b]}", "k", "v'\"", "pi", 3.25, "a", 1, 0));
    json_t *row = NULL;
    assert_int_equal(store_session_create(F->conn, ws, in, &row), STORE_OK);
    json_decref(row);
    assert_int_equal(store_session_get(F->conn, ws, evil, &row), STORE_OK);
    assert_string_equal(str(row, "session_name"), str(in, "session_name"));
    assert_string_equal(str(row, "user_id"), "ü\\ser");
    assert_true(json_equal(json_object_get(row, "metadata"), json_object_get(in, "metadata")));
    json_decref(row);
    json_decref(in);
    /* The table is still there. */
    long long total = 0;
    json_decref(list(ws, NULL, &total));
    assert_int_equal(total, 1);
    /* A JSON scalar is a value too. */
    json_t *patch = json_pack("{s:s}", "session_state", "just a string");
    assert_int_equal(store_session_update(F->conn, ws, evil, patch, &row), STORE_OK);
    assert_string_equal(str(row, "session_state"), "just a string");
    json_decref(row);
    json_decref(patch);
}

/* ---- listing ---- */

static void test_list_pagination(void **state)
{
    (void)state;
    char ws[64], buf[1024], all[1024] = "";
    fx_new_ws(ws);
    for (int i = 0; i < 25; i++) {
        char id[16];
        snprintf(id, sizeof id, "p%02d", i);
        mk_session(ws, id, "agent", "user", id);
    }
    store_session_query_t q = {.sort_by = "session_name", .limit = 10};
    int sizes[] = {10, 10, 5, 0};
    for (int page = 1; page <= 4; page++) {
        q.page = page;
        long long total = -1;
        json_t *rows = list(ws, &q, &total);
        assert_int_equal(total, 25);
        assert_int_equal(json_array_size(rows), sizes[page - 1]);
        if (json_array_size(rows) > 0) {
            size_t len = strlen(all);
            snprintf(all + len, sizeof all - len, "%s%s", len ? "," : "",
                     ids(rows, buf, sizeof buf));
        }
        json_decref(rows);
    }
    /* The pages neither overlap nor skip. */
    char want[1024] = "";
    for (int i = 0; i < 25; i++) {
        size_t len = strlen(want);
        snprintf(want + len, sizeof want - len, "%sp%02d", i ? "," : "", i);
    }
    assert_string_equal(all, want);
    /* Defaults: limit 20, page 1; total is optional. */
    json_t *rows = list(ws, NULL, NULL);
    assert_int_equal(json_array_size(rows), 20);
    json_decref(rows);
    store_session_query_t odd = {.limit = -3, .page = -1};
    rows = list(ws, &odd, NULL);
    assert_int_equal(json_array_size(rows), 20);
    json_decref(rows);
}

static void test_list_sorting(void **state)
{
    (void)state;
    char ws[64], buf[256];
    fx_new_ws(ws);
    mk_session(ws, "s-b", NULL, NULL, "bravo");
    sleep_ms(3);
    mk_session(ws, "s-c", NULL, NULL, "charlie");
    sleep_ms(3);
    mk_session(ws, "s-a", NULL, NULL, "alpha");
    sleep_ms(3);
    mk_session(ws, "s-none", NULL, NULL, NULL);
    sleep_ms(3);
    assert_int_equal(store_session_add_tokens(F->conn, ws, "s-b", 1, 0),
                     STORE_OK); /* newest update */

    struct {
        const char *sort_by;
        int desc;
        const char *want;
    } cases[] = {
        {NULL, 0, "s-b,s-c,s-a,s-none"},
        {"created_at", 1, "s-none,s-a,s-c,s-b"},
        {"session_name", 0, "s-a,s-b,s-c,s-none"},
        {"session_name", 1, "s-c,s-b,s-a,s-none"},
        {"updated_at", 1, "s-b,s-none,s-a,s-c"},
        {"updated_at", 0, "s-c,s-a,s-none,s-b"},
        {"total_tokens; DROP TABLE sessions", 0, "s-b,s-c,s-a,s-none"},
        {"user_id", 1, "s-none,s-a,s-c,s-b"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        store_session_query_t q = {.sort_by = cases[i].sort_by, .sort_desc = cases[i].desc};
        json_t *rows = list(ws, &q, NULL);
        assert_string_equal(ids(rows, buf, sizeof buf), cases[i].want);
        json_decref(rows);
    }
}

static void test_list_filters(void **state)
{
    (void)state;
    char ws[64], buf[256];
    fx_new_ws(ws);
    mk_session(ws, "f1", "agent-a", "alice", "Trip to Paris");
    mk_session(ws, "f2", "agent-a", "bob", "PARIS budget");
    mk_session(ws, "f3", "agent-b", "alice", "Grocery list");
    mk_session(ws, "f4", "agent-b", "bob", "50% off deals");
    mk_session(ws, "f5", "agent-b", "bob", "500 offers");
    mk_session(ws, "f6", "agent-a", "carol", "snake_case names");
    mk_session(ws, "f7", "agent-a", "carol", "snakeXcase");
    mk_session(ws, "f9", "agent-c", "dave", "back\\slash, bang!");
    json_t *team = json_pack("{s:s, s:s, s:s}", "session_id", "f8", "session_type", "team",
                             "agent_id", "agent-a");
    assert_int_equal(store_session_create(F->conn, ws, team, NULL), STORE_OK);
    json_decref(team);

    struct {
        store_session_query_t q;
        const char *want;
    } cases[] = {
        {{.component_id = "agent-a"}, "f1,f2,f6,f7,f8"},
        {{.user_id = "alice"}, "f1,f3"},
        {{.component_id = "agent-b", .user_id = "bob"}, "f4,f5"},
        {{.session_name = "paris"}, "f1,f2"},
        {{.session_name = "PaRiS", .user_id = "bob"}, "f2"},
        {{.session_name = "50%"}, "f4"},
        {{.session_name = "e_c"}, "f6"},
        {{.session_name = "%"}, "f4"},
        {{.session_name = "nothing like it"}, ""},
        {{.session_name = "k\\s"}, "f9"},
        {{.session_name = "!"}, "f9"},
        {{.session_name = "g!"}, "f9"},
        {{.session_name = "!%"}, ""},
        {{.session_type = "team"}, "f8"},
        {{.session_type = "agent", .component_id = "agent-a"}, "f1,f2,f6,f7"},
        {{.component_id = "agent-z"}, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        store_session_query_t q = cases[i].q;
        q.sort_by = "session_id-is-not-allowed"; /* falls back to created_at */
        long long total = -1;
        json_t *rows = list(ws, &q, &total);
        /* Created in order, so created_at order is id order (ties by id). */
        assert_string_equal(ids(rows, buf, sizeof buf), cases[i].want);
        assert_int_equal(total, (long long)json_array_size(rows));
        json_decref(rows);
    }
    /* total counts every match, not just the page. */
    store_session_query_t q = {.component_id = "agent-a", .limit = 2, .page = 2};
    long long total = 0;
    json_t *rows = list(ws, &q, &total);
    assert_int_equal(total, 5);
    assert_string_equal(ids(rows, buf, sizeof buf), "f6,f7");
    json_decref(rows);
}

/* Listing returns session columns only: never the runs. */
static void test_list_never_loads_runs(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    mk_session(ws, "s", "a", "u", "n");
    mk_run(ws, "s", "r1", "a", "hello");
    json_t *rows = list(ws, NULL, NULL);
    assert_int_equal(json_array_size(rows), 1);
    const char *allowed[] = {"workspace_id", "session_id",   "session_type",  "agent_id",
                             "user_id",      "session_name", "session_state", "metadata",
                             "total_tokens", "created_at",   "updated_at",    "input_tokens",
                             "output_tokens"};
    json_t *row = json_array_get(rows, 0);
    assert_int_equal(json_object_size(row), sizeof allowed / sizeof allowed[0]);
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        assert_non_null(json_object_get(row, allowed[i]));
    json_decref(rows);
}

/* ---- runs ---- */

static void test_runs(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    mk_session(ws, "s", "agent-a", "u", "chat");
    json_t *r =
        json_pack("{s:s, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:s}", "run_id", "r1", "session_id", "s",
                  "agent_id", "agent-a", "user_id", "u", "input", "input_content", "hi", "model",
                  "gpt-x", "model_provider", "openai", "owner", "host-1:123");
    json_t *row = NULL;
    assert_int_equal(store_run_create(F->conn, ws, r, &row), STORE_OK);
    assert_string_equal(str(row, "status"), "PENDING");
    assert_string_equal(str(row, "owner"), "host-1:123");
    assert_string_equal(str(row, "model_provider"), "openai");
    assert_true(json_is_null(json_object_get(row, "content")));
    assert_true(json_equal(json_object_get(row, "input"), json_object_get(r, "input")));
    long long created = num(row, "created_at");
    json_decref(row);
    assert_int_equal(store_run_create(F->conn, ws, r, &row), STORE_CONFLICT);
    assert_null(row);
    json_decref(r);

    /* A run needs its session, in the same workspace. */
    r = json_pack("{s:s, s:s}", "run_id", "r-orphan", "session_id", "no-such-session");
    assert_int_equal(store_run_create(F->conn, ws, r, NULL), STORE_NOT_FOUND);
    json_decref(r);
    r = json_pack("{s:s}", "run_id", "r-nosession");
    assert_int_equal(store_run_create(F->conn, ws, r, NULL), STORE_ERROR);
    json_decref(r);

    sleep_ms(3);
    json_t *patch =
        json_pack("{s:s, s:s, s:[{s:s, s:s}], s:{s:i, s:i}, s:[]}", "status", "COMPLETED",
                  "content", "Hello!", "messages", "role", "assistant", "content", "Hello!",
                  "metrics", "input_tokens", 5, "output_tokens", 7, "tools");
    assert_int_equal(store_run_update(F->conn, ws, "r1", patch), STORE_OK);
    assert_int_equal(store_run_get(F->conn, ws, "r1", &row), STORE_OK);
    assert_string_equal(str(row, "status"), "COMPLETED");
    assert_string_equal(str(row, "content"), "Hello!");
    assert_true(json_equal(json_object_get(row, "messages"), json_object_get(patch, "messages")));
    assert_true(json_equal(json_object_get(row, "metrics"), json_object_get(patch, "metrics")));
    assert_true(json_equal(json_object_get(row, "tools"), json_object_get(patch, "tools")));
    assert_string_equal(str(row, "model"), "gpt-x"); /* untouched */
    assert_int_equal(num(row, "created_at"), created);
    assert_true(num(row, "updated_at") > created);
    json_decref(row);
    assert_int_equal(store_run_update(F->conn, ws, "nope", patch), STORE_NOT_FOUND);
    json_decref(patch);
    patch = json_pack("{s:n}", "status");
    assert_int_equal(store_run_update(F->conn, ws, "r1", patch), STORE_ERROR);
    json_decref(patch);
    patch = json_pack("{s:i}", "content", 3);
    assert_int_equal(store_run_update(F->conn, ws, "r1", patch), STORE_ERROR);
    json_decref(patch);
    assert_int_equal(store_run_get(F->conn, ws, "nope", &row), STORE_NOT_FOUND);
    assert_null(row);
}

/* A run's metadata comes back as the object it was given; none is null,
 * and a later update leaves it alone. */
static void test_run_metadata(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    mk_session(ws, "s", "agent-a", "u", "chat");
    json_t *r = json_pack("{s:s, s:s, s:{s:s, s:{s:i}}}", "run_id", "m1", "session_id", "s",
                          "metadata", "source", "e2e", "nested", "n", 3);
    json_t *row = NULL;
    assert_int_equal(store_run_create(F->conn, ws, r, &row), STORE_OK);
    assert_true(json_equal(json_object_get(row, "metadata"), json_object_get(r, "metadata")));
    json_decref(row);
    json_t *patch = json_pack("{s:s}", "status", "COMPLETED");
    assert_int_equal(store_run_update(F->conn, ws, "m1", patch), STORE_OK);
    json_decref(patch);
    assert_int_equal(store_run_get(F->conn, ws, "m1", &row), STORE_OK);
    assert_true(json_equal(json_object_get(row, "metadata"), json_object_get(r, "metadata")));
    json_decref(row);
    json_decref(r);
    r = json_pack("{s:s, s:s}", "run_id", "m2", "session_id", "s");
    assert_int_equal(store_run_create(F->conn, ws, r, NULL), STORE_OK);
    json_decref(r);
    assert_int_equal(store_run_get(F->conn, ws, "m2", &row), STORE_OK);
    assert_true(json_is_null(json_object_get(row, "metadata")));
    json_decref(row);
}

/* Runs of an owner that stopped beating are interrupted, in every
 * workspace; runs of live owners, of this process, and finished runs stay. */
static void test_interrupt_orphans(void **state)
{
    (void)state;
    char ws1[64], ws2[64];
    fx_new_ws(ws1);
    fx_new_ws(ws2);
    mk_session(ws1, "s", "a", "u", "chat");
    mk_session(ws2, "s", "a", "u", "chat");
    const char *owners[] = {"dead", "alive", "me", "dead"};
    const char *status[] = {"RUNNING", "RUNNING", "RUNNING", "COMPLETED"};
    const char *wss[] = {ws1, ws2, ws1, ws2};
    char id[16];
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof id, "r%d", i);
        json_t *r = json_pack("{s:s, s:s, s:s, s:s}", "run_id", id, "session_id", "s", "status",
                              status[i], "owner", owners[i]);
        assert_int_equal(store_run_create(F->conn, wss[i], r, NULL), STORE_OK);
        json_decref(r);
    }
    assert_int_equal(store_owner_heartbeat(F->conn, "dead"), STORE_OK);
    /* Windows wide enough that a loaded machine's pauses never make a live
     * owner look stale: "dead" beat 1.2 s ago, "alive" just now, stale 1 s. */
    sleep_ms(1200);
    assert_int_equal(store_owner_heartbeat(F->conn, "alive"), STORE_OK);
    assert_int_equal(store_owner_heartbeat(F->conn, "alive"), STORE_OK); /* upsert */
    long long n = -1;
    /* Other tests' runs in this store may be swept too: count at least ours. */
    assert_int_equal(store_runs_interrupt_orphans(F->conn, "me", 1000, &n), STORE_OK);
    assert_true(n >= 1);
    const char *want[] = {"ERROR", "RUNNING", "RUNNING", "COMPLETED"};
    for (int i = 0; i < 4; i++) {
        json_t *row = NULL;
        snprintf(id, sizeof id, "r%d", i);
        assert_int_equal(store_run_get(F->conn, wss[i], id, &row), STORE_OK);
        assert_string_equal(str(row, "status"), want[i]);
        if (i == 0)
            assert_non_null(strstr(str(row, "content"), "interrupted"));
        json_decref(row);
    }
    /* Stale 0: every other owner counts as gone (one replica). */
    assert_int_equal(store_runs_interrupt_orphans(F->conn, "me", 0, &n), STORE_OK);
    assert_int_equal(n, 1);
    json_t *row = NULL;
    assert_int_equal(store_run_get(F->conn, ws2, "r1", &row), STORE_OK);
    assert_string_equal(str(row, "status"), "ERROR");
    json_decref(row);
    assert_int_equal(store_run_get(F->conn, ws1, "r2", &row), STORE_OK);
    assert_string_equal(str(row, "status"), "RUNNING");
    json_decref(row);
}

/* One replica (stale 0): an owner whose heartbeat is not in the past (the
 * same millisecond, or ahead after the clock stepped back) is gone too. */
static void test_interrupt_orphans_future_beat(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    mk_session(ws, "s", "a", "u", "chat");
    json_t *r = json_pack("{s:s, s:s, s:s, s:s}", "run_id", "r-skew", "session_id", "s", "status",
                          "RUNNING", "owner", "skewed");
    assert_int_equal(store_run_create(F->conn, ws, r, NULL), STORE_OK);
    json_decref(r);
    store_sql_t q;
    store_sql_init(&q, F->store);
    store_sql_add(&q, "INSERT INTO {S}run_owners (owner, heartbeat_at) VALUES ('skewed', ?)");
    store_sql_int(&q, (long long)store_now_ms() + 60000);
    assert_int_equal(store_sql_write(F->conn, &q, NULL, NULL), STORE_OK);
    long long n = -1;
    assert_int_equal(store_runs_interrupt_orphans(F->conn, "me", 0, &n), STORE_OK);
    json_t *row = NULL;
    assert_int_equal(store_run_get(F->conn, ws, "r-skew", &row), STORE_OK);
    assert_string_equal(str(row, "status"), "ERROR");
    json_decref(row);
}

static void test_run_list(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    mk_session(ws, "s1", NULL, NULL, NULL);
    mk_session(ws, "s2", NULL, NULL, NULL);
    const char *order[] = {"r-c", "r-a", "r-d", "r-b"};
    for (int i = 0; i < 4; i++) {
        mk_run(ws, "s1", order[i], i % 2 ? "agent-y" : "agent-x", order[i]);
        sleep_ms(3);
    }
    mk_run(ws, "s2", "r-other", "agent-x", "other session");

    json_t *rows = NULL;
    assert_int_equal(store_run_list(F->conn, ws, "s1", NULL, 0, &rows), STORE_OK);
    assert_int_equal(json_array_size(rows), 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(str(json_array_get(rows, i), "run_id"), order[i]); /* oldest first */
    json_decref(rows);

    assert_int_equal(store_run_list(F->conn, ws, "s1", "agent-y", 0, &rows), STORE_OK);
    assert_int_equal(json_array_size(rows), 2);
    assert_string_equal(str(json_array_get(rows, 0), "run_id"), "r-a");
    assert_string_equal(str(json_array_get(rows, 1), "run_id"), "r-b");
    json_decref(rows);

    /* A limit keeps the newest, still oldest first. */
    assert_int_equal(store_run_list(F->conn, ws, "s1", NULL, 2, &rows), STORE_OK);
    assert_int_equal(json_array_size(rows), 2);
    assert_string_equal(str(json_array_get(rows, 0), "run_id"), "r-d");
    assert_string_equal(str(json_array_get(rows, 1), "run_id"), "r-b");
    json_decref(rows);

    /* Any session, one agent. */
    assert_int_equal(store_run_list(F->conn, ws, NULL, "agent-x", 0, &rows), STORE_OK);
    assert_int_equal(json_array_size(rows), 3);
    assert_string_equal(str(json_array_get(rows, 2), "run_id"), "r-other");
    json_decref(rows);

    assert_int_equal(store_run_list(F->conn, ws, "no-such", NULL, 0, &rows), STORE_OK);
    assert_int_equal(json_array_size(rows), 0);
    json_decref(rows);
}

static void test_delete_cascades_runs(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    mk_session(ws, "s", NULL, NULL, NULL);
    mk_session(ws, "keep", NULL, NULL, NULL);
    mk_run(ws, "s", "r1", "a", "one");
    mk_run(ws, "s", "r2", "a", "two");
    mk_run(ws, "keep", "r3", "a", "three");
    assert_int_equal(store_session_delete(F->conn, ws, "s"), STORE_OK);
    assert_int_equal(store_run_get(F->conn, ws, "r1", NULL), STORE_NOT_FOUND);
    assert_int_equal(store_run_get(F->conn, ws, "r2", NULL), STORE_NOT_FOUND);
    assert_int_equal(store_run_get(F->conn, ws, "r3", NULL), STORE_OK);
    /* A new session under the old id starts empty. */
    mk_session(ws, "s", NULL, NULL, NULL);
    json_t *rows = NULL;
    assert_int_equal(store_run_list(F->conn, ws, "s", NULL, 0, &rows), STORE_OK);
    assert_int_equal(json_array_size(rows), 0);
    json_decref(rows);
}

static void test_sessions_bulk_delete(void **state)
{
    (void)state;
    char ws[64], other[64], buf[256];
    fx_new_ws(ws);
    fx_new_ws(other);
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof id, "b%d", i);
        mk_session(ws, id, NULL, NULL, NULL);
        mk_run(ws, id, id, "a", "x"); /* run ids may equal session ids */
    }
    mk_session(other, "b1", NULL, NULL, NULL);
    mk_session(other, "o1", NULL, NULL, NULL);
    const char *del[] = {"b1", "b3", "no-such", "o1", "b4"};
    size_t deleted = 99;
    assert_int_equal(store_sessions_delete(F->conn, ws, del, 5, &deleted), STORE_OK);
    assert_int_equal(deleted, 3);
    json_t *rows = list(ws, NULL, NULL);
    assert_string_equal(ids(rows, buf, sizeof buf), "b0,b2");
    json_decref(rows);
    assert_int_equal(store_run_get(F->conn, ws, "b3", NULL), STORE_NOT_FOUND);
    assert_int_equal(store_run_get(F->conn, ws, "b2", NULL), STORE_OK);
    rows = list(other, NULL, NULL);
    assert_string_equal(ids(rows, buf, sizeof buf), "b1,o1");
    json_decref(rows);
    assert_int_equal(store_sessions_delete(F->conn, ws, NULL, 0, &deleted), STORE_OK);
    assert_int_equal(deleted, 0);
}

/* ---- usage ---- */

static void test_usage(void **state)
{
    (void)state;
    char ws[64], other[64];
    fx_new_ws(ws);
    fx_new_ws(other);
    assert_int_equal(store_usage_add(F->conn, ws, "2026-01-02", "a", "u1", "m", "p", 10, 20),
                     STORE_OK);
    assert_int_equal(store_usage_add(F->conn, ws, "2026-01-02", "a", "u2", "m", "p", 1, 2),
                     STORE_OK);
    assert_int_equal(store_usage_add(F->conn, ws, "2026-01-02", "a", "u1", "m", "p", 100, 200),
                     STORE_OK);
    assert_int_equal(store_usage_add(F->conn, ws, "2026-01-02", "a", "u1", "m2", "p", 5, 5),
                     STORE_OK);
    assert_int_equal(store_usage_add(F->conn, ws, "2026-01-03", NULL, NULL, NULL, NULL, 7, 8),
                     STORE_OK);
    assert_int_equal(store_usage_add(F->conn, other, "2026-01-02", "a", "u9", "m", "p", 1000, 1),
                     STORE_OK);

    json_t *rows = NULL;
    assert_int_equal(store_usage_list(F->conn, ws, NULL, NULL, &rows), STORE_OK);
    assert_int_equal(json_array_size(rows), 3);
    json_t *r0 = json_array_get(rows, 0);
    assert_string_equal(str(r0, "day"), "2026-01-02");
    assert_string_equal(str(r0, "model"), "m");
    assert_int_equal(num(r0, "runs"), 3);
    assert_int_equal(num(r0, "input_tokens"), 111);
    assert_int_equal(num(r0, "output_tokens"), 222);
    assert_int_equal(num(json_array_get(rows, 1), "runs"), 1);
    json_t *r2 = json_array_get(rows, 2);
    assert_string_equal(str(r2, "day"), "2026-01-03");
    assert_true(json_is_null(json_object_get(r2, "agent_id")));
    assert_true(json_is_null(json_object_get(r2, "model")));
    json_decref(rows);

    assert_int_equal(store_usage_list(F->conn, ws, "2026-01-03", "2026-01-31", &rows), STORE_OK);
    assert_int_equal(json_array_size(rows), 1);
    json_decref(rows);
    assert_int_equal(store_usage_list(F->conn, ws, NULL, "2026-01-01", &rows), STORE_OK);
    assert_int_equal(json_array_size(rows), 0);
    json_decref(rows);
    assert_int_equal(store_usage_list(F->conn, ws, "bad", NULL, &rows), STORE_ERROR);
    assert_null(rows);

    assert_int_equal(store_usage_users(F->conn, ws, NULL, NULL, &rows), STORE_OK);
    assert_int_equal(json_array_size(rows), 1); /* 01-03 had no user */
    assert_int_equal(num(json_array_get(rows, 0), "users"), 2);
    json_decref(rows);
    assert_int_equal(store_usage_users(F->conn, other, NULL, NULL, &rows), STORE_OK);
    assert_int_equal(num(json_array_get(rows, 0), "users"), 1);
    json_decref(rows);
}

/* ---- tenant isolation ---- */

static void seed_workspaces(char ws[NWS][64])
{
    for (int i = 0; i < NWS; i++) {
        fx_new_ws(ws[i]);
        char name[32];
        snprintf(name, sizeof name, "name-%d", i);
        mk_session(ws[i], "shared", "agent", "user", name);
        mk_session(ws[i], "shared-2", "agent", "user", name);
        mk_run(ws[i], "shared", "run-shared", "agent", name);
    }
}

static void test_isolation_reads(void **state)
{
    (void)state;
    char ws[NWS][64], name[32], buf[256];
    seed_workspaces(ws);
    for (int i = 0; i < NWS; i++) {
        snprintf(name, sizeof name, "name-%d", i);
        json_t *row = NULL;
        assert_int_equal(store_session_get(F->conn, ws[i], "shared", &row), STORE_OK);
        assert_string_equal(str(row, "session_name"), name);
        assert_string_equal(str(row, "workspace_id"), ws[i]);
        json_decref(row);
        assert_int_equal(store_run_get(F->conn, ws[i], "run-shared", &row), STORE_OK);
        assert_string_equal(str(row, "content"), name);
        json_decref(row);

        store_session_query_t q = {.component_id = "agent", .user_id = "user"};
        long long total = 0;
        json_t *rows = list(ws[i], &q, &total);
        assert_int_equal(total, 2);
        assert_string_equal(ids(rows, buf, sizeof buf), "shared,shared-2");
        size_t k;
        json_t *r;
        json_array_foreach(rows, k, r) assert_string_equal(str(r, "workspace_id"), ws[i]);
        json_decref(rows);

        assert_int_equal(store_run_list(F->conn, ws[i], "shared", NULL, 0, &rows), STORE_OK);
        assert_int_equal(json_array_size(rows), 1);
        assert_string_equal(str(json_array_get(rows, 0), "content"), name);
        json_decref(rows);
        assert_int_equal(store_run_list(F->conn, ws[i], NULL, "agent", 0, &rows), STORE_OK);
        assert_int_equal(json_array_size(rows), 1);
        json_decref(rows);
    }
    /* A workspace with no rows sees none of them. */
    char empty[64];
    fx_new_ws(empty);
    long long total = -1;
    json_t *rows = list(empty, NULL, &total);
    assert_int_equal(total, 0);
    json_decref(rows);
    assert_int_equal(store_session_get(F->conn, empty, "shared", NULL), STORE_NOT_FOUND);
    assert_int_equal(store_run_get(F->conn, empty, "run-shared", NULL), STORE_NOT_FOUND);
    assert_int_equal(store_run_list(F->conn, empty, "shared", NULL, 0, &rows), STORE_OK);
    assert_int_equal(json_array_size(rows), 0);
    json_decref(rows);
}

/* Workspaces from..NWS-1 still read name-i for their sessions and run. */
static void assert_untouched(char ws[NWS][64], int from)
{
    for (int i = from; i < NWS; i++) {
        char name[32];
        snprintf(name, sizeof name, "name-%d", i);
        json_t *row = NULL;
        assert_int_equal(store_session_get(F->conn, ws[i], "shared", &row), STORE_OK);
        assert_string_equal(str(row, "session_name"), name);
        assert_int_equal(num(row, "total_tokens"), 0);
        json_decref(row);
        assert_int_equal(store_session_get(F->conn, ws[i], "shared-2", NULL), STORE_OK);
        assert_int_equal(store_run_get(F->conn, ws[i], "run-shared", &row), STORE_OK);
        assert_string_equal(str(row, "content"), name);
        assert_string_equal(str(row, "status"), "PENDING");
        json_decref(row);
    }
}

static void test_isolation_writes(void **state)
{
    (void)state;
    char ws[NWS][64];
    seed_workspaces(ws);
    /* Changes in ws[0] reach no other workspace. */
    json_t *patch = json_pack("{s:s}", "session_name", "changed");
    assert_int_equal(store_session_update(F->conn, ws[0], "shared", patch, NULL), STORE_OK);
    json_decref(patch);
    assert_int_equal(store_session_add_tokens(F->conn, ws[0], "shared", 9, 0), STORE_OK);
    patch = json_pack("{s:s, s:s}", "status", "COMPLETED", "content", "changed");
    assert_int_equal(store_run_update(F->conn, ws[0], "run-shared", patch), STORE_OK);
    json_decref(patch);
    assert_untouched(ws, 1);

    /* Deletes in ws[0] and ws[1] reach no other workspace. */
    assert_int_equal(store_session_delete(F->conn, ws[1], "shared"), STORE_OK);
    assert_int_equal(store_run_get(F->conn, ws[1], "run-shared", NULL), STORE_NOT_FOUND);
    assert_int_equal(store_session_get(F->conn, ws[1], "shared-2", NULL), STORE_OK);
    const char *both[] = {"shared", "shared-2"};
    size_t deleted = 0;
    assert_int_equal(store_sessions_delete(F->conn, ws[0], both, 2, &deleted), STORE_OK);
    assert_int_equal(deleted, 2);
    assert_untouched(ws, 2);

    /* A workspace cannot reach rows it does not own, by any call. */
    char stranger[64];
    fx_new_ws(stranger);
    patch = json_pack("{s:s}", "session_name", "hijack");
    assert_int_equal(store_session_update(F->conn, stranger, "shared", patch, NULL),
                     STORE_NOT_FOUND);
    assert_int_equal(store_run_update(F->conn, stranger, "run-shared", patch), STORE_NOT_FOUND);
    json_decref(patch);
    assert_int_equal(store_session_add_tokens(F->conn, stranger, "shared", 5, 0), STORE_NOT_FOUND);
    assert_int_equal(store_session_delete(F->conn, stranger, "shared"), STORE_NOT_FOUND);
    assert_int_equal(store_sessions_delete(F->conn, stranger, both, 2, &deleted), STORE_OK);
    assert_int_equal(deleted, 0);
    /* Nor attach a run to another workspace's session. */
    json_t *run = json_pack("{s:s, s:s}", "run_id", "intruder", "session_id", "shared");
    assert_int_equal(store_run_create(F->conn, stranger, run, NULL), STORE_NOT_FOUND);
    json_decref(run);
    assert_untouched(ws, 2);
}

/* ---- lifecycle ---- */

static void test_persistence(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    mk_session(ws, "kept", "a", "u", "survives");
    mk_run(ws, "kept", "kept-run", "a", "still here");
    fx_reopen();
    json_t *row = NULL;
    assert_int_equal(store_session_get(F->conn, ws, "kept", &row), STORE_OK);
    assert_string_equal(str(row, "session_name"), "survives");
    json_decref(row);
    assert_int_equal(store_run_get(F->conn, ws, "kept-run", &row), STORE_OK);
    assert_string_equal(str(row, "content"), "still here");
    json_decref(row);
}

static void test_migrations_idempotent(void **state)
{
    (void)state;
    char err[256] = "";
    store_t *second = store_open(&F->cfg, err, sizeof err);
    assert_non_null(second);
    store_close(second);
    fx_reopen();
    json_t *rows = NULL;
    store_sql_t q;
    store_sql_init(&q, F->store);
    store_sql_add(&q, "SELECT version, applied_at FROM {S}schema_migrations ORDER BY version");
    assert_int_equal(store_sql_exec(F->conn, &q, &rows, NULL), STORE_OK);
    size_t known = 0;
    while (F->store->be->migrations[known].version != 0)
        known++;
    assert_int_equal(json_array_size(rows), known);
    assert_int_equal(num(json_array_get(rows, 0), "version"), 1);
    json_decref(rows);
}

/* The os_id: made once per database, the first value kept, read back the
 * same after a reopen (a restart) and by a second store (another replica). */
static void test_meta_os_id(void **state)
{
    (void)state;
    char a[STORE_META_VALUE_MAX + 1] = "", b[STORE_META_VALUE_MAX + 1] = "";
    assert_int_equal(store_meta_get_or_set(F->conn, "os_id", "first-id", a), STORE_OK);
    assert_string_equal(a, "first-id");
    assert_int_equal(store_meta_get_or_set(F->conn, "os_id", "second-id", b), STORE_OK);
    assert_string_equal(b, "first-id");
    fx_reopen();
    memset(b, 0, sizeof b);
    assert_int_equal(store_meta_get_or_set(F->conn, "os_id", "third-id", b), STORE_OK);
    assert_string_equal(b, "first-id");
    char err[256] = "";
    store_t *other = store_open(&F->cfg, err, sizeof err);
    assert_non_null(other);
    store_close(other);
    /* Another key is its own value; bad candidates are refused unwritten. */
    assert_int_equal(store_meta_get_or_set(F->conn, "other", "x", b), STORE_OK);
    assert_string_equal(b, "x");
    char big[STORE_META_VALUE_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(store_meta_get_or_set(F->conn, "big", big, b), STORE_ERROR);
    assert_int_equal(store_meta_get_or_set(F->conn, "empty", "", b), STORE_ERROR);
    assert_int_equal(store_meta_get_or_set(NULL, "os_id", "x", b), STORE_UNAVAILABLE);
}

typedef struct opener {
    const store_config_t *cfg;
    uv_barrier_t *start;
    store_t *store;
    char err[256];
} opener_t;

static void open_thread(void *arg)
{
    opener_t *o = arg;
    uv_barrier_wait(o->start);
    o->store = store_open(o->cfg, o->err, sizeof o->err);
}

/* Two replicas starting at once on an empty database both come up. */
static void test_concurrent_open(void **state)
{
    (void)state;
    int rounds = getenv("STORE_TEST_ROUNDS") ? atoi(getenv("STORE_TEST_ROUNDS")) : 5;
    for (int round = 0; round < rounds; round++) {
        fx_location_t loc;
        store_config_t cfg = fx_fresh_location(&loc);
        uv_barrier_t start;
        uv_barrier_init(&start, 2);
        opener_t o[2] = {{.cfg = &cfg, .start = &start}, {.cfg = &cfg, .start = &start}};
        uv_thread_t t[2];
        for (int i = 0; i < 2; i++)
            assert_int_equal(uv_thread_create(&t[i], open_thread, &o[i]), 0);
        for (int i = 0; i < 2; i++)
            uv_thread_join(&t[i]);
        uv_barrier_destroy(&start);
        for (int i = 0; i < 2; i++) {
            if (o[i].store == NULL)
                fail_msg("open %d failed: %s", i, o[i].err);
            store_conn_t *c = store_conn_get(o[i].store);
            json_t *s = session_obj("same", NULL, NULL, NULL);
            store_rc_t rc = store_session_create(c, "ws-concurrent", s, NULL);
            assert_int_equal(rc, i == 0 ? STORE_OK : STORE_CONFLICT);
            json_decref(s);
        }
        store_close(o[0].store);
        store_close(o[1].store);
        fx_drop_location(&loc);
    }
}

typedef struct writer {
    store_t *store;
    const char *ws;
    int failures;
} writer_t;

static void writer_thread(void *arg)
{
    writer_t *w = arg;
    store_conn_t *c = store_conn_get(w->store);
    for (int i = 0; i < 25; i++) {
        w->failures += store_session_add_tokens(c, w->ws, "hot", 2, 0) != STORE_OK;
        w->failures +=
            store_usage_add(c, w->ws, "2026-02-01", "a", "u", "m", "p", 1, 3) != STORE_OK;
    }
}

/* Writers on their own connections never lose an increment. */
static void test_concurrent_writers(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    mk_session(ws, "hot", NULL, NULL, NULL);
    writer_t w[4];
    uv_thread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (writer_t){.store = F->store, .ws = ws};
        assert_int_equal(uv_thread_create(&t[i], writer_thread, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        uv_thread_join(&t[i]);
        assert_int_equal(w[i].failures, 0);
    }
    json_t *row = NULL;
    assert_int_equal(store_session_get(F->conn, ws, "hot", &row), STORE_OK);
    assert_int_equal(num(row, "total_tokens"), 200);
    json_decref(row);
    json_t *rows = NULL;
    assert_int_equal(store_usage_list(F->conn, ws, NULL, NULL, &rows), STORE_OK);
    assert_int_equal(num(json_array_get(rows, 0), "runs"), 100);
    assert_int_equal(num(json_array_get(rows, 0), "output_tokens"), 300);
    json_decref(rows);
}

/* ---- off the loop ---- */

typedef struct submit_state {
    uv_thread_t loop_thread;
    const char *ws;
    int done;
    int done_on_loop;
    atomic_int work_off_loop; /* counted on the pool threads */
    int ok;
} submit_state_t;

typedef struct submit_job {
    submit_state_t *st;
    int i;
} submit_job_t;

static store_rc_t submit_work(store_conn_t *c, void *data)
{
    submit_job_t *job = data;
    uv_thread_t self = uv_thread_self();
    if (!uv_thread_equal(&self, &job->st->loop_thread))
        atomic_fetch_add(&job->st->work_off_loop, 1);
    char id[16];
    snprintf(id, sizeof id, "job-%d", job->i);
    json_t *s = session_obj(id, NULL, NULL, NULL);
    store_rc_t rc = store_session_create(c, job->st->ws, s, NULL);
    json_decref(s);
    return rc;
}

static void submit_done(store_rc_t rc, void *data)
{
    submit_job_t *job = data;
    uv_thread_t self = uv_thread_self();
    job->st->done++;
    job->st->done_on_loop += uv_thread_equal(&self, &job->st->loop_thread);
    job->st->ok += rc == STORE_OK;
    free(job);
}

static void test_submit_on_loop(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    submit_state_t st = {.loop_thread = uv_thread_self(), .ws = ws};
    for (int i = 0; i < 40; i++) {
        submit_job_t *job = malloc(sizeof *job);
        *job = (submit_job_t){.st = &st, .i = i};
        assert_int_equal(store_submit(F->store, &loop, submit_work, submit_done, job), 0);
    }
    assert_int_equal(store_submit(F->store, &loop, NULL, submit_done, NULL), -1);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(st.done, 40);
    assert_int_equal(st.done_on_loop, 40);
    assert_int_equal(st.ok, 40);
    assert_int_equal(atomic_load(&st.work_off_loop), 40);
    long long total = 0;
    json_decref(list(ws, NULL, &total));
    assert_int_equal(total, 40);
}

/* ---- the database going away ---- */

/* The database cannot be reached at start-up: open fails fast, saying why. */
static void test_open_unreachable(void **state)
{
    (void)state;
    fx_location_t loc;
    store_config_t cfg = fx_unreachable_location(&loc);
    char err[256] = "";
    uint64_t t0 = uv_hrtime();
    store_t *s = store_open(&cfg, err, sizeof err);
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    assert_null(s);
    assert_true(err[0] != '\0');
    assert_true(secs < 5.0);
    fx_drop_location(&loc);
}

/* The database goes away under a running store: calls fail fast with
 * STORE_UNAVAILABLE, and the store recovers once it is back. */
static void test_down_and_back(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    mk_session(ws, "before", NULL, NULL, NULL);
    fx_break_database(1);
    store_conn_mark_broken(F->conn);
    uint64_t t0 = uv_hrtime();
    store_conn_t *c = store_conn_get(F->store);
    assert_null(c);
    assert_int_equal(store_session_get(c, ws, "before", NULL), STORE_UNAVAILABLE);
    assert_int_equal(store_ping(c), STORE_UNAVAILABLE);
    /* Within the retry interval, no new attempt: immediate failure. */
    assert_null(store_conn_get(F->store));
    assert_true((double)(uv_hrtime() - t0) / 1e9 < 5.0);
    fx_break_database(0);
    sleep_ms(250);
    F->conn = store_conn_get(F->store);
    assert_non_null(F->conn);
    assert_int_equal(store_session_get(F->conn, ws, "before", NULL), STORE_OK);
}

#define CASE(fn) cmocka_unit_test(fn)

static const struct CMUnitTest cases[] = {
    CASE(test_ping),
    CASE(test_session_crud),
    CASE(test_session_conflict),
    CASE(test_bad_arguments),
    CASE(test_hostile_values),
    CASE(test_list_pagination),
    CASE(test_list_sorting),
    CASE(test_list_filters),
    CASE(test_list_never_loads_runs),
    CASE(test_runs),
    CASE(test_run_metadata),
    CASE(test_run_list),
    CASE(test_interrupt_orphans),
    CASE(test_interrupt_orphans_future_beat),
    CASE(test_delete_cascades_runs),
    CASE(test_sessions_bulk_delete),
    CASE(test_usage),
    CASE(test_isolation_reads),
    CASE(test_isolation_writes),
    CASE(test_persistence),
    CASE(test_migrations_idempotent),
    CASE(test_meta_os_id),
    CASE(test_concurrent_open),
    CASE(test_concurrent_writers),
    CASE(test_submit_on_loop),
    CASE(test_open_unreachable),
    CASE(test_down_and_back),
};

int main(void)
{
    return FX_RUN_ALL(cases);
}
