/* The token cache's SipHash key comes from the kernel, not from OpenSSL's
 * DRBG: an idle service must not set the DRBG up (about 2 MiB of libcrypto
 * touched). RAND_bytes is defined here, so the cache's calls land in it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth/token_cache.h"

static int rand_calls;

int RAND_bytes(unsigned char *buf, int num);
int RAND_bytes(unsigned char *buf, int num)
{
    rand_calls++;
    memset(buf, 0x5a, (size_t)num);
    return 1;
}

static void test_key_without_openssl(void **state)
{
    (void)state;
    token_cache_t *a = token_cache_new(64);
    token_cache_t *b = token_cache_new(4096);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(rand_calls, 0);
    token_cache_free(a);
    token_cache_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_key_without_openssl)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
