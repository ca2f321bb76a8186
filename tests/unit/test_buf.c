/* core/buf: the limit holds to the byte, a failed append frees and leaves
 * the buffer usable (curl's rule), sizes near SIZE_MAX cannot wrap, and
 * take, reset, truncate and swap keep the NUL and the embedded NULs. ASan
 * sees every overrun and leak. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"

static void test_empty(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 16);
    assert_string_equal(buf_ptr(&b), "");
    assert_int_equal(buf_len(&b), 0);
    assert_int_equal(buf_append(&b, NULL, 0), BUF_OK);
    assert_int_equal(buf_append_str(&b, ""), BUF_OK);
    assert_int_equal(buf_len(&b), 0);
    buf_reset(&b);
    buf_truncate(&b, 0);
    buf_free(&b);
    buf_free(&b); /* twice is fine */

    buf_t z = {0}; /* zeroed: a limit of 0, only "" fits */
    assert_int_equal(buf_append(&z, "", 0), BUF_OK);
    assert_int_equal(buf_append(&z, "x", 1), BUF_TOO_LARGE);
    assert_string_equal(buf_ptr(&z), "");
    buf_free(&z);
}

static void test_limit_to_the_byte(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, "0123456789", 10), BUF_OK);
    assert_int_equal(buf_len(&b), 10);
    assert_string_equal(buf_ptr(&b), "0123456789");
    assert_true(b.cap == 11); /* never more than the limit and the NUL */
    assert_int_equal(buf_append(&b, NULL, 0), BUF_OK);
    /* One byte past it: freed, empty, and usable again with the same limit. */
    assert_int_equal(buf_append(&b, "x", 1), BUF_TOO_LARGE);
    assert_int_equal(buf_len(&b), 0);
    assert_null(b.p);
    assert_string_equal(buf_ptr(&b), "");
    assert_int_equal(buf_append(&b, "abc", 3), BUF_OK);
    assert_string_equal(buf_ptr(&b), "abc");
    assert_int_equal(buf_append(&b, "01234567", 8), BUF_TOO_LARGE);
    assert_int_equal(buf_len(&b), 0);
    buf_free(&b);
}

static void test_no_wrap_near_size_max(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, SIZE_MAX); /* clamped, so that the NUL still fits in size_t */
    assert_true(b.max == SIZE_MAX - 1);
    assert_int_equal(buf_append(&b, "ab", 2), BUF_OK);
    /* len + n + 1 would wrap to a small number: refused before any copy. */
    assert_int_equal(buf_append(&b, "x", SIZE_MAX - 1), BUF_TOO_LARGE);
    assert_int_equal(buf_len(&b), 0);
    assert_int_equal(buf_append(&b, "x", SIZE_MAX), BUF_TOO_LARGE);
    buf_free(&b);

    buf_init(&b, 100);
    assert_int_equal(buf_append(&b, "ab", 2), BUF_OK);
    assert_int_equal(buf_append(&b, "x", SIZE_MAX), BUF_TOO_LARGE);
    assert_int_equal(buf_append(&b, "x", SIZE_MAX - 1), BUF_TOO_LARGE);
    buf_free(&b);
}

/* Byte by byte up to the limit: the capacity doubles, then stops at the
 * limit instead of doubling past it. */
static void test_growth(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 1000);
    size_t reallocs = 0, cap = 0;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(buf_append(&b, "y", 1), BUF_OK);
        if (b.cap != cap) {
            assert_true(cap == 0 || b.cap == cap * 2 || b.cap == 1001);
            cap = b.cap;
            reallocs++;
        }
        assert_true(b.cap > b.len);
    }
    assert_int_equal(b.cap, 1001);
    assert_true(reallocs <= 6); /* 64, 128, 256, 512, 1001 */
    assert_int_equal(buf_append(&b, "y", 1), BUF_TOO_LARGE);
    buf_free(&b);
}

static void test_embedded_nul(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 64);
    assert_int_equal(buf_append(&b, "a\0b", 3), BUF_OK);
    assert_int_equal(buf_append(&b, "\0", 1), BUF_OK);
    assert_int_equal(buf_len(&b), 4);
    assert_memory_equal(buf_ptr(&b), "a\0b\0", 5); /* and the terminating NUL */
    size_t len = 0;
    char *s = buf_take(&b, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(s, "a\0b\0", 5);
    free(s);
    buf_free(&b);
}

static void test_take(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 8);
    char *s = buf_take(&b, NULL); /* empty: a string of its own all the same */
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    assert_int_equal(buf_append_str(&b, "hello"), BUF_OK);
    size_t len = 0;
    s = buf_take(&b, &len);
    assert_string_equal(s, "hello");
    assert_int_equal(len, 5);
    /* b is empty, owns nothing, and keeps its limit. */
    assert_null(b.p);
    assert_int_equal(buf_len(&b), 0);
    assert_int_equal(buf_append_str(&b, "12345678"), BUF_OK);
    assert_int_equal(buf_append_str(&b, "9"), BUF_TOO_LARGE);
    free(s);
    buf_free(&b);
}

static void test_reset_truncate_swap(void **state)
{
    (void)state;
    buf_t a, b;
    buf_init(&a, 100);
    buf_init(&b, 5);
    assert_int_equal(buf_append_str(&a, "abcdef"), BUF_OK);
    const char *p = buf_ptr(&a);
    size_t cap = a.cap;
    buf_reset(&a); /* the allocation stays for reuse */
    assert_string_equal(buf_ptr(&a), "");
    assert_ptr_equal(buf_ptr(&a), p);
    assert_int_equal(a.cap, cap);
    assert_int_equal(buf_append_str(&a, "xyz!"), BUF_OK);
    buf_truncate(&a, 10); /* longer than held: nothing */
    assert_string_equal(buf_ptr(&a), "xyz!");
    buf_truncate(&a, 3);
    assert_string_equal(buf_ptr(&a), "xyz");
    assert_int_equal(buf_len(&a), 3);
    buf_swap(&a, &b);
    assert_string_equal(buf_ptr(&b), "xyz");
    assert_int_equal(b.max, 100);
    assert_int_equal(buf_len(&a), 0);
    assert_int_equal(buf_append_str(&a, "123456"), BUF_TOO_LARGE); /* a has b's limit */
    buf_free(&a);
    buf_free(&b);
}

static void test_printf(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 12);
    assert_int_equal(buf_printf(&b, "%s=%d", "n", 42), BUF_OK);
    assert_int_equal(buf_printf(&b, "%s", ""), BUF_OK);
    assert_int_equal(buf_printf(&b, ", %c", 'z'), BUF_OK);
    assert_string_equal(buf_ptr(&b), "n=42, z");
    assert_int_equal(buf_printf(&b, "%05d", 7), BUF_OK); /* exactly 12 */
    assert_string_equal(buf_ptr(&b), "n=42, z00007");
    assert_int_equal(buf_printf(&b, "%d", 1), BUF_TOO_LARGE);
    assert_int_equal(buf_len(&b), 0);
    buf_free(&b);
}

__attribute__((format(printf, 2, 3))) static buf_rc_t own_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_rc_t rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/* A caller's printf-like wrapper: the same bytes and the same limit. */
static void test_vprintf(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 8);
    assert_int_equal(own_printf(&b, "%s-%u", "ab", 12u), BUF_OK);
    assert_int_equal(own_printf(&b, "%.3s", "xyzzy"), BUF_OK); /* exactly 8 */
    assert_string_equal(buf_ptr(&b), "ab-12xyz");
    assert_int_equal(own_printf(&b, "%c", 'q'), BUF_TOO_LARGE);
    assert_int_equal(buf_len(&b), 0);
    assert_int_equal(own_printf(&b, "%d", -5), BUF_OK); /* still usable */
    assert_string_equal(buf_ptr(&b), "-5");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_limit_to_the_byte),
        cmocka_unit_test(test_no_wrap_near_size_max),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_reset_truncate_swap),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_vprintf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
