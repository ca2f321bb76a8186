/* SipHash (src/core/siphash.c) against the paper's SipHash-2-4 vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/siphash.h"

/* Key 00 01 .. 0f; the message is 00 01 .. (len-1). */
static uint64_t ref24(size_t len)
{
    siphash_key_t k = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    unsigned char m[64];
    for (size_t i = 0; i < sizeof m; i++)
        m[i] = (unsigned char)i;
    return siphash24(&k, m, len);
}

static void test_paper_vectors(void **state)
{
    (void)state;
    assert_true(ref24(0) == 0x726fdb47dd0e0e31ULL);
    assert_true(ref24(8) == 0x93f5f5799a932462ULL);
    assert_true(ref24(15) == 0xa129ca6149be45e5ULL);
}

static void test_key_and_every_byte_count(void **state)
{
    (void)state;
    siphash_key_t a = {1, 2}, b = {1, 3};
    const char *msg = "eyJhbGciOiJIUzI1NiJ9.payload.signature";
    assert_true(siphash13(&a, msg, strlen(msg)) != siphash13(&b, msg, strlen(msg)));
    /* The tail bytes and the length both count. */
    assert_true(siphash13(&a, msg, 9) != siphash13(&a, msg, 10));
    assert_true(siphash13(&a, "a\0", 2) != siphash13(&a, "a", 1));
    assert_true(siphash13(&a, msg, 0) == siphash13(&a, "", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paper_vectors),
        cmocka_unit_test(test_key_and_every_byte_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
