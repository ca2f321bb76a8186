#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "http/router.h"

static void h(http_request_t *r)
{
    (void)r;
}

static const http_route_t routes[] = {
    {"GET", "/", h, 0, NULL},
    {"GET", "/health", h, 0, NULL},
    {"GET", "/sessions", h, 1, NULL},
    {"DELETE", "/sessions", h, 1, NULL},
    {"GET", "/sessions/{id}", h, 2, NULL},
    {"GET", "/sessions/{id}/runs", h, 3, NULL},
    {"POST", "/agents/{agent}/runs/{run}/cancel", h, 4, NULL},
};
#define N (sizeof(routes) / sizeof(routes[0]))

static router_match_t match(const char *method, const char *path)
{
    router_match_t m;
    router_match(routes, N, method, strlen(method), path, strlen(path), &m);
    return m;
}

static void test_exact_and_root(void **state)
{
    (void)state;
    router_match_t m = match("GET", "/");
    assert_int_equal(m.status, 200);
    assert_ptr_equal(m.route, &routes[0]);
    m = match("GET", "/health");
    assert_ptr_equal(m.route, &routes[1]);
    assert_int_equal(m.nparams, 0);
}

static void test_trailing_slash_ignored(void **state)
{
    (void)state;
    assert_ptr_equal(match("GET", "/health/").route, &routes[1]);
    assert_ptr_equal(match("GET", "/sessions/abc/").route, &routes[4]);
}

static void test_params(void **state)
{
    (void)state;
    router_match_t m = match("POST", "/agents/a1/runs/r-2/cancel");
    assert_int_equal(m.status, 200);
    assert_int_equal(m.nparams, 2);
    assert_int_equal(m.params[0].len, 2);
    assert_memory_equal(m.params[0].base, "a1", 2);
    assert_memory_equal(m.params[1].base, "r-2", 3);
    m = match("GET", "/sessions/s1/runs");
    assert_ptr_equal(m.route, &routes[5]);
    assert_memory_equal(m.params[0].base, "s1", 2);
}

/* h2o hands over the decoded path, so /sessions/victim%00x arrives with a
 * NUL inside: the parameter keeps its whole length, for the id rule to see
 * (a strlen would turn it into "victim"). */
static void test_param_keeps_a_decoded_nul(void **state)
{
    (void)state;
    static const char path[] = "/sessions/victim\0x/runs";
    router_match_t m;
    router_match(routes, N, "GET", 3, path, sizeof(path) - 1, &m);
    assert_ptr_equal(m.route, &routes[5]);
    assert_int_equal(m.params[0].len, 8);
    assert_memory_equal(m.params[0].base, "victim\0x", 8);
}

static void test_not_found(void **state)
{
    (void)state;
    assert_int_equal(match("GET", "/nope").status, 404);
    assert_int_equal(match("GET", "/healthz").status, 404);
    assert_int_equal(match("GET", "/sessions//runs").status, 404); /* empty parameter */
    assert_int_equal(match("GET", "/sessions/a/b/c").status, 404);
    assert_int_equal(match("GET", "").status, 404);
}

static void test_method_not_allowed_lists_methods(void **state)
{
    (void)state;
    router_match_t m = match("POST", "/sessions");
    assert_int_equal(m.status, 405);
    assert_null(m.route);
    assert_string_equal(m.allow, "GET, DELETE");
    m = match("PUT", "/health");
    assert_int_equal(m.status, 405);
    assert_string_equal(m.allow, "GET");
}

/* The literal walk (no strchr per route): a prefix, a longer segment, a
 * segment cut short and a one-byte "{" segment, which is a literal. */
static void test_literal_segments(void **state)
{
    (void)state;
    static const http_route_t lit[] = {
        {"GET", "/ses", h, 0, NULL},
        {"GET", "/{", h, 1, NULL},
        {"GET", "/a/{x}/b", h, 2, NULL},
    };
    const char *miss[] = {"/se", "/sess", "/sesx", "/x", "/{x", "/a/1", "/a/1/bb", "/a//b"};
    for (size_t i = 0; i < sizeof(miss) / sizeof(miss[0]); i++) {
        router_match_t m;
        router_match(lit, 3, "GET", 3, miss[i], strlen(miss[i]), &m);
        assert_int_equal(m.status, 404);
        assert_int_equal(m.nparams, 0);
    }
    router_match_t m;
    router_match(lit, 3, "GET", 3, "/{", 2, &m);
    assert_ptr_equal(m.route, &lit[1]);
    router_match(lit, 3, "GET", 3, "/a/q1/b", 7, &m);
    assert_ptr_equal(m.route, &lit[2]);
    assert_int_equal(m.nparams, 1);
    assert_int_equal(m.params[0].len, 2);
    assert_memory_equal(m.params[0].base, "q1", 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_and_root),
        cmocka_unit_test(test_literal_segments),
        cmocka_unit_test(test_trailing_slash_ignored),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_param_keeps_a_decoded_nul),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_method_not_allowed_lists_methods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
