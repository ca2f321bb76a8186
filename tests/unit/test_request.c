/* What http/request.h and http/reply.h give the handlers in place of h2o's
 * struct: request bytes as http_str_t, and reply headers that are checked
 * before they go out. A bare h2o_req_t with a pool stands in for a
 * request: these functions touch nothing else of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/reply.h"
#include "http/request.h"

typedef struct fixture {
    h2o_req_t req;
    http_request_t r;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    h2o_mem_init_pool(&f->req.pool);
    f->req.query_at = SIZE_MAX;
    f->r.req = &f->req;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    h2o_mem_clear_pool(&f->req.pool);
    free(f);
    return 0;
}

static void set_path(fixture_t *f, const char *path)
{
    f->req.path = h2o_iovec_init(path, strlen(path));
    const char *q = strchr(path, '?');
    f->req.query_at = q != NULL ? (size_t)(q - path) : SIZE_MAX;
}

/* The value of reply header name, NUL-terminated for the asserts. */
static const char *reply_header(fixture_t *f, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&f->req.res.headers, name, strlen(name), -1);
    if (i < 0)
        return NULL;
    h2o_iovec_t v = f->req.res.headers.entries[i].value;
    return h2o_strdup(&f->req.pool, v.base, v.len).base;
}

static void test_header_and_body(void **state)
{
    fixture_t *f = *state;
    assert_null(http_request_header(&f->r, "authorization").base);
    h2o_add_header_by_str(&f->req.pool, &f->req.headers, H2O_STRLIT("authorization"), 1, NULL,
                          H2O_STRLIT("Bearer t"));
    http_str_t v = http_request_header(&f->r, "authorization");
    assert_int_equal(v.len, 8);
    assert_memory_equal(v.base, "Bearer t", 8);

    http_str_t b = http_request_body(&f->r);
    assert_null(b.base);
    assert_int_equal(b.len, 0);
    f->req.entity = h2o_iovec_init(H2O_STRLIT("{}"));
    b = http_request_body(&f->r);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.base, "{}", 2);
}

static void test_query_string(void **state)
{
    fixture_t *f = *state;
    set_path(f, "/runs");
    assert_null(http_request_query_string(&f->r).base);
    assert_null(http_request_query(&f->r, "status"));
    set_path(f, "/runs?status=a&status=b%20c");
    http_str_t q = http_request_query_string(&f->r);
    assert_int_equal(q.len, strlen("status=a&status=b%20c"));
    assert_memory_equal(q.base, "status=a&status=b%20c", q.len);
    assert_string_equal(http_request_query(&f->r, "status"), "a");
    set_path(f, "/runs?");
    q = http_request_query_string(&f->r);
    assert_non_null(q.base);
    assert_int_equal(q.len, 0);
}

static void test_param_n(void **state)
{
    fixture_t *f = *state;
    size_t len = 99;
    assert_null(http_request_param_n(&f->r, 0, &len));
    assert_int_equal(len, 0);
    f->r.nparams = 2;
    f->r.params[0] = h2o_iovec_init(H2O_STRLIT("abc"));
    f->r.params[1] = h2o_iovec_init("a\0b", 3); /* a decoded %00 */
    assert_string_equal(http_request_param_n(&f->r, 0, &len), "abc");
    assert_int_equal(len, 3);
    assert_null(http_request_param_n(&f->r, 1, &len));
    assert_int_equal(len, 3);
}

static void test_alloc_is_the_pool(void **state)
{
    fixture_t *f = *state;
    char *p = http_request_alloc(&f->r, 64);
    assert_non_null(p);
    memset(p, 'x', 64); /* ASan: the whole size is ours; the pool frees it */
}

static void test_reply_header_checked(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(http_reply_header(&f->r, "cache-control", "no-cache", 8), 0);
    assert_int_equal(http_reply_header(&f->r, "x-content-type-options", "nosniff", 7), 0);
    assert_string_equal(reply_header(f, "cache-control"), "no-cache");
    assert_string_equal(reply_header(f, "x-content-type-options"), "nosniff");
    /* No value ends the line early, no name is anything but a token. */
    assert_int_equal(http_reply_header(&f->r, "x-a", "v\r\nset-cookie: s", 16), -1);
    assert_int_equal(http_reply_header(&f->r, "x-a", "v\nx", 3), -1);
    assert_int_equal(http_reply_header(&f->r, "x-a", "v\0x", 3), -1);
    assert_int_equal(http_reply_header(&f->r, "x a", "v", 1), -1);
    assert_int_equal(http_reply_header(&f->r, "x-a:", "v", 1), -1);
    assert_int_equal(http_reply_header(&f->r, "X-A", "v", 1), -1);
    assert_int_equal(http_reply_header(&f->r, "", "v", 1), -1);
    assert_int_equal(http_reply_header(&f->r, "x-a", NULL, 0), -1);
    assert_int_equal(f->req.res.headers.size, 2);
}

static void test_reply_header_copies(void **state)
{
    fixture_t *f = *state;
    char name[] = "x-a", value[] = "one";
    assert_int_equal(http_reply_header(&f->r, name, value, 3), 0);
    name[0] = 'y';
    memcpy(value, "two", 3);
    assert_string_equal(reply_header(f, "x-a"), "one");
}

static void test_retry_after(void **state)
{
    fixture_t *f = *state;
    http_reply_retry_after(&f->r, 0);
    assert_string_equal(reply_header(f, "retry-after"), "1");
    f->req.res.headers.size = 0;
    http_reply_retry_after(&f->r, 37);
    assert_string_equal(reply_header(f, "retry-after"), "37");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_header_and_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_string, setup, teardown),
        cmocka_unit_test_setup_teardown(test_param_n, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_is_the_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_header_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_header_copies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
