/* net/http_retry: reading Retry-After, which failures retry, the wait
 * before a retry (jitter source fixed so that each delay is known) and the
 * deadline check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "net/http_retry.h"

#define NOW ((time_t)1700000000) /* Tue, 14 Nov 2023 22:13:20 GMT */

static long parse(const char *v, int is_ms)
{
    return http_retry_parse_after(v, strlen(v), is_ms, NOW);
}

static void test_after_seconds(void **state)
{
    (void)state;
    assert_int_equal(parse("3", 0), 3000);
    assert_int_equal(parse(" 2\r\n", 0), 2000);
    assert_int_equal(parse("\t0.5 ", 0), 500);
    assert_int_equal(parse("0", 0), 0);
}

static void test_after_ms(void **state)
{
    (void)state;
    assert_int_equal(parse("250", 1), 250);
    assert_int_equal(parse(" 1500\r\n", 1), 1500);
    /* A date is no millisecond count. */
    assert_int_equal(parse("Tue, 14 Nov 2023 22:13:25 GMT", 1), -1);
}

static void test_after_http_date(void **state)
{
    (void)state;
    assert_int_equal(parse("Tue, 14 Nov 2023 22:13:25 GMT\r\n", 0), 5000);
    assert_int_equal(parse("Tuesday, 14-Nov-23 22:13:30 GMT", 0), 10000);
    /* Past (or now): retry at once. */
    assert_int_equal(parse("Tue, 14 Nov 2023 22:00:00 GMT", 0), 0);
}

static void test_after_unreadable(void **state)
{
    (void)state;
    assert_int_equal(parse("", 0), -1);
    assert_int_equal(parse("  \r\n", 0), -1);
    assert_int_equal(parse("-1", 0), -1);
    assert_int_equal(parse("soon", 0), -1);
    assert_int_equal(parse("3x", 1), -1);
    /* A day in milliseconds or more is no honest answer. */
    assert_int_equal(parse("86400000", 0), -1);
    char longv[80];
    memset(longv, '1', sizeof(longv));
    assert_int_equal(http_retry_parse_after(longv, sizeof(longv), 0, NOW), -1);
}

static void test_status_retryable(void **state)
{
    (void)state;
    assert_true(http_retry_status_retryable(429));
    assert_true(http_retry_status_retryable(500));
    assert_true(http_retry_status_retryable(503));
    assert_false(http_retry_status_retryable(400));
    assert_false(http_retry_status_retryable(401));
    assert_false(http_retry_status_retryable(404));
    assert_false(http_retry_status_retryable(200));
}

static void test_curl_retryable(void **state)
{
    (void)state;
    assert_true(http_retry_curl_retryable(CURLE_COULDNT_CONNECT));
    assert_true(http_retry_curl_retryable(CURLE_COULDNT_RESOLVE_HOST));
    assert_true(http_retry_curl_retryable(CURLE_OPERATION_TIMEDOUT));
    assert_true(http_retry_curl_retryable(CURLE_GOT_NOTHING));
    assert_true(http_retry_curl_retryable(CURLE_SEND_ERROR));
    assert_true(http_retry_curl_retryable(CURLE_RECV_ERROR));
    assert_true(http_retry_curl_retryable(CURLE_SSL_CONNECT_ERROR));
    assert_false(http_retry_curl_retryable(CURLE_OK));
    assert_false(http_retry_curl_retryable(CURLE_WRITE_ERROR));
    assert_false(http_retry_curl_retryable(CURLE_PEER_FAILED_VERIFICATION));
    assert_false(http_retry_curl_retryable(CURLE_UNSUPPORTED_PROTOCOL));
}

static uint64_t fixed_source(void *ud)
{
    return *(const uint64_t *)ud;
}

static void test_delay_backs_off(void **state)
{
    (void)state;
    uint64_t r = 0;
    backoff_rng_t rng = {.state = 1, .source = fixed_source, .ud = &r};
    /* No jitter drawn: half the ceiling, which doubles per attempt. */
    assert_int_equal(http_retry_delay_ms(&rng, 500, 20000, 0, -1), 250);
    assert_int_equal(http_retry_delay_ms(&rng, 500, 20000, 1, -1), 500);
    assert_int_equal(http_retry_delay_ms(&rng, 500, 20000, 3, -1), 2000);
    assert_int_equal(http_retry_delay_ms(&rng, 500, 20000, 30, -1), 10000);
    /* The most jitter: the whole ceiling, never past the cap. */
    r = 250;
    assert_int_equal(http_retry_delay_ms(&rng, 500, 20000, 0, -1), 500);
    r = 10000;
    assert_int_equal(http_retry_delay_ms(&rng, 500, 20000, 30, -1), 20000);
}

static void test_delay_honours_retry_after(void **state)
{
    (void)state;
    uint64_t r = 0;
    backoff_rng_t rng = {.state = 1, .source = fixed_source, .ud = &r};
    assert_int_equal(http_retry_delay_ms(&rng, 500, 20000, 0, 3000), 3000);
    assert_int_equal(http_retry_delay_ms(&rng, 500, 20000, 5, 0), 0);
    /* The server may not hold a call past our cap. */
    assert_int_equal(http_retry_delay_ms(&rng, 500, 20000, 0, 60000), 20000);
}

static void test_fits_deadline(void **state)
{
    (void)state;
    assert_true(http_retry_fits(1000, 0, 1000000));
    assert_true(http_retry_fits(1000, 2000, 999));
    assert_false(http_retry_fits(1000, 2000, 1000));
    assert_false(http_retry_fits(1000, 2000, 5000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_after_seconds),    cmocka_unit_test(test_after_ms),
        cmocka_unit_test(test_after_http_date),  cmocka_unit_test(test_after_unreadable),
        cmocka_unit_test(test_status_retryable), cmocka_unit_test(test_curl_retryable),
        cmocka_unit_test(test_delay_backs_off),  cmocka_unit_test(test_delay_honours_retry_after),
        cmocka_unit_test(test_fits_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
