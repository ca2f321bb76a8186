#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "auth/service_key.h"

static const char KEY[] = "os-security-key-0123456789";

static void test_exact_key_matches(void **state)
{
    (void)state;
    assert_true(service_key_matches(KEY, KEY, strlen(KEY)));
    /* The bearer need not be NUL-terminated: it is a slice of a header. */
    char buf[64];
    memcpy(buf, KEY, strlen(KEY));
    memset(buf + strlen(KEY), 'Z', sizeof buf - strlen(KEY));
    assert_true(service_key_matches(KEY, buf, strlen(KEY)));
}

static void test_near_misses_refused(void **state)
{
    (void)state;
    size_t n = strlen(KEY);
    assert_false(service_key_matches(KEY, KEY, n - 1)); /* a prefix */
    char longer[64];
    memcpy(longer, KEY, n);
    longer[n] = 'x';
    assert_false(service_key_matches(KEY, longer, n + 1)); /* the key plus a byte */
    char nul[64];
    memcpy(nul, KEY, n + 1); /* the key, its NUL, then more: a C-string compare matches */
    memcpy(nul + n + 1, "tail", 4);
    assert_false(service_key_matches(KEY, nul, n + 5));
    char flipped[64];
    memcpy(flipped, KEY, n);
    for (size_t i = 0; i < n; i++) { /* one byte off, anywhere */
        flipped[i] ^= 0x01;
        assert_false(service_key_matches(KEY, flipped, n));
        flipped[i] ^= 0x01;
    }
    assert_true(service_key_matches(KEY, flipped, n));
}

static void test_no_key_matches_nothing(void **state)
{
    (void)state;
    assert_false(service_key_matches(NULL, "", 0));
    assert_false(service_key_matches(NULL, KEY, strlen(KEY)));
    assert_false(service_key_matches("", "", 0));
    assert_false(service_key_matches("", KEY, strlen(KEY)));
    assert_false(service_key_matches(KEY, NULL, 0));
    assert_false(service_key_matches(KEY, "", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_key_matches),
        cmocka_unit_test(test_near_misses_refused),
        cmocka_unit_test(test_no_key_matches_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
