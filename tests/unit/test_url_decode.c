/* core/url: the cases both old decoders handled. Lenient is the query and
 * form decoder (http_url_decode); strict is REDIS_URL's user and password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core/url.h"
#include "http/request.h"

#define STRICT (URL_DECODE_STRICT | URL_DECODE_NO_NUL)

static ssize_t dec(char *out, size_t outsize, const char *s, unsigned flags)
{
    return url_decode(out, outsize, s, strlen(s), flags);
}

static void expect(const char *in, unsigned flags, const char *want)
{
    char out[64];
    ssize_t n = dec(out, sizeof out, in, flags);
    assert_int_equal(n, (ssize_t)strlen(want));
    assert_string_equal(out, want);
}

static void test_escapes_and_case(void **state)
{
    (void)state;
    expect("%41%62c", URL_DECODE_PLUS, "Abc");
    expect("a%2fb%2Fc", URL_DECODE_PLUS, "a/b/c");
    expect("p%40ss%3Aw", STRICT, "p@ss:w");
    expect("", STRICT, "");
    expect("plain", 0, "plain");
}

static void test_plus(void **state)
{
    (void)state;
    expect("a+b++", URL_DECODE_PLUS, "a b  ");
    expect("a%2Bb", URL_DECODE_PLUS, "a+b");
    /* A URL's userinfo is not form encoding: '+' is itself. */
    expect("a+b", STRICT, "a+b");
}

static void test_bad_escapes_lenient_stay(void **state)
{
    (void)state;
    expect("100%", URL_DECODE_PLUS, "100%");
    expect("%4", URL_DECODE_PLUS, "%4");
    expect("%zz1", URL_DECODE_PLUS, "%zz1");
    expect("%4g", URL_DECODE_PLUS, "%4g");
    expect("%%41", URL_DECODE_PLUS, "%A");
}

static void test_bad_escapes_strict_fail(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(dec(out, sizeof out, "100%", STRICT), -1);
    assert_int_equal(dec(out, sizeof out, "%4", STRICT), -1);
    assert_int_equal(dec(out, sizeof out, "ab%4", STRICT), -1);
    assert_int_equal(dec(out, sizeof out, "%zz", STRICT), -1);
    assert_int_equal(dec(out, sizeof out, "%%41", STRICT), -1);
}

static void test_nul(void **state)
{
    (void)state;
    char out[16];
    /* The query decoder keeps a %00 in the value; its length says so. */
    assert_int_equal(dec(out, sizeof out, "a%00b", URL_DECODE_PLUS), 3);
    assert_memory_equal(out, "a\0b", 4);
    assert_int_equal(dec(out, sizeof out, "a%00b", STRICT), -1);
    assert_int_equal(dec(out, sizeof out, "%00", URL_DECODE_NO_NUL), -1);
    /* %01 is not a NUL. */
    assert_int_equal(dec(out, sizeof out, "%01", STRICT), 1);
}

static void test_bounds(void **state)
{
    (void)state;
    char out[8];
    memset(out, 'z', sizeof out);
    assert_int_equal(dec(out, 4, "abc", 0), 3); /* len + 1 fits */
    assert_string_equal(out, "abc");
    assert_int_equal(dec(out, 3, "abc", 0), -1);
    assert_int_equal(out[3], '\0');             /* nothing written past outsize */
    assert_int_equal(dec(out, 2, "%41", 0), 1); /* decoded length is what counts */
    assert_string_equal(out, "A");
    assert_int_equal(dec(out, 0, "", 0), -1);
    assert_int_equal(dec(out, 1, "", 0), 0);
    assert_string_equal(out, "");
    /* An escape cut by len is not read past len. */
    assert_int_equal(url_decode(out, sizeof out, "%41", 2, URL_DECODE_PLUS), 2);
    assert_string_equal(out, "%4");
}

static void test_http_url_decode_is_lenient(void **state)
{
    (void)state;
    char out[32];
    const char *in = "a+b%20c%zz%00d";
    size_t n = http_url_decode(out, in, strlen(in));
    assert_int_equal(n, 10);
    assert_memory_equal(out, "a b c%zz\0d", 11);
}

/* Form values carry UTF-8 as escapes; an escape cut by the value's end
 * (the next '&' for a form) stays as text. */
static void test_http_url_decode_utf8_and_cut(void **state)
{
    (void)state;
    char out[32];
    const char *in = "caf%C3%A9+%E2%82%AC";
    size_t n = http_url_decode(out, in, strlen(in));
    assert_int_equal(n, 9);
    assert_string_equal(out, "caf\xc3\xa9 \xe2\x82\xac");
    n = http_url_decode(out, "x%4", 3);
    assert_int_equal(n, 3);
    assert_string_equal(out, "x%4");
    n = http_url_decode(out, "%41&b=1", 3);
    assert_int_equal(n, 1);
    assert_string_equal(out, "A");
    assert_int_equal(http_url_decode(out, "", 0), 0);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes_and_case),
        cmocka_unit_test(test_plus),
        cmocka_unit_test(test_bad_escapes_lenient_stay),
        cmocka_unit_test(test_bad_escapes_strict_fail),
        cmocka_unit_test(test_nul),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_http_url_decode_is_lenient),
        cmocka_unit_test(test_http_url_decode_utf8_and_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
