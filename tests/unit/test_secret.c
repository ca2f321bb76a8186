/* core/secret: a wipe leaves zeros (checked on a buffer wiped but not
 * freed), the frees take NULL, and ASan sees no leak or overrun. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/secret.h"

static void test_wipe_leaves_zeros(void **state)
{
    (void)state;
    char buf[48];
    memset(buf, 'k', sizeof buf);
    secret_wipe(buf + 8, 32);
    for (size_t i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], i >= 8 && i < 40 ? 0 : 'k');
}

static void test_wipe_of_nothing(void **state)
{
    (void)state;
    secret_wipe(NULL, 0);
    char c = 'x';
    secret_wipe(&c, 0);
    assert_int_equal(c, 'x');
}

static void test_free_takes_null(void **state)
{
    (void)state;
    secret_free(NULL);
    secret_free_n(NULL, 16);
}

static void test_free_owned_copies(void **state)
{
    (void)state;
    secret_free(strdup("sk-test-0123456789"));
    secret_free(strdup(""));
    /* A token that is not NUL-terminated and holds a NUL. */
    char *tok = malloc(5);
    assert_non_null(tok);
    memcpy(tok, "ab\0cd", 5);
    secret_free_n(tok, 5);
}

/* Every length around the 8-byte steps, a difference at every position. */
static void test_equal(void **state)
{
    (void)state;
    unsigned char a[40], b[40];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = b[i] = (unsigned char)(i * 7 + 1);
    for (size_t n = 0; n <= sizeof a; n++) {
        assert_int_equal(secret_equal(a, b, n), 1);
        for (size_t at = 0; at < n; at++) {
            for (int bit = 0; bit < 8; bit++) {
                b[at] ^= (unsigned char)(1u << bit);
                assert_int_equal(secret_equal(a, b, n), 0);
                b[at] ^= (unsigned char)(1u << bit);
            }
        }
    }
    assert_int_equal(secret_equal(NULL, NULL, 0), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wipe_leaves_zeros),
        cmocka_unit_test(test_wipe_of_nothing),
        cmocka_unit_test(test_free_takes_null),
        cmocka_unit_test(test_free_owned_copies),
        cmocka_unit_test(test_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
