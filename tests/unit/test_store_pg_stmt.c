/* PostgreSQL statements prepared once per connection (issue 11): a data
 * query is prepared on its first use and run by name after; the server's
 * pg_prepared_statements for the session shows it, a reconnect prepares
 * again, and the cache stays bounded. Needs TEST_DATABASE_URL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store_pg_stmt.h"
#include "test_store_support.h"

static store_pg_conn_t *pc_of(const store_conn_t *c)
{
    return c->db;
}

/* The session's prepared statements, as the server counts them. */
static long long server_prepared(store_conn_t *c)
{
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT count(*) AS n FROM pg_prepared_statements");
    json_t *rows = NULL;
    assert_int_equal(store_sql_exec(c, &q, &rows, NULL), STORE_OK);
    long long n = json_integer_value(json_object_get(json_array_get(rows, 0), "n"));
    json_decref(rows);
    return n;
}

static void get_session(store_conn_t *c, const char *ws, const char *id)
{
    assert_int_equal(store_session_get(c, ws, id, NULL), STORE_NOT_FOUND);
}

/* The same template with other values: one prepare, on the server too. */
static void test_prepared_once(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    store_conn_t *c = F->conn;
    long long before = server_prepared(c);
    uint64_t prepares = pc_of(c)->prepares;
    get_session(c, ws, "a");
    get_session(c, ws, "b");
    get_session(c, ws, "c");
    assert_int_equal(pc_of(c)->prepares - prepares, 1);
    assert_int_equal(server_prepared(c) - before, 1);
}

/* A new connection starts with none and prepares again. */
static void test_reprepared_after_reconnect(void **state)
{
    (void)state;
    char ws[64];
    fx_new_ws(ws);
    get_session(F->conn, ws, "a");
    store_conn_mark_broken(F->conn);
    store_conn_t *c = store_conn_get(F->store);
    assert_non_null(c);
    assert_int_equal(pc_of(c)->prepares, 0);
    assert_int_equal(server_prepared(c), 0);
    get_session(c, ws, "a");
    assert_int_equal(pc_of(c)->prepares, 1);
    assert_int_equal(server_prepared(c), 1);
    F->conn = c;
}

/* Texts that vary (an IN list's length) evict the least recently used:
 * the server never holds more than the cache. */
static void test_bounded(void **state)
{
    (void)state;
    store_conn_t *c = F->conn;
    char sql[64];
    for (int i = 0; i < STORE_PG_STMT_MAX + 20; i++) {
        store_sql_t q;
        store_sql_init(&q, c->store);
        snprintf(sql, sizeof sql, "SELECT ?::int + %d AS n", i);
        store_sql_add(&q, sql);
        store_sql_int(&q, 1);
        json_t *rows = NULL;
        assert_int_equal(store_sql_exec(c, &q, &rows, NULL), STORE_OK);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "n")), i + 1);
        json_decref(rows);
    }
    assert_int_equal(pc_of(c)->n, STORE_PG_STMT_MAX);
    assert_true(server_prepared(c) <= STORE_PG_STMT_MAX);
}

/* A statement that fails to prepare is not kept, and its error is the
 * statement's: a transaction around it rolls back as before. */
static void test_bad_statement(void **state)
{
    (void)state;
    store_conn_t *c = F->conn;
    int n = pc_of(c)->n;
    uint64_t prepares = pc_of(c)->prepares;
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT * FROM {S}no_such_table WHERE workspace_id = ?");
    store_sql_text(&q, "ws");
    assert_int_equal(store_sql_exec(c, &q, NULL, NULL), STORE_ERROR);
    assert_true(pc_of(c)->n <= n); /* a full cache may have made room first */
    assert_int_equal(pc_of(c)->prepares, prepares);
    assert_int_equal(store_ping(c), STORE_OK);
}

int main(void)
{
    log_set_level(LOG_LEVEL_ERROR);
    const struct CMUnitTest cases[] = {
        cmocka_unit_test(test_prepared_once),
        cmocka_unit_test(test_reprepared_after_reconnect),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_bad_statement),
    };
    if (fx_pg_url() == NULL) {
        printf("[  SKIPPED ] store_pg_stmt: TEST_DATABASE_URL is not set\n");
        return 0;
    }
    return cmocka_run_group_tests_name("store_pg_stmt", cases, fx_setup_pg, fx_teardown);
}
