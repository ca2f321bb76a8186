/* The per-loop authenticator: verifier plus cache (src/auth/auth.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <rhonabwy.h>

#include "auth/auth.h"
#include "test_jwt_support.h"

#define SECRET "0123456789abcdef0123456789abcdef-test"
#define NOW 1700000000L
#define LEEWAY 30L

static jwt_config_t config(void)
{
    jwt_config_t cfg = {.secret = (const unsigned char *)SECRET,
                        .secret_len = strlen(SECRET),
                        .algorithms = JWT_ALG_HS256,
                        .leeway_s = LEEWAY};
    return cfg;
}

static auth_ctx_t *ctx(size_t capacity)
{
    jwt_config_t cfg = config();
    auth_ctx_t *a = auth_ctx_new(&cfg, capacity);
    assert_non_null(a);
    return a;
}

static char *mint(const char *sub, long ttl, time_t now)
{
    char *tok = jwt_mint_hs256((const unsigned char *)SECRET, strlen(SECRET), sub, "ws-1", "e@x",
                               "N", ttl, now);
    assert_non_null(tok);
    return tok;
}

/* An HS256 token without exp, signed with the same secret. */
static char *mint_without_exp(const char *sub)
{
    jwt_t *jwt = NULL;
    jwk_t *key = NULL;
    assert_int_equal(r_jwt_init(&jwt), RHN_OK);
    assert_int_equal(r_jwk_init(&key), RHN_OK);
    assert_int_equal(
        r_jwk_import_from_symmetric_key(key, (const unsigned char *)SECRET, strlen(SECRET)),
        RHN_OK);
    assert_int_equal(r_jwt_set_sign_alg(jwt, R_JWA_ALG_HS256), RHN_OK);
    assert_int_equal(r_jwt_set_claim_str_value(jwt, "sub", sub), RHN_OK);
    char *s = r_jwt_serialize_signed(jwt, key, 0);
    assert_non_null(s);
    char *copy = strdup(s);
    r_free(s);
    r_jwk_free(key);
    r_jwt_free(jwt);
    return copy;
}

static jwt_status_t verify(auth_ctx_t *a, const char *tok, time_t now, auth_tenant_t *out)
{
    return auth_ctx_verify(a, tok, strlen(tok), now, out);
}

static auth_ctx_stats_t stats(const auth_ctx_t *a)
{
    auth_ctx_stats_t s;
    auth_ctx_stats(a, &s);
    return s;
}

static void test_new_rejects_bad_config(void **state)
{
    (void)state;
    jwt_config_t cfg = config();
    cfg.algorithms = 0;
    assert_null(auth_ctx_new(&cfg, 16));
    assert_null(auth_ctx_new(NULL, 16));
    auth_ctx_free(NULL);
}

static void test_cache_hit_skips_verification(void **state)
{
    (void)state;
    auth_ctx_t *a = ctx(64);
    char *tok = mint("user-1", 900, NOW);
    auth_tenant_t first, second;
    assert_int_equal(verify(a, tok, NOW, &first), JWT_OK);
    assert_int_equal(stats(a).misses, 1);
    assert_int_equal(stats(a).hits, 0);
    assert_int_equal(verify(a, tok, NOW + 10, &second), JWT_OK);
    assert_int_equal(stats(a).misses, 1);
    assert_int_equal(stats(a).hits, 1);
    assert_memory_equal(&first, &second, sizeof first);
    assert_int_equal(second.authenticated, 1);
    assert_string_equal(second.user_id, "user-1");
    assert_string_equal(second.workspace_id, "ws-1");
    free(tok);
    auth_ctx_free(a);
}

static void test_cached_token_expires_with_leeway(void **state)
{
    (void)state;
    auth_ctx_t *a = ctx(64);
    char *tok = mint("user-1", 100, NOW);
    auth_tenant_t out;
    assert_int_equal(verify(a, tok, NOW, &out), JWT_OK);
    /* The last second of exp + leeway is still served from the cache. */
    assert_int_equal(verify(a, tok, NOW + 100 + LEEWAY, &out), JWT_OK);
    assert_int_equal(stats(a).hits, 1);
    /* One second later the entry is dead: verified again, and expired. */
    assert_int_equal(verify(a, tok, NOW + 100 + LEEWAY + 1, &out), JWT_EXPIRED);
    assert_int_equal(stats(a).misses, 2);
    assert_int_equal(out.authenticated, 0);
    assert_string_equal(out.user_id, "");
    free(tok);
    auth_ctx_free(a);
}

static void test_token_without_exp_cached_for_a_minute(void **state)
{
    (void)state;
    auth_ctx_t *a = ctx(64);
    char *tok = mint_without_exp("user-2");
    auth_tenant_t out;
    assert_int_equal(verify(a, tok, NOW, &out), JWT_OK);
    assert_int_equal(verify(a, tok, NOW + 60, &out), JWT_OK);
    assert_int_equal(stats(a).hits, 1);
    assert_int_equal(verify(a, tok, NOW + 61, &out), JWT_OK);
    assert_int_equal(stats(a).misses, 2); /* re-verified, then cached again */
    assert_string_equal(out.user_id, "user-2");
    free(tok);
    auth_ctx_free(a);
}

static void test_failures_are_not_cached(void **state)
{
    (void)state;
    auth_ctx_t *a = ctx(64);
    char *tok = mint("user-1", 900, NOW);
    tok[strlen(tok) - 2] ^= 1; /* break the signature */
    auth_tenant_t out;
    assert_int_equal(verify(a, tok, NOW, &out), JWT_INVALID);
    assert_int_equal(verify(a, tok, NOW, &out), JWT_INVALID);
    assert_int_equal(stats(a).misses, 2);
    assert_int_equal(stats(a).hits, 0);
    free(tok);
    auth_ctx_free(a);
}

static void test_near_miss_of_cached_token_is_verified(void **state)
{
    (void)state;
    auth_ctx_t *a = ctx(1); /* one slot: the altered token lands on the cached one */
    char *tok = mint("user-1", 900, NOW);
    auth_tenant_t out;
    assert_int_equal(verify(a, tok, NOW, &out), JWT_OK);
    tok[strlen(tok) - 2] ^= 1;
    assert_int_equal(verify(a, tok, NOW, &out), JWT_INVALID);
    assert_int_equal(stats(a).hits, 0);
    assert_int_equal(out.authenticated, 0);
    free(tok);
    auth_ctx_free(a);
}

static void test_zero_capacity_disables_cache(void **state)
{
    (void)state;
    auth_ctx_t *a = ctx(0);
    char *tok = mint("user-1", 900, NOW);
    auth_tenant_t out;
    assert_int_equal(verify(a, tok, NOW, &out), JWT_OK);
    assert_int_equal(verify(a, tok, NOW, &out), JWT_OK);
    assert_int_equal(stats(a).hits, 0);
    assert_int_equal(stats(a).misses, 2);
    free(tok);
    auth_ctx_free(a);
}

static void test_oversized_and_null(void **state)
{
    (void)state;
    auth_ctx_t *a = ctx(4);
    auth_tenant_t out;
    size_t n = JWT_MAX_TOKEN_BYTES + 1;
    char *big = malloc(n);
    memset(big, 'a', n);
    assert_int_equal(auth_ctx_verify(a, big, n, NOW, &out), JWT_INVALID);
    assert_int_equal(auth_ctx_verify(a, NULL, 3, NOW, &out), JWT_INVALID);
    assert_int_equal(auth_ctx_verify(a, "a.b.c", 5, NOW, NULL), JWT_INVALID);
    assert_int_equal(auth_ctx_verify(NULL, "a.b.c", 5, NOW, &out), JWT_INVALID);
    assert_int_equal(stats(a).misses, 0); /* refused before the cache or the verifier */
    auth_ctx_stats_t s;
    auth_ctx_stats(NULL, &s);
    assert_int_equal(s.hits + s.misses, 0);
    free(big);
    auth_ctx_free(a);
}

/* auth_ctx_borrow: a cached end user's tenant, counted as a hit; a miss
 * or an expired token counts nothing and leaves it to auth_ctx_verify. */
static void test_borrow_cached_user(void **state)
{
    (void)state;
    auth_ctx_t *a = ctx(64);
    char *tok = mint("user-b", 900, NOW);
    assert_null(auth_ctx_borrow(a, tok, strlen(tok), NOW)); /* not verified yet */
    assert_int_equal(stats(a).hits + stats(a).misses, 0);
    auth_tenant_t first;
    assert_int_equal(verify(a, tok, NOW, &first), JWT_OK);
    const auth_tenant_t *t = auth_ctx_borrow(a, tok, strlen(tok), NOW + 10);
    assert_non_null(t);
    assert_int_equal(stats(a).hits, 1);
    assert_memory_equal(t, &first, sizeof first);
    assert_null(auth_ctx_borrow(a, tok, strlen(tok), NOW + 900 + LEEWAY + 1));
    assert_int_equal(stats(a).hits, 1);
    auth_ctx_free(a);
    assert_string_equal(t->user_id, "user-b"); /* outlives the cache */
    auth_tenant_release(t);
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rejects_bad_config),
        cmocka_unit_test(test_cache_hit_skips_verification),
        cmocka_unit_test(test_borrow_cached_user),
        cmocka_unit_test(test_cached_token_expires_with_leeway),
        cmocka_unit_test(test_token_without_exp_cached_for_a_minute),
        cmocka_unit_test(test_failures_are_not_cached),
        cmocka_unit_test(test_near_miss_of_cached_token_is_verified),
        cmocka_unit_test(test_zero_capacity_disables_cache),
        cmocka_unit_test(test_oversized_and_null),
    };
    return cmocka_run_group_tests(tests, test_jwt_group_setup, test_jwt_group_teardown);
}
