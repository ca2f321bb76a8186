#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "http/cors.h"

#define S(lit) lit, sizeof(lit) - 1

static const char *find(const http_cors_reply_t *r, const char *name)
{
    static char buf[2048];
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->h[i].name, name) == 0) {
            memcpy(buf, r->h[i].value, r->h[i].value_len);
            buf[r->h[i].value_len] = '\0';
            return buf;
        }
    }
    return NULL;
}

static void test_builtins_allowed(void **state)
{
    (void)state;
    http_cors_t c;
    char err[128];
    assert_int_equal(http_cors_init(&c, NULL, err, sizeof(err)), 0);
    assert_true(http_cors_allowed(&c, S("https://os.agno.com")));
    assert_true(http_cors_allowed(&c, S("https://app.agno.com")));
    assert_true(http_cors_allowed(&c, S("https://agno.com")));
    assert_true(http_cors_allowed(&c, S("https://www.agno.com")));
    assert_true(http_cors_allowed(&c, S("https://os-stg.agno.com")));
    assert_true(http_cors_allowed(&c, S("http://localhost:3000")));
    assert_true(http_cors_allowed(&c, S("HTTPS://OS.AGNO.COM")));
    /* exact: scheme, host and port all count */
    assert_false(http_cors_allowed(&c, S("http://os.agno.com")));
    assert_false(http_cors_allowed(&c, S("https://os.agno.com:444")));
    assert_false(http_cors_allowed(&c, S("http://localhost:3001")));
    assert_false(http_cors_allowed(&c, S("https://os.agno.com.evil.com")));
    assert_false(http_cors_allowed(&c, S("https://evil.com")));
    assert_false(http_cors_allowed(&c, S("null")));
    assert_false(http_cors_allowed(&c, S("")));
    http_cors_free(&c);
}

static void test_extra_origins(void **state)
{
    (void)state;
    http_cors_t c;
    char err[128];
    assert_int_equal(
        http_cors_init(&c, " http://a.example:8080 ,https://b.example/,,", err, sizeof(err)), 0);
    assert_true(http_cors_allowed(&c, S("http://a.example:8080")));
    assert_true(http_cors_allowed(&c, S("https://b.example")));
    assert_true(http_cors_allowed(&c, S("https://os.agno.com")));
    assert_false(http_cors_allowed(&c, S("http://a.example")));
    assert_false(c.any);
    http_cors_free(&c);

    assert_int_equal(http_cors_init(&c, "https://x.example/path", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "CORS_ORIGINS"));
    assert_int_equal(http_cors_init(&c, "not an origin", err, sizeof(err)), -1);
}

static void test_star_echoes_wellformed_only(void **state)
{
    (void)state;
    http_cors_t c;
    char err[128];
    assert_int_equal(http_cors_init(&c, "*", err, sizeof(err)), 0);
    assert_true(c.any);
    assert_true(http_cors_allowed(&c, S("https://anything.example")));
    assert_false(http_cors_allowed(&c, S("null")));
    assert_false(http_cors_allowed(&c, S("https://a.example\r\nX-Evil: 1")));
    http_cors_reply_t r;
    http_cors_simple(&c, S("https://anything.example"), &r);
    /* never "*" with credentials: the origin is echoed */
    assert_string_equal(find(&r, "access-control-allow-origin"), "https://anything.example");
    assert_string_equal(find(&r, "access-control-allow-credentials"), "true");
    http_cors_free(&c);
}

static void test_origin_validation(void **state)
{
    (void)state;
    char longo[HTTP_CORS_ORIGIN_MAX + 10] = "https://";
    memset(longo + 8, 'a', sizeof(longo) - 9);
    longo[sizeof(longo) - 1] = '\0';
    assert_false(http_cors_origin_ok(longo, strlen(longo)));
    assert_true(http_cors_origin_ok(S("http://[::1]:7777")));
    assert_true(http_cors_origin_ok(S("http://127.0.0.1:7777")));
    assert_false(http_cors_origin_ok(S("https://a.example/")));
    assert_false(http_cors_origin_ok(S("https://a b")));
    assert_false(http_cors_origin_ok(S("https://a\x01")));
    assert_false(http_cors_origin_ok(S("https://")));
    assert_false(http_cors_origin_ok(S("://a")));
    assert_false(http_cors_origin_ok("https://a\0b", 11));
}

static void test_simple_headers(void **state)
{
    (void)state;
    http_cors_t c;
    char err[128];
    http_cors_init(&c, NULL, err, sizeof(err));
    http_cors_reply_t r;
    http_cors_simple(&c, S("https://os.agno.com"), &r);
    assert_string_equal(find(&r, "access-control-allow-origin"), "https://os.agno.com");
    assert_string_equal(find(&r, "access-control-allow-credentials"), "true");
    assert_string_equal(find(&r, "vary"), "Origin");
    assert_non_null(strstr(find(&r, "access-control-expose-headers"), "X-Request-ID"));
    assert_non_null(strstr(find(&r, "access-control-expose-headers"), "Retry-After"));
    assert_null(find(&r, "access-control-max-age"));

    http_cors_simple(&c, S("https://evil.example"), &r);
    assert_int_equal(r.n, 1); /* only Vary */
    assert_string_equal(find(&r, "vary"), "Origin");
    http_cors_simple(&c, NULL, 0, &r);
    assert_int_equal(r.n, 1);
    http_cors_free(&c);
}

static http_cors_preflight_in_t pf(const char *origin, const char *method, const char *hdrs,
                                   const char *pna)
{
    http_cors_preflight_in_t in = {origin,
                                   method,
                                   hdrs,
                                   pna,
                                   origin ? strlen(origin) : 0,
                                   method ? strlen(method) : 0,
                                   hdrs ? strlen(hdrs) : 0,
                                   pna ? strlen(pna) : 0};
    return in;
}

static void test_preflight(void **state)
{
    (void)state;
    http_cors_t c;
    char err[128];
    http_cors_init(&c, NULL, err, sizeof(err));
    http_cors_reply_t r;
    http_cors_preflight_in_t in =
        pf("https://os.agno.com", "POST", "authorization, content-type, x-workspace-id", NULL);
    assert_int_equal(http_cors_preflight(&c, &in, &r), HTTP_CORS_PREFLIGHT_OK);
    assert_string_equal(find(&r, "access-control-allow-origin"), "https://os.agno.com");
    assert_string_equal(find(&r, "access-control-allow-credentials"), "true");
    assert_string_equal(find(&r, "access-control-max-age"), "600");
    assert_string_equal(find(&r, "access-control-allow-headers"),
                        "authorization, content-type, x-workspace-id");
    assert_non_null(strstr(find(&r, "access-control-allow-methods"), "POST"));
    assert_non_null(strstr(find(&r, "access-control-allow-methods"), "DELETE"));
    assert_non_null(strstr(find(&r, "vary"), "Origin"));
    assert_null(find(&r, "access-control-allow-private-network"));

    in = pf("https://os.agno.com", "GET", NULL, "true");
    assert_int_equal(http_cors_preflight(&c, &in, &r), HTTP_CORS_PREFLIGHT_OK);
    assert_string_equal(find(&r, "access-control-allow-private-network"), "true");
    assert_null(find(&r, "access-control-allow-headers"));
    in = pf("https://os.agno.com", "GET", NULL, "false");
    http_cors_preflight(&c, &in, &r);
    assert_null(find(&r, "access-control-allow-private-network"));
    http_cors_free(&c);
}

static void test_preflight_refused(void **state)
{
    (void)state;
    http_cors_t c;
    char err[128];
    http_cors_init(&c, NULL, err, sizeof(err));
    http_cors_reply_t r;
    http_cors_preflight_in_t in = pf("https://evil.example", "GET", NULL, "true");
    assert_int_equal(http_cors_preflight(&c, &in, &r), HTTP_CORS_PREFLIGHT_DISALLOWED);
    assert_int_equal(r.n, 0);
    in = pf("https://os.agno.com", "GET", "x-a\r\nset-cookie: a", NULL);
    assert_int_equal(http_cors_preflight(&c, &in, &r), HTTP_CORS_PREFLIGHT_INVALID);
    assert_int_equal(r.n, 0);
    in = pf("https://os.agno.com", "GET", "x-a; x-b", NULL);
    assert_int_equal(http_cors_preflight(&c, &in, &r), HTTP_CORS_PREFLIGHT_INVALID);
    in = pf("https://os.agno.com", "GE T", NULL, NULL);
    assert_int_equal(http_cors_preflight(&c, &in, &r), HTTP_CORS_PREFLIGHT_INVALID);
    char big[HTTP_CORS_REQ_HEADERS_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    in = pf("https://os.agno.com", "GET", big, NULL);
    assert_int_equal(http_cors_preflight(&c, &in, &r), HTTP_CORS_PREFLIGHT_INVALID);
    assert_true(http_cors_token_list_ok("", 0, 10));
    http_cors_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtins_allowed),
        cmocka_unit_test(test_extra_origins),
        cmocka_unit_test(test_star_echoes_wellformed_only),
        cmocka_unit_test(test_origin_validation),
        cmocka_unit_test(test_simple_headers),
        cmocka_unit_test(test_preflight),
        cmocka_unit_test(test_preflight_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
