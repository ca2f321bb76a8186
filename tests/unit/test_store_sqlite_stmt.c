/* The SQLite statement cache (issue 11, item 2): one prepare per SQL text
 * per connection, bounded, reset and unbound after each use, and freed
 * by a schema change (the migrations) and by close; ASan checks the frees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store_sqlite_stmt.h"
#include "test_store_support.h"

static store_sqlite_conn_t *mem_conn(void)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    store_sqlite_conn_t *sc = store_sqlite_conn_wrap(db);
    assert_non_null(sc);
    return sc;
}

static sqlite3_stmt *get(store_sqlite_conn_t *sc, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(store_stmt_get(sc, sql, &st), SQLITE_OK);
    assert_non_null(st);
    return st;
}

static void test_same_sql_same_statement(void **state)
{
    (void)state;
    store_sqlite_conn_t *sc = mem_conn();
    sqlite3_stmt *a = get(sc, "SELECT ?1");
    assert_int_equal(sqlite3_bind_int64(a, 1, 7), SQLITE_OK);
    assert_int_equal(sqlite3_step(a), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(a, 0), 7);
    store_stmt_put(sc, a);
    sqlite3_stmt *b = get(sc, "SELECT ?1");
    assert_ptr_equal(a, b);
    /* Reset and unbound: it runs again from the top, with NULL for ?1. */
    assert_int_equal(sqlite3_step(b), SQLITE_ROW);
    assert_int_equal(sqlite3_column_type(b, 0), SQLITE_NULL);
    store_stmt_put(sc, b);
    sqlite3_stmt *c = get(sc, "SELECT ?1 + 1");
    assert_ptr_not_equal(a, c);
    store_stmt_put(sc, c);
    assert_int_equal(sc->n, 2);
    store_sqlite_conn_close(sc);
}

static void test_bounded(void **state)
{
    (void)state;
    store_sqlite_conn_t *sc = mem_conn();
    char sql[64];
    for (int i = 0; i < STORE_STMT_CACHE_MAX + 10; i++) {
        snprintf(sql, sizeof sql, "SELECT %d", i);
        store_stmt_put(sc, get(sc, sql));
    }
    assert_int_equal(sc->n, STORE_STMT_CACHE_MAX);
    /* The newest is still there; the oldest were finalized to make room. */
    sqlite3_stmt *last = get(sc, sql);
    store_stmt_put(sc, last);
    int found = 0;
    for (int i = 0; i < sc->n; i++) {
        found += sc->e[i].st == last;
        assert_string_not_equal(sqlite3_sql(sc->e[i].st), "SELECT 1");
    }
    assert_int_equal(found, 1);
    store_sqlite_conn_close(sc);
}

/* Text after the first statement cannot be found again: not cached, and
 * the put finalizes it. */
static void test_uncached_tail(void **state)
{
    (void)state;
    store_sqlite_conn_t *sc = mem_conn();
    sqlite3_stmt *st = get(sc, "SELECT 1; SELECT 2");
    assert_int_equal(sc->n, 0);
    store_stmt_put(sc, st);
    store_sqlite_conn_close(sc);
}

static void test_schema_change_clears(void **state)
{
    (void)state;
    store_sqlite_conn_t *sc = mem_conn();
    sqlite3_stmt *st = get(sc, "CREATE TABLE t (x INTEGER)");
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    store_stmt_put(sc, st);
    store_stmt_put(sc, get(sc, "SELECT x FROM t"));
    assert_int_equal(sc->n, 2);
    store_stmt_clear(sc);
    assert_int_equal(sc->n, 0);
    store_sqlite_conn_close(sc);
}

/* Through the store: the migrations' statements are gone after open, a
 * query repeated reuses its statement, and close frees them (ASan). */
static void test_store_reuses(void **state)
{
    (void)state;
    store_sqlite_conn_t *sc = F->conn->db;
    char ws[64];
    fx_new_ws(ws);
    json_t *row = NULL;
    assert_int_equal(store_session_get(F->conn, ws, "s-none", &row), STORE_NOT_FOUND);
    int n = sc->n;
    assert_true(n > 0);
    assert_int_equal(store_session_get(F->conn, ws, "s-none", &row), STORE_NOT_FOUND);
    assert_int_equal(sc->n, n);
    for (int i = 0; i < sc->n; i++)
        assert_null(strstr(sqlite3_sql(sc->e[i].st), "CREATE TABLE"));
    fx_reopen();
    assert_int_equal(((store_sqlite_conn_t *)F->conn->db)->n, 0);
}

int main(void)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_same_sql_same_statement),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_uncached_tail),
        cmocka_unit_test(test_schema_change_clears),
    };
    const struct CMUnitTest via_store[] = {
        cmocka_unit_test(test_store_reuses),
    };
    log_set_level(LOG_LEVEL_ERROR);
    int failed = cmocka_run_group_tests_name("store/sqlite_stmt", unit, NULL, NULL);
    return failed + cmocka_run_group_tests_name("store/sqlite_stmt_store", via_store,
                                                fx_setup_sqlite, fx_teardown);
}
