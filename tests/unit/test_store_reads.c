/* The store's read paging and its bounded queue (issue 7, items 6 and 7),
 * against both back ends: store_run_page counts pages back from the newest
 * run, and store_submit_bounded refuses request work past queue_max while
 * store_submit (internal writes) is never refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/timeutil.h"
#include "http/reply.h"
#include "test_store_support.h"

static void sleep_ms(int ms)
{
    usleep((useconds_t)ms * 1000);
}

static void mk_session(const char *ws, const char *id)
{
    json_t *s = json_pack("{s:s}", "session_id", id);
    assert_int_equal(store_session_create(F->conn, ws, s, NULL), STORE_OK);
    json_decref(s);
}

static void mk_run(const char *ws, const char *session_id, const char *run_id, const char *agent)
{
    json_t *r =
        json_pack("{s:s, s:s, s:s}", "run_id", run_id, "session_id", session_id, "agent_id", agent);
    assert_int_equal(store_run_create(F->conn, ws, r, NULL), STORE_OK);
    json_decref(r);
}

/* The run ids of one page, joined by commas. */
static void page_ids(const char *ws, store_run_query_t q, char *out, size_t n, long long *total)
{
    json_t *rows = NULL;
    assert_int_equal(store_run_page(F->conn, ws, &q, &rows, total), STORE_OK);
    out[0] = '\0';
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        if (i > 0)
            strncat(out, ",", n - strlen(out) - 1);
        strncat(out, json_string_value(json_object_get(row, "run_id")), n - strlen(out) - 1);
    }
    json_decref(rows);
}

static void test_run_page(void **state)
{
    (void)state;
    char ws[64], other[64], ids[256];
    fx_new_ws(ws);
    fx_new_ws(other);
    mk_session(ws, "s1");
    mk_session(ws, "s2");
    mk_session(other, "s1");
    for (int i = 1; i <= 7; i++) {
        char id[8];
        snprintf(id, sizeof id, "r%d", i);
        mk_run(ws, "s1", id, i % 2 ? "odd" : "even");
        sleep_ms(3);
    }
    mk_run(ws, "s2", "x1", "odd");
    mk_run(other, "s1", "o1", "odd");

    long long total = -1;
    store_run_query_t q = {.session_id = "s1", .limit = 3, .page = 1};
    page_ids(ws, q, ids, sizeof ids, &total); /* the newest, oldest first */
    assert_string_equal(ids, "r5,r6,r7");
    assert_int_equal(total, 7);
    q.page = 2;
    page_ids(ws, q, ids, sizeof ids, &total);
    assert_string_equal(ids, "r2,r3,r4");
    q.page = 3;
    page_ids(ws, q, ids, sizeof ids, NULL);
    assert_string_equal(ids, "r1");
    q.page = 4;
    page_ids(ws, q, ids, sizeof ids, &total);
    assert_string_equal(ids, "");
    assert_int_equal(total, 7);

    /* One agent in any session; defaults (limit 20, page 1). */
    page_ids(ws, (store_run_query_t){.agent_id = "odd"}, ids, sizeof ids, &total);
    assert_string_equal(ids, "r1,r3,r5,r7,x1");
    assert_int_equal(total, 5);
    page_ids(ws, (store_run_query_t){.session_id = "s1", .agent_id = "even", .limit = 2}, ids,
             sizeof ids, &total);
    assert_string_equal(ids, "r4,r6");
    assert_int_equal(total, 3);

    /* Another workspace's session of the same id is its own. */
    page_ids(other, (store_run_query_t){.session_id = "s1"}, ids, sizeof ids, &total);
    assert_string_equal(ids, "o1");
    assert_int_equal(total, 1);

    json_t *rows = (json_t *)1;
    assert_int_equal(store_run_page(F->conn, "", &q, &rows, &total), STORE_ERROR);
    assert_null(rows);
    assert_int_equal(store_run_page(F->conn, ws, NULL, &rows, NULL), STORE_ERROR);
}

/* ---- the bounded queue ---- */

typedef struct gate {
    uv_sem_t open;
    int done;
    int ok;
} gate_t;

static store_rc_t wait_work(store_conn_t *c, void *data)
{
    (void)c;
    uv_sem_wait(&((gate_t *)data)->open);
    return STORE_OK;
}

static void count_done(store_rc_t rc, void *data)
{
    gate_t *g = data;
    g->done++;
    g->ok += rc == STORE_OK;
}

static void test_submit_bounded(void **state)
{
    (void)state;
    uv_loop_t loop;
    gate_t g = {.done = 0};
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(uv_sem_init(&g.open, 0), 0);
    store_set_queue_max(F->store, 2);
    assert_int_equal(store_queue_depth(F->store), 0);
    assert_int_equal(store_submit_bounded(F->store, &loop, wait_work, count_done, &g), 0);
    assert_int_equal(store_submit_bounded(F->store, &loop, wait_work, count_done, &g), 0);
    /* Full: request work is refused at once, done never called... */
    assert_int_equal(store_submit_bounded(F->store, &loop, wait_work, count_done, &g),
                     STORE_SUBMIT_BUSY);
    /* ...but an internal write is taken, and counts. */
    assert_int_equal(store_submit(F->store, &loop, wait_work, count_done, &g), 0);
    assert_int_equal(store_queue_depth(F->store), 3);
    assert_int_equal(store_submit_bounded(F->store, &loop, wait_work, count_done, &g),
                     STORE_SUBMIT_BUSY);
    assert_int_equal(store_submit_bounded(F->store, &loop, NULL, count_done, &g), -1);
    for (int i = 0; i < 3; i++)
        uv_sem_post(&g.open);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(g.done, 3);
    assert_int_equal(g.ok, 3);
    assert_int_equal(store_queue_depth(F->store), 0);
    /* Room again. */
    uv_sem_post(&g.open);
    assert_int_equal(store_submit_bounded(F->store, &loop, wait_work, count_done, &g), 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(g.done, 4);
    /* No bound: never refused. */
    store_set_queue_max(F->store, 0);
    for (int i = 0; i < 5; i++)
        uv_sem_post(&g.open);
    for (int i = 0; i < 5; i++)
        assert_int_equal(store_submit_bounded(F->store, &loop, wait_work, count_done, &g), 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(g.done, 9);
    assert_int_equal(uv_loop_close(&loop), 0);
    uv_sem_destroy(&g.open);
}

/* A job that met no database leaves its time, for /ready's cache. */
static store_rc_t down_work(store_conn_t *c, void *data)
{
    (void)c;
    (void)data;
    return STORE_UNAVAILABLE;
}

static void test_unavailable_at(void **state)
{
    (void)state;
    uv_loop_t loop;
    gate_t g = {.done = 0};
    assert_int_equal(uv_loop_init(&loop), 0);
    uint64_t before = timeutil_mono_us();
    assert_true(store_unavailable_at_us(F->store) < before);
    assert_int_equal(store_submit(F->store, &loop, down_work, count_done, &g), 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(g.done, 1);
    assert_true(store_unavailable_at_us(F->store) >= before);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- rendering a reply with a cap (http/reply.c, called on the pool) ---- */

static void test_render_cap(void **state)
{
    (void)state;
    json_t *body = json_pack("{s:s, s:[i, i]}", "text", "hello", "n", 1, 2);
    char *want = json_dumps(body, JSON_COMPACT);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(http_json_render(body, 0, &out, &len), 0);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(out, want, len);
    free(out);
    assert_int_equal(http_json_render(body, strlen(want), &out, &len), 0); /* exactly the cap */
    free(out);
    assert_int_equal(http_json_render(body, strlen(want) - 1, &out, &len), HTTP_RENDER_TOO_LARGE);
    assert_null(out);
    assert_int_equal(len, 0);
    free(want);
    json_decref(body);

    /* Bigger than the cap by far: stops early, keeps nothing. */
    json_t *big = json_array();
    for (int i = 0; i < 20000; i++)
        json_array_append_new(big, json_string("0123456789abcdef0123456789abcdef"));
    assert_int_equal(http_json_render(big, 65536, &out, &len), HTTP_RENDER_TOO_LARGE);
    assert_null(out);
    assert_int_equal(http_json_render(big, 0, &out, &len), 0);
    assert_true(len > 20000 * 34);
    free(out);
    json_decref(big);
}

static const struct CMUnitTest cases[] = {
    cmocka_unit_test(test_run_page),
    cmocka_unit_test(test_submit_bounded),
    cmocka_unit_test(test_unavailable_at),
    cmocka_unit_test(test_render_cap),
};

int main(void)
{
    return FX_RUN_ALL(cases);
}
