/* rhonabwy loaded at first use (core/lazy_rhonabwy.c) must fail closed:
 * when the library cannot be loaded, every call the verifiers make answers
 * a failure, so a token is refused and never passes unverified. dlopen is
 * defined here, so lazy_lib's call lands in it and rhonabwy "is missing". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <rhonabwy.h>

#include "core/lazy_lib.h"

static int refused;

void *dlopen(const char *file, int mode)
{
    if (file != NULL && strstr(file, "rhonabwy") != NULL) {
        refused++;
        return NULL;
    }
    void *(*next)(const char *, int) = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
    return next != NULL ? next(file, mode) : NULL;
}

static void test_missing_rhonabwy_refuses(void **state)
{
    (void)state;
    jwt_t *jwt = NULL;
    jwk_t *jwk = NULL;
    assert_int_not_equal(r_jwt_init(&jwt), RHN_OK);
    assert_int_not_equal(r_jwk_init(&jwk), RHN_OK);
    assert_true(refused >= 1);
    assert_int_equal(lazy_rhonabwy_loaded(), 0);
    const char tok[] = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
    assert_int_not_equal(r_jwt_advanced_parsen(jwt, tok, sizeof tok - 1, R_PARSE_NONE, 0), RHN_OK);
    /* The signature check itself: a failure, never RHN_OK. */
    assert_int_not_equal(r_jwt_verify_signature(jwt, jwk, 0), RHN_OK);
    assert_int_not_equal(r_jwt_get_sign_alg(jwt), R_JWA_ALG_NONE);
    assert_null(r_jwt_get_full_claims_json_t(jwt));
    r_jwt_free(jwt); /* a no-op: nothing was made */
    r_jwk_free(jwk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_missing_rhonabwy_refuses)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
