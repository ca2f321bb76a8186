#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/head_check.h"

static const http_head_limits_t LIM = {.max_head = 1024, .max_line = 128, .http2 = 0};

static http_head_result_t check_lim(const char *s, size_t len, const http_head_limits_t *lim)
{
    http_head_result_t r;
    http_head_check(s, len, lim, &r);
    return r;
}

static http_head_verdict_t verdict(const char *s)
{
    return check_lim(s, strlen(s), &LIM).verdict;
}

/* A head of exactly len bytes: a request line, then filler headers. */
static char *head_of(size_t len, int finished)
{
    char *s = malloc(len + 1);
    static const char line[] = "GET / HTTP/1.1\r\nX-Fill: ";
    memcpy(s, line, sizeof(line) - 1);
    memset(s + sizeof(line) - 1, 'a', len - (sizeof(line) - 1));
    if (finished)
        memcpy(s + len - 4, "\r\n\r\n", 4);
    s[len] = '\0';
    return s;
}

static void test_complete_head(void **state)
{
    (void)state;
    const char *s = "GET /health HTTP/1.1\r\nHost: x\r\n\r\nbody";
    http_head_result_t r = check_lim(s, strlen(s), &LIM);
    assert_int_equal(r.verdict, HEAD_COMPLETE);
    assert_int_equal(r.head_len, strlen(s) - 4);
}

static void test_leading_crlf_is_skipped_as_h2o_does(void **state)
{
    (void)state;
    assert_int_equal(verdict("\r\nGET / HTTP/1.1\r\n\r\n"), HEAD_COMPLETE);
    assert_int_equal(verdict("\nGET / HTTP/1.1\r\n\r\n"), HEAD_COMPLETE);
}

static void test_partial_waits(void **state)
{
    (void)state;
    assert_int_equal(verdict("GET /health HTTP/1.1\r\nHost: x\r\n"), HEAD_PARTIAL);
    assert_int_equal(verdict("GET /hea"), HEAD_PARTIAL);
    assert_int_equal(verdict("\r\n"), HEAD_PARTIAL);
}

static void test_head_at_the_limit_passes_one_over_does_not(void **state)
{
    (void)state;
    char *at = head_of(LIM.max_head, 1);
    assert_int_equal(check_lim(at, LIM.max_head, &LIM).verdict, HEAD_COMPLETE);
    char *over = head_of(LIM.max_head + 1, 1);
    assert_int_equal(check_lim(over, LIM.max_head + 1, &LIM).verdict, HEAD_TOO_LARGE);
    free(at);
    free(over);
}

static void test_unfinished_head_past_the_limit(void **state)
{
    (void)state;
    char *s = head_of(LIM.max_head + 1, 0);
    assert_int_equal(check_lim(s, LIM.max_head, &LIM).verdict, HEAD_PARTIAL);
    assert_int_equal(check_lim(s, LIM.max_head + 1, &LIM).verdict, HEAD_TOO_LARGE);
    free(s);
}

static void test_request_line_limit(void **state)
{
    (void)state;
    char line[512];
    /* "GET /" + path + " HTTP/1.1" is exactly max_line */
    size_t path = LIM.max_line - strlen("GET / HTTP/1.1");
    snprintf(line, sizeof(line), "GET /%.*s HTTP/1.1\r\n\r\n", (int)path,
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal(verdict(line), HEAD_COMPLETE);
    snprintf(line, sizeof(line), "GET /%.*s HTTP/1.1\r\n\r\n", (int)path + 1,
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal(verdict(line), HEAD_LINE_TOO_LONG);
    /* unfinished: known too long once max_line + 2 bytes hold no LF */
    char url[300];
    memset(url, 'a', sizeof(url));
    memcpy(url, "GET /", 5);
    assert_int_equal(check_lim(url, LIM.max_line + 1, &LIM).verdict, HEAD_PARTIAL);
    assert_int_equal(check_lim(url, LIM.max_line + 2, &LIM).verdict, HEAD_LINE_TOO_LONG);
}

static void test_malformed(void **state)
{
    (void)state;
    assert_int_equal(verdict("GET /health HTTP/1.1\r\nBad Header\r\n\r\n"), HEAD_MALFORMED);
    assert_int_equal(verdict("GARBAGE\r\n\r\n"), HEAD_MALFORMED);
    assert_int_equal(verdict("GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n"), HEAD_MALFORMED);
}

static void test_too_many_headers(void **state)
{
    (void)state;
    http_head_limits_t lim = {.max_head = 8192, .max_line = 128};
    char buf[8192];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: v\r\n", i);
    memcpy(buf + n, "\r\n", 3);
    assert_int_equal(check_lim(buf, n + 2, &lim).verdict, HEAD_COMPLETE);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-last: v\r\n\r\n");
    assert_int_equal(check_lim(buf, n, &lim).verdict, HEAD_TOO_MANY);
}

static void test_content_length_twice(void **state)
{
    (void)state;
    assert_int_equal(verdict("POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 5\r\n\r\n"),
                     HEAD_SMUGGLING);
    assert_int_equal(verdict("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"),
                     HEAD_COMPLETE);
}

static void test_content_length_with_transfer_encoding(void **state)
{
    (void)state;
    assert_int_equal(
        verdict("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"),
        HEAD_SMUGGLING);
    assert_int_equal(
        verdict("POST / HTTP/1.1\r\nContent-Length: 3\r\nTRANSFER-ENCODING: chunked\r\n\r\n"),
        HEAD_SMUGGLING);
    assert_int_equal(verdict("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
                     HEAD_COMPLETE);
}

static void test_body_length_as_h2o_reads_it(void **state)
{
    (void)state;
    const char *cl = "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde";
    http_head_result_t r = check_lim(cl, strlen(cl), &LIM);
    assert_int_equal(r.verdict, HEAD_COMPLETE);
    assert_int_equal(r.body_len, 5);
    assert_int_equal(r.head_len, strlen(cl) - 5);
    const char *none = "GET / HTTP/1.1\r\n\r\n";
    assert_int_equal(check_lim(none, strlen(none), &LIM).body_len, 0);
    const char *te = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_true(check_lim(te, strlen(te), &LIM).body_len == SIZE_MAX);
    const char *bad = "POST / HTTP/1.1\r\nContent-Length: 5x\r\n\r\n";
    assert_true(check_lim(bad, strlen(bad), &LIM).body_len == SIZE_MAX);
}

static void test_http2_preface_only_when_on(void **state)
{
    (void)state;
    const char *pri = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    http_head_limits_t on = LIM;
    on.http2 = 1;
    assert_int_equal(verdict(pri), HEAD_MALFORMED);
    assert_int_equal(check_lim(pri, strlen(pri), &on).verdict, HEAD_PASS);
    assert_int_equal(check_lim(pri, 3, &on).verdict, HEAD_PASS);
    assert_int_equal(check_lim("PRI * HTTP/1.1\r\n\r\n", 18, &on).verdict, HEAD_COMPLETE);
}

static void test_bare_crlf_left_to_h2o(void **state)
{
    (void)state;
    assert_int_equal(verdict("\r\n\r\n"), HEAD_PASS);
}

static void test_request_id_of_a_refused_head(void **state)
{
    (void)state;
    char *s = head_of(LIM.max_head + 10, 0);
    memcpy(s + 16, "X-Request-ID:  abc-1\r\n", 22);
    http_head_result_t r = check_lim(s, LIM.max_head + 10, &LIM);
    assert_int_equal(r.verdict, HEAD_TOO_LARGE);
    assert_int_equal(r.request_id_len, 5);
    assert_memory_equal(r.request_id, "abc-1", 5);
    memcpy(s + 16, "X-Request-ID: a\x01c-1\r\n", 21);
    r = check_lim(s, LIM.max_head + 10, &LIM);
    assert_null(r.request_id);
    free(s);
}

static void test_origin_of_a_refused_head(void **state)
{
    (void)state;
    char *s = head_of(LIM.max_head + 10, 0);
    memcpy(s + 16, "Origin:  https://os.agno.com \r\nX-Request-ID: r-2\r\n", 50);
    http_head_result_t r = check_lim(s, LIM.max_head + 10, &LIM);
    assert_int_equal(r.verdict, HEAD_TOO_LARGE);
    assert_int_equal(r.origin_len, 19);
    assert_memory_equal(r.origin, "https://os.agno.com", 19);
    assert_int_equal(r.request_id_len, 3);
    free(s);
    r = check_lim("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27, &LIM);
    assert_int_equal(r.verdict, HEAD_COMPLETE);
    assert_null(r.origin);
}

static void test_error_replies(void **state)
{
    (void)state;
    http_head_error_t e;
    assert_int_equal(http_head_error(HEAD_TOO_LARGE, &e), 0);
    assert_int_equal(e.status, 431);
    assert_int_equal(http_head_error(HEAD_TOO_MANY, &e), 0);
    assert_int_equal(e.status, 431);
    assert_int_equal(http_head_error(HEAD_LINE_TOO_LONG, &e), 0);
    assert_int_equal(e.status, 414);
    assert_int_equal(http_head_error(HEAD_SMUGGLING, &e), 0);
    assert_int_equal(e.status, 400);
    assert_int_equal(http_head_error(HEAD_MALFORMED, &e), 0);
    assert_int_equal(e.status, 400);
    assert_int_equal(http_head_error(HEAD_COMPLETE, &e), -1);
    assert_int_equal(http_head_error(HEAD_PARTIAL, &e), -1);
    assert_int_equal(http_head_error(HEAD_PASS, &e), -1);
}

/* Random bytes from a small alphabet that makes lines, headers and heads:
 * under ASan, no read past the buffer, and every verdict is consistent. */
static void test_random_heads(void **state)
{
    (void)state;
    static const char alphabet[] = "GET / HTTP/1.1\r\n:ab\r\n\r\nContent-Length: 1";
    http_head_limits_t lim = {.max_head = 300, .max_line = 40, .http2 = 1};
    srand(7);
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(rand() % 400) + 1;
        char *buf = malloc(len); /* exactly len: ASan sees any overread */
        for (size_t j = 0; j < len; j++)
            buf[j] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
        http_head_result_t r;
        http_head_check(buf, len, &lim, &r);
        assert_true(r.verdict >= HEAD_PARTIAL && r.verdict <= HEAD_TOO_MANY);
        if (r.verdict == HEAD_COMPLETE)
            assert_true(r.head_len > 0 && r.head_len <= lim.max_head && r.head_len <= len);
        if (r.verdict == HEAD_PARTIAL)
            assert_true(len <= lim.max_head);
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete_head),
        cmocka_unit_test(test_leading_crlf_is_skipped_as_h2o_does),
        cmocka_unit_test(test_partial_waits),
        cmocka_unit_test(test_head_at_the_limit_passes_one_over_does_not),
        cmocka_unit_test(test_unfinished_head_past_the_limit),
        cmocka_unit_test(test_request_line_limit),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_too_many_headers),
        cmocka_unit_test(test_content_length_twice),
        cmocka_unit_test(test_content_length_with_transfer_encoding),
        cmocka_unit_test(test_body_length_as_h2o_reads_it),
        cmocka_unit_test(test_http2_preface_only_when_on),
        cmocka_unit_test(test_bare_crlf_left_to_h2o),
        cmocka_unit_test(test_request_id_of_a_refused_head),
        cmocka_unit_test(test_origin_of_a_refused_head),
        cmocka_unit_test(test_error_replies),
        cmocka_unit_test(test_random_heads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
