/* The verified-token cache (src/auth/token_cache.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/jwt.h"
#include "auth/token_cache.h"

#define NOW 1700000000L

static auth_tenant_t tenant(const char *user)
{
    auth_tenant_t t;
    memset(&t, 0, sizeof t);
    t.authenticated = 1;
    snprintf(t.user_id, sizeof t.user_id, "%s", user);
    snprintf(t.workspace_id, sizeof t.workspace_id, "ws-%s", user);
    return t;
}

static void put_str(token_cache_t *c, const char *tok, time_t until, const char *user)
{
    auth_tenant_t t = tenant(user);
    token_cache_put(c, tok, strlen(tok), until, &t);
}

static int get_str(token_cache_t *c, const char *tok, time_t now, auth_tenant_t *out)
{
    return token_cache_get(c, tok, strlen(tok), now, out);
}

static void test_new_and_free(void **state)
{
    (void)state;
    assert_null(token_cache_new(0));
    token_cache_free(NULL);
    token_cache_t *c = token_cache_new(3);
    assert_non_null(c);
    assert_int_equal(token_cache_count(c), 0);
    assert_int_equal(token_cache_bytes(c), 0);
    token_cache_free(c);
}

static void test_hit_and_miss(void **state)
{
    (void)state;
    token_cache_t *c = token_cache_new(16);
    auth_tenant_t out;
    assert_false(get_str(c, "aaa.bbb.ccc", NOW, &out));
    put_str(c, "aaa.bbb.ccc", NOW + 100, "alice");
    assert_true(get_str(c, "aaa.bbb.ccc", NOW, &out));
    assert_int_equal(out.authenticated, 1);
    assert_string_equal(out.user_id, "alice");
    assert_string_equal(out.workspace_id, "ws-alice");
    assert_false(get_str(c, "aaa.bbb.ccd", NOW, &out));
    assert_false(get_str(c, "zzz.yyy.xxx", NOW, &out));
    assert_int_equal(token_cache_count(c), 1);
    assert_int_equal(token_cache_bytes(c), strlen("aaa.bbb.ccc"));
    token_cache_free(c);
}

static void test_expiry(void **state)
{
    (void)state;
    token_cache_t *c = token_cache_new(16);
    auth_tenant_t out;
    put_str(c, "tok-exp", NOW + 10, "u");
    /* valid_until is the last usable second. */
    assert_true(get_str(c, "tok-exp", NOW + 10, &out));
    assert_false(get_str(c, "tok-exp", NOW + 11, &out));
    /* An expired entry is dropped on sight, not kept until evicted. */
    assert_int_equal(token_cache_count(c), 0);
    assert_int_equal(token_cache_bytes(c), 0);
    assert_false(get_str(c, "tok-exp", NOW, &out));
    token_cache_free(c);
}

static void test_put_again_updates_in_place(void **state)
{
    (void)state;
    token_cache_t *c = token_cache_new(4);
    auth_tenant_t out;
    put_str(c, "same", NOW + 5, "first");
    put_str(c, "same", NOW + 50, "second");
    assert_int_equal(token_cache_count(c), 1);
    assert_true(get_str(c, "same", NOW + 40, &out));
    assert_string_equal(out.user_id, "second");
    token_cache_free(c);
}

static void test_eviction_keeps_memory_bounded(void **state)
{
    (void)state;
    const size_t cap = 8;
    token_cache_t *c = token_cache_new(cap);
    char tok[64], last[64];
    auth_tenant_t out;
    for (int i = 0; i < 1000; i++) {
        snprintf(tok, sizeof tok, "header.payload-%04d.signature", i);
        put_str(c, tok, NOW + 100 + i, "u");
        assert_true(token_cache_count(c) <= cap);
        assert_true(token_cache_bytes(c) <= cap * strlen(tok));
    }
    memcpy(last, tok, sizeof tok);
    assert_true(get_str(c, last, NOW, &out)); /* the newest entry always lands */
    token_cache_free(c);
}

static void test_oversized_token_not_cached(void **state)
{
    (void)state;
    token_cache_t *c = token_cache_new(4);
    size_t n = JWT_MAX_TOKEN_BYTES + 1;
    char *big = malloc(n);
    memset(big, 'b', n);
    auth_tenant_t t = tenant("u"), out;
    token_cache_put(c, big, n, NOW + 100, &t);
    assert_false(token_cache_get(c, big, n, NOW, &out));
    assert_int_equal(token_cache_count(c), 0);
    token_cache_put(c, big, n - 1, NOW + 100, &t);
    assert_true(token_cache_get(c, big, n - 1, NOW, &out));
    assert_int_equal(token_cache_bytes(c), n - 1);
    free(big);
    token_cache_free(c);
}

/* Capacity 1: every token shares the one bucket, so only a full comparison
 * can tell them apart. */
static void test_same_bucket_different_token_is_miss(void **state)
{
    (void)state;
    token_cache_t *c = token_cache_new(1);
    auth_tenant_t out;
    put_str(c, "abc.def.ghi", NOW + 100, "owner");
    assert_false(get_str(c, "abc.def.ghj", NOW, &out));  /* last byte differs */
    assert_false(get_str(c, "xbc.def.ghi", NOW, &out));  /* first byte differs */
    assert_false(get_str(c, "abc.def.gh", NOW, &out));   /* a prefix */
    assert_false(get_str(c, "abc.def.ghi.", NOW, &out)); /* an extension */
    assert_true(token_cache_get(c, "abc.def.ghi", 11, NOW, &out));
    assert_string_equal(out.user_id, "owner");
    /* A new token in the full bucket replaces the old one. */
    put_str(c, "new.tok.en", NOW + 100, "other");
    assert_int_equal(token_cache_count(c), 1);
    assert_false(get_str(c, "abc.def.ghi", NOW, &out));
    assert_true(get_str(c, "new.tok.en", NOW, &out));
    assert_string_equal(out.user_id, "other");
    token_cache_free(c);
}

static void test_evicts_soonest_expiring(void **state)
{
    (void)state;
    /* Capacity 4 is one set of four ways: the fifth token evicts the entry
     * with the least time left. */
    token_cache_t *c = token_cache_new(4);
    auth_tenant_t out;
    put_str(c, "t1", NOW + 400, "u1");
    put_str(c, "t2", NOW + 100, "u2");
    put_str(c, "t3", NOW + 300, "u3");
    put_str(c, "t4", NOW + 200, "u4");
    put_str(c, "t5", NOW + 500, "u5");
    assert_int_equal(token_cache_count(c), 4);
    assert_false(get_str(c, "t2", NOW, &out));
    assert_true(get_str(c, "t1", NOW, &out));
    assert_true(get_str(c, "t3", NOW, &out));
    assert_true(get_str(c, "t4", NOW, &out));
    assert_true(get_str(c, "t5", NOW, &out));
    token_cache_free(c);
}

/* The set is picked by a hash keyed per cache: two caches place the same
 * tokens differently, so an outsider cannot line tokens up in one set
 * (the unkeyed FNV-1a placed them identically in every cache). */
static void test_sets_keyed_per_cache(void **state)
{
    (void)state;
    token_cache_t *a = token_cache_new(4096), *b = token_cache_new(4096);
    assert_non_null(a);
    assert_non_null(b);
    size_t same = 0;
    for (int i = 0; i < 64; i++) {
        char tok[64];
        int n = snprintf(tok, sizeof tok, "eyJhbGciOiJIUzI1NiJ9.tok-%d.sig", i);
        size_t sa = token_cache_set_of(a, tok, (size_t)n);
        assert_true(sa < 1024);
        same += sa == token_cache_set_of(b, tok, (size_t)n);
        assert_int_equal(sa, token_cache_set_of(a, tok, (size_t)n)); /* stable within one */
    }
    assert_true(same < 8); /* 1024 sets: about 0 by chance */
    token_cache_free(a);
    token_cache_free(b);
}

/* Only the tail (the signature) picks the set: tokens alike there but for
 * their header fall in one set, and each is still told apart by the full
 * compare. */
static void test_set_by_signature_tail(void **state)
{
    (void)state;
    token_cache_t *c = token_cache_new(4096);
    assert_non_null(c);
    char a[160], b[160];
    memset(a, 'x', sizeof a);
    memcpy(b, a, sizeof b);
    b[0] = 'y'; /* 160 bytes: the first 96 are not hashed */
    assert_int_equal(token_cache_set_of(c, a, sizeof a), token_cache_set_of(c, b, sizeof b));
    auth_tenant_t ta = tenant("ua"), out;
    token_cache_put(c, a, sizeof a, NOW + 60, &ta);
    assert_false(token_cache_get(c, b, sizeof b, NOW, &out));
    assert_true(token_cache_get(c, a, sizeof a, NOW, &out));
    assert_string_equal(out.user_id, "ua");
    token_cache_free(c);
}

/* A borrowed tenant is the entry's own (no copy: the same pointer twice),
 * and outlives the entry's replacement, eviction and the cache itself
 * unchanged (ASan reports a use after free otherwise). */
static void test_borrow_outlives_entry(void **state)
{
    (void)state;
    token_cache_t *c = token_cache_new(1);
    assert_non_null(c);
    put_str(c, "tok-a", NOW + 60, "ua");
    const auth_tenant_t *a1 = token_cache_borrow(c, "tok-a", 5, NOW);
    const auth_tenant_t *a2 = token_cache_borrow(c, "tok-a", 5, NOW);
    assert_non_null(a1);
    assert_ptr_equal(a1, a2);
    assert_null(token_cache_borrow(c, "tok-a", 5, NOW + 61)); /* expired: dropped */
    assert_null(token_cache_borrow(c, "tok-b", 5, NOW));
    put_str(c, "tok-a", NOW + 60, "ua2"); /* put again: a new tenant, a1 kept */
    const auth_tenant_t *a3 = token_cache_borrow(c, "tok-a", 5, NOW);
    assert_string_equal(a3->user_id, "ua2");
    put_str(c, "tok-b", NOW + 60, "ub"); /* one slot: tok-a evicted */
    assert_int_equal(token_cache_count(c), 1);
    token_cache_free(c);
    assert_string_equal(a1->user_id, "ua");
    assert_string_equal(a3->user_id, "ua2");
    token_cache_tenant_release(a1);
    assert_string_equal(a2->user_id, "ua");
    token_cache_tenant_release(a2);
    token_cache_tenant_release(a3);
    token_cache_tenant_release(NULL);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    token_cache_t *c = token_cache_new(2);
    auth_tenant_t t = tenant("u"), out;
    token_cache_put(NULL, "x", 1, NOW, &t);
    token_cache_put(c, NULL, 1, NOW, &t);
    token_cache_put(c, "x", 0, NOW, &t);
    token_cache_put(c, "x", 1, NOW, NULL);
    assert_int_equal(token_cache_count(c), 0);
    assert_false(token_cache_get(NULL, "x", 1, NOW, &out));
    assert_false(token_cache_get(c, NULL, 1, NOW, &out));
    assert_false(token_cache_get(c, "x", 1, NOW, NULL));
    assert_int_equal(token_cache_count(NULL), 0);
    assert_int_equal(token_cache_bytes(NULL), 0);
    token_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_and_free),
        cmocka_unit_test(test_hit_and_miss),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_put_again_updates_in_place),
        cmocka_unit_test(test_eviction_keeps_memory_bounded),
        cmocka_unit_test(test_oversized_token_not_cached),
        cmocka_unit_test(test_same_bucket_different_token_is_miss),
        cmocka_unit_test(test_evicts_soonest_expiring),
        cmocka_unit_test(test_sets_keyed_per_cache),
        cmocka_unit_test(test_set_by_signature_tail),
        cmocka_unit_test(test_borrow_outlives_entry),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
