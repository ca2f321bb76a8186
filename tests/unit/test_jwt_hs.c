/* The HS* fast path (src/auth/jwt_hs.c, issue 11): the strict, bounded
 * base64url decoder, and the signature checked byte for byte whatever the
 * algorithm, with the refusals jwt.c named under rhonabwy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <rhonabwy.h>

#include "auth/jwt.h"
#include "auth/jwt_hs.h"
#include "test_jwt_support.h"

#define SECRET "0123456789abcdef0123456789abcdef-test"
#define NOW 1700000000L
#define CLAIMS "{\"sub\":\"u\",\"exp\":1700000900}"

static int decode(const char *in, unsigned char *out, size_t cap, size_t *n)
{
    return jwt_b64url_decode(in, strlen(in), out, cap, n);
}

static void test_b64url_decodes_every_length(void **state)
{
    (void)state;
    unsigned char out[8];
    size_t n = 99;
    assert_int_equal(decode("", out, sizeof out, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(decode("Zg", out, sizeof out, &n), 0);
    assert_int_equal(n, 1);
    assert_memory_equal(out, "f", 1);
    assert_int_equal(decode("Zm8", out, sizeof out, &n), 0);
    assert_memory_equal(out, "fo", 2);
    assert_int_equal(decode("Zm9v", out, sizeof out, &n), 0);
    assert_memory_equal(out, "foo", 3);
    assert_int_equal(decode("_-8", out, sizeof out, &n), 0); /* 0xff 0xef */
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 0xff);
    assert_int_equal(out[1], 0xef);
}

static void test_b64url_refuses_what_is_not_canonical(void **state)
{
    (void)state;
    unsigned char out[8];
    size_t n = 0;
    assert_int_equal(decode("Z", out, sizeof out, &n), -1);    /* length 1 mod 4 */
    assert_int_equal(decode("Zh", out, sizeof out, &n), -1);   /* unused bits set */
    assert_int_equal(decode("Zm9=", out, sizeof out, &n), -1); /* padding */
    assert_int_equal(decode("Zm+v", out, sizeof out, &n), -1); /* base64, not url */
    assert_int_equal(decode("Zm\x80v", out, sizeof out, &n), -1);
    assert_int_equal(decode("Zm9vZm9v", out, 5, &n), -1); /* 6 bytes, room for 5 */
    assert_int_equal(decode("Zm9vZm9v", out, 6, &n), 0);
}

static jwt_status_t verify_as(unsigned algorithms, const char *tok, jwt_refusal_t *why)
{
    jwt_config_t cfg = {.secret = (const unsigned char *)SECRET,
                        .secret_len = strlen(SECRET),
                        .algorithms = algorithms,
                        .leeway_s = 30};
    jwt_verifier_t *v = jwt_verifier_new(&cfg);
    assert_non_null(v);
    auth_tenant_t t;
    time_t exp = 0;
    jwt_status_t st = jwt_verify_why(v, tok, strlen(tok), NOW, &t, &exp, why);
    if (st == JWT_OK) {
        assert_string_equal(t.user_id, "u");
        assert_int_equal(exp, 1700000900);
    }
    jwt_verifier_free(v);
    return st;
}

/* Issue 11: the HMAC is keyed at the first token, not when the verifier
 * (one per loop, made at start) is; a refused alg does not key it. */
static void test_keyed_at_first_token_not_at_start(void **state)
{
    (void)state;
    jwt_config_t cfg = {.secret = (const unsigned char *)SECRET,
                        .secret_len = strlen(SECRET),
                        .algorithms = JWT_ALG_HS256,
                        .leeway_s = 30};
    jwt_verifier_t *v = jwt_verifier_new(&cfg);
    assert_non_null(v);
    assert_false(jwt_verifier_keyed(v));
    char *t384 = test_jwt_sign(NULL, CLAIMS, R_JWA_ALG_HS384, SECRET);
    char *t256 = test_jwt_sign(NULL, CLAIMS, R_JWA_ALG_HS256, SECRET);
    auth_tenant_t t;
    time_t exp = 0;
    jwt_refusal_t why;
    assert_int_equal(jwt_verify_why(v, t384, strlen(t384), NOW, &t, &exp, &why), JWT_INVALID);
    assert_false(jwt_verifier_keyed(v));
    assert_int_equal(jwt_verify_why(v, t256, strlen(t256), NOW, &t, &exp, &why), JWT_OK);
    assert_true(jwt_verifier_keyed(v));
    assert_int_equal(jwt_verify_why(v, t256, strlen(t256), NOW, &t, &exp, &why), JWT_OK);
    free(t384);
    free(t256);
    jwt_verifier_free(v);
}

static void test_each_hs_algorithm_verifies(void **state)
{
    (void)state;
    static const struct {
        jwa_alg alg;
        unsigned bit;
    } algs[] = {{R_JWA_ALG_HS256, JWT_ALG_HS256},
                {R_JWA_ALG_HS384, JWT_ALG_HS384},
                {R_JWA_ALG_HS512, JWT_ALG_HS512}};
    for (size_t i = 0; i < 3; i++) {
        char *tok = test_jwt_sign(NULL, CLAIMS, algs[i].alg, SECRET);
        jwt_refusal_t why;
        assert_int_equal(verify_as(algs[i].bit, tok, &why), JWT_OK);
        /* Pinned: the other two algorithms do not accept it. */
        assert_int_equal(
            verify_as((JWT_ALG_HS256 | JWT_ALG_HS384 | JWT_ALG_HS512) & ~algs[i].bit, tok, &why),
            JWT_INVALID);
        assert_int_equal(why.reason, JWT_REASON_ALG);
        free(tok);
    }
}

/* Every byte of the signature counts, and a signature of the wrong length
 * (an HS256 MAC cut short or padded) is refused before any compare. */
static void test_signature_tampering_refused(void **state)
{
    (void)state;
    char *tok = test_jwt_sign(NULL, CLAIMS, R_JWA_ALG_HS256, SECRET);
    size_t len = strlen(tok);
    jwt_refusal_t why;
    char *bad = strdup(tok);
    for (size_t i = strrchr(tok, '.') - tok + 1; i < len; i++) {
        bad[i] = tok[i] == 'A' ? 'B' : 'A';
        jwt_status_t st = verify_as(JWT_ALG_HS256, bad, &why);
        assert_int_equal(st, JWT_INVALID);
        assert_true(why.reason == JWT_REASON_SIGNATURE || why.reason == JWT_REASON_PARSE);
        bad[i] = tok[i];
    }
    bad[len - 3] = '\0'; /* 40 characters: 30 bytes, not 32 */
    assert_int_equal(verify_as(JWT_ALG_HS256, bad, &why), JWT_INVALID);
    assert_int_equal(why.reason, JWT_REASON_SIGNATURE);
    free(bad);
    free(tok);
}

/* A payload that is not a JSON object is refused even when signed. */
static void test_signed_non_object_payload_refused(void **state)
{
    (void)state;
    char *tok = test_jwt_sign(NULL, "\"just a string\"", R_JWA_ALG_HS256, SECRET);
    jwt_refusal_t why;
    assert_int_equal(verify_as(JWT_ALG_HS256, tok, &why), JWT_INVALID);
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url_decodes_every_length),
        cmocka_unit_test(test_b64url_refuses_what_is_not_canonical),
        cmocka_unit_test(test_each_hs_algorithm_verifies),
        cmocka_unit_test(test_keyed_at_first_token_not_at_start),
        cmocka_unit_test(test_signature_tampering_refused),
        cmocka_unit_test(test_signed_non_object_payload_refused),
    };
    return cmocka_run_group_tests(tests, test_jwt_group_setup, test_jwt_group_teardown);
}
