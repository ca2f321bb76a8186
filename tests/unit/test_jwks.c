/* better-auth's JWKS (src/auth/jwks_set.c, jwks_source.c, jwks_verify.c,
 * jwk_alg.c): a set parsed and looked up by kid, the algorithms read from
 * each key, the keys skipped or refused, a file source reloaded on a missed
 * kid, and auth.c's dispatch of JWT_ALGORITHMS between HS256 and the set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "auth/jwk_alg.h"
#include "auth/jwks_set.h"
#include "auth/jwks_source.h"
#include "auth/jwks_verify.h"
#include "core/config.h"
#include "test_cp_support.h"

#define NOW 1700000000L
#define SECRET "0123456789abcdef0123456789abcdef-test"
#define PAYLOAD "{\"sub\":\"u1\",\"workspaceId\":\"ws-1\",\"exp\":1700000600}"

static test_keypair_t ed, p256, p521, rsa, rsa_small;

/* OpenSSL names Ed25519 as a key type, not an EC curve. */
static test_keypair_t ed25519_keypair(void)
{
    return test_keypair_of(EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
}

static int group_setup(void **state)
{
    (void)state;
    if (r_global_init() != RHN_OK)
        return -1;
    ed = ed25519_keypair();
    p256 = test_keypair("P-256", 0);
    p521 = test_keypair("P-521", 0);
    rsa = test_keypair(NULL, 2048);
    rsa_small = test_keypair(NULL, 1024);
    return ed.pub_pem && p256.pub_pem && p521.pub_pem && rsa.pub_pem && rsa_small.pub_pem ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    test_keypair_t *all[] = {&ed, &p256, &p521, &rsa, &rsa_small};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        test_keypair_free(all[i]);
    r_global_close();
    return 0;
}

/* {"keys":[...]} of up to four JWK texts (NULL ends the list early). */
static char *jwks_of(char *a, char *b, char *c, char *d)
{
    char *parts[] = {a, b, c, d};
    size_t n = 32;
    for (size_t i = 0; i < 4; i++)
        n += parts[i] != NULL ? strlen(parts[i]) + 1 : 0;
    char *out = malloc(n);
    strcpy(out, "{\"keys\":[");
    for (size_t i = 0; i < 4 && parts[i] != NULL; i++) {
        if (i > 0)
            strcat(out, ",");
        strcat(out, parts[i]);
        free(parts[i]);
    }
    strcat(out, "]}");
    return out;
}

static jwks_set_t *parse(const char *text, char *err)
{
    return jwks_set_parse(text, strlen(text), 32, err, 256);
}

static void keys_are_found_by_kid_with_their_algorithms(void **state)
{
    (void)state;
    char *text = jwks_of(
        test_jwk_json(ed.pub_pem, "k-ed", NULL), test_jwk_json(p256.pub_pem, "k-p256", NULL),
        test_jwk_json(p521.pub_pem, "k-p521", NULL), test_jwk_json(rsa.pub_pem, "k-rsa", NULL));
    char err[256] = "";
    jwks_set_t *s = parse(text, err);
    assert_non_null(s);
    assert_int_equal(jwks_set_count(s), 4);
    assert_int_equal(jwks_set_skipped(s), 0);
    assert_int_equal(jwks_set_find(s, "k-ed")->algs, JWK_ALG_EDDSA);
    assert_int_equal(jwks_set_find(s, "k-p256")->algs, JWK_ALG_ES256);
    assert_int_equal(jwks_set_find(s, "k-p521")->algs, JWK_ALG_ES512);
    assert_int_equal(jwks_set_find(s, "k-rsa")->algs, JWK_ALG_RS | JWK_ALG_PS);
    assert_null(jwks_set_find(s, "k-none"));
    assert_null(jwks_set_find(s, NULL));
    jwks_set_ref(s); /* a loop's reference outlives the source's */
    jwks_set_unref(s);
    assert_non_null(jwks_set_find(s, "k-ed"));
    jwks_set_unref(s);
    free(text);
}

static void a_key_alg_narrows_it(void **state)
{
    (void)state;
    char *text = jwks_of(test_jwk_json(rsa.pub_pem, "k-ps", "\"alg\":\"PS256\""),
                         test_jwk_json(ed.pub_pem, "k-ed", "\"alg\":\"EdDSA\",\"use\":\"sig\""),
                         test_jwk_json(p256.pub_pem, "k-bad", "\"alg\":\"ES512\""), NULL);
    char err[256] = "";
    jwks_set_t *s = parse(text, err);
    assert_non_null(s);
    assert_int_equal(jwks_set_find(s, "k-ps")->algs, JWK_ALG_PS256);
    assert_int_equal(jwks_set_find(s, "k-ed")->algs, JWK_ALG_EDDSA);
    assert_null(jwks_set_find(s, "k-bad")); /* a P-256 key cannot sign ES512 */
    assert_int_equal(jwks_set_skipped(s), 1);
    jwks_set_unref(s);
    free(text);
}

static void unusable_keys_are_skipped(void **state)
{
    (void)state;
    const char *text =
        "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0LXNlY3JldC1zZWNyZXQ\",\"kid\":\"hs\"},"
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"no-xy\"},"
        "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AAAA\",\"kid\":\"x25519\"},"
        "\"not an object\"]}";
    char err[256] = "";
    assert_null(parse(text, err));
    assert_non_null(strstr(err, "no usable signing key"));

    char *mixed = jwks_of(test_jwk_json(rsa_small.pub_pem, "k-1024", NULL),
                          test_jwk_json(p256.pub_pem, "k-enc", "\"use\":\"enc\""),
                          test_jwk_json(ed.pub_pem, NULL, NULL), /* no kid */
                          test_jwk_json(p256.pub_pem, "k-ok", NULL));
    jwks_set_t *s = parse(mixed, err);
    assert_non_null(s);
    assert_int_equal(jwks_set_count(s), 1);
    assert_int_equal(jwks_set_skipped(s), 3);
    assert_non_null(jwks_set_find(s, "k-ok"));
    jwks_set_unref(s);
    free(mixed);
}

static void bad_sets_are_refused_with_a_reason(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(parse("not json", err));
    assert_non_null(strstr(err, "\"keys\""));
    assert_null(parse("{\"keys\":{}}", err));
    assert_null(parse("{\"keys\":[1],\"keys\":[2]}", err)); /* duplicate member */
    char *dup = jwks_of(test_jwk_json(ed.pub_pem, "same", NULL),
                        test_jwk_json(p256.pub_pem, "same", NULL), NULL, NULL);
    assert_null(parse(dup, err));
    assert_non_null(strstr(err, "two keys"));
    free(dup);
    char *many = jwks_of(test_jwk_json(ed.pub_pem, "a", NULL), test_jwk_json(ed.pub_pem, "b", NULL),
                         test_jwk_json(ed.pub_pem, "c", NULL), NULL);
    assert_null(jwks_set_parse(many, strlen(many), 2, err, sizeof err));
    assert_non_null(strstr(err, "more than 2 keys"));
    free(many);
    assert_null(jwks_set_parse(NULL, 0, 2, err, sizeof err));
}

static void algorithm_lists_split_between_the_verifiers(void **state)
{
    (void)state;
    unsigned hs = 0, jw = 0;
    assert_int_equal(auth_algorithms_parse("HS256, EdDSA,ES256 ,PS256", &hs, &jw), 0);
    assert_int_equal(hs, JWT_ALG_HS256);
    assert_int_equal(jw, JWK_ALG_EDDSA | JWK_ALG_ES256 | JWK_ALG_PS256);
    assert_int_equal(auth_algorithms_parse("EdDSA", &hs, &jw), 0);
    assert_int_equal(hs, 0);
    assert_int_equal(auth_algorithms_parse("HS512", &hs, &jw), 0);
    assert_int_equal(jw, 0);
    assert_int_equal(auth_algorithms_parse("eddsa", &hs, &jw), -1); /* JWA names are exact */
    assert_int_equal(auth_algorithms_parse("HS256,,EdDSA", &hs, &jw), -1);
    assert_int_equal(auth_algorithms_parse("", &hs, &jw), -1);
    assert_int_equal(auth_algorithms_parse("none", &hs, &jw), -1);
    assert_int_equal(auth_algorithms_parse(NULL, &hs, &jw), -1);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static jwks_source_t *file_source(const char *path, long refetch_s, char *err)
{
    jwks_source_config_t c = {.file = path,
                              .max_bytes = 64 << 10,
                              .max_keys = 8,
                              .timeout_ms = 1000,
                              .refetch_min_s = refetch_s,
                              .refresh_s = 0,
                              .retry_max_s = 1};
    return jwks_source_new(&c, err, 256);
}

static void a_file_source_reloads_on_a_missed_kid(void **state)
{
    (void)state;
    char path[] = "/tmp/test_jwks_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char *one = jwks_of(test_jwk_json(ed.pub_pem, "k1", NULL), NULL, NULL, NULL);
    write_file(path, one);
    char err[256] = "";
    jwks_source_t *src = file_source(path, 0, err);
    assert_non_null(src);
    jwks_status_t st;
    jwks_source_status(src, &st);
    assert_true(st.ok);
    assert_int_equal(st.keys, 1);
    assert_string_equal(st.source, "file");
    assert_true(st.age_s >= 0);

    char *two = jwks_of(test_jwk_json(ed.pub_pem, "k1", NULL),
                        test_jwk_json(p256.pub_pem, "k2", NULL), NULL, NULL);
    write_file(path, two);
    jwks_source_kid_missed(src);
    int found = 0;
    for (int i = 0; i < 200 && !found; i++) {
        jwks_set_t *s = jwks_source_current(src);
        found = jwks_set_find(s, "k2") != NULL;
        jwks_set_unref(s);
        if (!found)
            usleep(10000);
    }
    assert_true(found);

    write_file(path, "broken");
    jwks_source_kid_missed(src);
    for (int i = 0; i < 200 && st.ok; i++) {
        usleep(10000);
        jwks_source_status(src, &st);
    }
    assert_false(st.ok);          /* the failure is visible... */
    assert_int_equal(st.keys, 2); /* ...and the last good set stays */
    assert_true(st.loads_failed >= 1);
    jwks_source_free(src);
    unlink(path);
    free(one);
    free(two);
}

static void a_bad_file_stops_the_start(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(file_source("/nonexistent/jwks.json", 60, err));
    assert_non_null(strstr(err, "BETTER_AUTH_JWKS_FILE: cannot open"));
    jwks_source_config_t none = {.max_bytes = 1024, .max_keys = 1};
    assert_null(jwks_source_new(&none, err, sizeof err));
}

typedef struct fixture {
    char path[32];
    jwks_source_t *src;
    auth_ctx_t *auth;
} fixture_t;

/* An auth context with HS256 (when hs) and the JWKS algorithms jw over a
 * file set of the Ed25519 key "k-ed" and the RSA key "k-rsa" (RS256 only). */
static void fixture_open(fixture_t *f, int hs, unsigned jw)
{
    snprintf(f->path, sizeof f->path, "/tmp/test_jwks_XXXXXX");
    int fd = mkstemp(f->path);
    assert_true(fd >= 0);
    close(fd);
    char *text = jwks_of(test_jwk_json(ed.pub_pem, "k-ed", NULL),
                         test_jwk_json(rsa.pub_pem, "k-rsa", "\"alg\":\"RS256\""), NULL, NULL);
    write_file(f->path, text);
    free(text);
    char err[256] = "";
    f->src = file_source(f->path, 60, err);
    assert_non_null(f->src);
    jwt_config_t cfg = {.secret = (const unsigned char *)SECRET,
                        .secret_len = strlen(SECRET),
                        .algorithms = JWT_ALG_HS256,
                        .leeway_s = 30};
    f->auth = auth_ctx_new(&cfg, 16);
    assert_non_null(f->auth);
    assert_int_equal(auth_ctx_enable_jwks(f->auth, f->src, jw, hs), 0);
}

static void fixture_close(fixture_t *f)
{
    auth_ctx_free(f->auth);
    jwks_source_free(f->src);
    unlink(f->path);
}

static jwt_status_t verify(fixture_t *f, char *tok)
{
    auth_tenant_t t;
    assert_non_null(tok);
    jwt_status_t st = auth_ctx_verify(f->auth, tok, strlen(tok), NOW, &t);
    if (st == JWT_OK)
        assert_string_equal(t.user_id, "u1");
    free(tok);
    return st;
}

static void the_algorithm_comes_from_the_key(void **state)
{
    (void)state;
    fixture_t f = {.src = NULL};
    fixture_open(&f, 1, JWK_ALG_EDDSA | JWK_ALG_RS256 | JWK_ALG_PS256);
    assert_int_equal(
        verify(&f, test_sign(ed.priv_pem, NULL, R_JWA_ALG_EDDSA, "{\"kid\":\"k-ed\"}", PAYLOAD)),
        JWT_OK);
    assert_int_equal(
        verify(&f, test_sign(rsa.priv_pem, NULL, R_JWA_ALG_RS256, "{\"kid\":\"k-rsa\"}", PAYLOAD)),
        JWT_OK);
    /* PS256 is allowed, but not by this key's alg. */
    assert_int_equal(
        verify(&f, test_sign(rsa.priv_pem, NULL, R_JWA_ALG_PS256, "{\"kid\":\"k-rsa\"}", PAYLOAD)),
        JWT_INVALID);
    /* The RSA key's kid on an EdDSA token: the key decides, not the header. */
    assert_int_equal(
        verify(&f, test_sign(ed.priv_pem, NULL, R_JWA_ALG_EDDSA, "{\"kid\":\"k-rsa\"}", PAYLOAD)),
        JWT_INVALID);
    assert_int_equal(
        verify(&f, test_sign(ed.priv_pem, NULL, R_JWA_ALG_EDDSA, "{\"kid\":\"k-other\"}", PAYLOAD)),
        JWT_INVALID);
    assert_int_equal(verify(&f, test_sign(ed.priv_pem, NULL, R_JWA_ALG_EDDSA, NULL, PAYLOAD)),
                     JWT_INVALID); /* no kid */
    assert_int_equal(verify(&f, test_sign(ed.priv_pem, NULL, R_JWA_ALG_EDDSA,
                                          "{\"kid\":\"k-ed\",\"typ\":\"at+jwt\"}", PAYLOAD)),
                     JWT_INVALID);
    /* Algorithm confusion: HS256 keyed with the public key text. */
    assert_int_equal(
        verify(&f, test_sign(NULL, rsa.pub_pem, R_JWA_ALG_HS256, "{\"kid\":\"k-rsa\"}", PAYLOAD)),
        JWT_INVALID);
    assert_int_equal(verify(&f, test_sign(NULL, SECRET, R_JWA_ALG_HS256, NULL, PAYLOAD)), JWT_OK);
    fixture_close(&f);
}

static void jwt_algorithms_decide_what_is_taken(void **state)
{
    (void)state;
    fixture_t f = {.src = NULL};
    fixture_open(&f, 0, JWK_ALG_RS256); /* "RS256": no HS256, no EdDSA */
    assert_int_equal(
        verify(&f, test_sign(ed.priv_pem, NULL, R_JWA_ALG_EDDSA, "{\"kid\":\"k-ed\"}", PAYLOAD)),
        JWT_INVALID);
    assert_int_equal(verify(&f, test_sign(NULL, SECRET, R_JWA_ALG_HS256, NULL, PAYLOAD)),
                     JWT_INVALID);
    assert_int_equal(
        verify(&f, test_sign(rsa.priv_pem, NULL, R_JWA_ALG_RS256, "{\"kid\":\"k-rsa\"}", PAYLOAD)),
        JWT_OK);
    /* The claims are an end user's: no sub, refused; expired, expired. */
    assert_int_equal(
        verify(&f, test_sign(rsa.priv_pem, NULL, R_JWA_ALG_RS256, "{\"kid\":\"k-rsa\"}",
                             "{\"email\":\"a@b.c\",\"exp\":1700000600}")),
        JWT_INVALID);
    assert_int_equal(verify(&f, test_sign(rsa.priv_pem, NULL, R_JWA_ALG_RS256,
                                          "{\"kid\":\"k-rsa\"}", "{\"sub\":\"u1\",\"exp\":1}")),
                     JWT_EXPIRED);
    assert_int_equal(auth_ctx_enable_jwks(f.auth, f.src, 0, 1), -1);
    assert_int_equal(auth_ctx_enable_jwks(f.auth, NULL, JWK_ALG_RS256, 1), -1);
    fixture_close(&f);
}

/* Loads the configuration from name=value pairs (the environment's
 * JWKS variables are not set in the unit tests). 0 or -1 with err. */
static int load_with(config_t *cfg, const char *const *pairs, size_t n, char *err)
{
    config_source_t *src = config_source_new();
    config_source_set(src, "BETTER_AUTH_SECRET", SECRET);
    for (size_t i = 0; i + 1 < n; i += 2)
        config_source_set(src, pairs[i], pairs[i + 1]);
    int rc = config_load(cfg, src, err, CONFIG_ERR_MAX);
    config_source_free(src);
    return rc;
}

static void jwks_configuration_is_bounded_and_named(void **state)
{
    (void)state;
    config_t cfg;
    char err[CONFIG_ERR_MAX] = "";
    const char *url[] = {"BETTER_AUTH_JWKS_URL", "http://web:3000/api/auth/jwks"};
    assert_int_equal(load_with(&cfg, url, 2, err), 0);
    assert_string_equal(cfg.jwks_url, "http://web:3000/api/auth/jwks");
    assert_string_equal(cfg.jwt_algorithms, "HS256,EdDSA,ES256,ES512,RS256,PS256");
    assert_int_equal(cfg.jwks_max_bytes, 64 << 10);
    assert_int_equal(cfg.jwks_max_keys, 32);
    assert_int_equal(cfg.jwks_timeout_s, 5);
    assert_int_equal(cfg.jwks_refetch_s, 60);
    assert_int_equal(cfg.jwks_refresh_s, 300);
    config_free(&cfg);
    assert_int_equal(load_with(&cfg, NULL, 0, err), 0);
    assert_string_equal(cfg.jwt_algorithms, "HS256"); /* no JWKS: the seed's default */
    assert_null(cfg.jwks_url);
    config_free(&cfg);
    const char *explicit_algs[] = {"BETTER_AUTH_JWKS_FILE", "/x", "JWT_ALGORITHMS", "EdDSA"};
    assert_int_equal(load_with(&cfg, explicit_algs, 4, err), 0);
    assert_string_equal(cfg.jwt_algorithms, "EdDSA");
    config_free(&cfg);

    const char *bad[][4] = {
        {"BETTER_AUTH_JWKS_URL", "file:///etc/jwks", NULL, NULL},
        {"BETTER_AUTH_JWKS_URL", "http://a/jwks", "BETTER_AUTH_JWKS_FILE", "/x"},
        {"JWKS_MAX_BYTES", "10", NULL, NULL},
        {"JWKS_MAX_KEYS", "0", NULL, NULL},
        {"JWKS_TIMEOUT_SECONDS", "121", NULL, NULL},
        {"JWKS_REFETCH_MIN_SECONDS", "-1", NULL, NULL},
        {"JWKS_REFRESH_SECONDS", "soon", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = bad[i][2] != NULL ? 4 : 2;
        assert_int_equal(load_with(&cfg, bad[i], n, err), -1);
        assert_true(strncmp(err, bad[i][0], strlen(bad[i][0])) == 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_are_found_by_kid_with_their_algorithms),
        cmocka_unit_test(a_key_alg_narrows_it),
        cmocka_unit_test(unusable_keys_are_skipped),
        cmocka_unit_test(bad_sets_are_refused_with_a_reason),
        cmocka_unit_test(algorithm_lists_split_between_the_verifiers),
        cmocka_unit_test(a_file_source_reloads_on_a_missed_kid),
        cmocka_unit_test(a_bad_file_stops_the_start),
        cmocka_unit_test(the_algorithm_comes_from_the_key),
        cmocka_unit_test(jwt_algorithms_decide_what_is_taken),
        cmocka_unit_test(jwks_configuration_is_bounded_and_named),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
