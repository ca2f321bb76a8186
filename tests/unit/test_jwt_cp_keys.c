/* Control Plane keys (src/auth/cp_keys.c): a JWKS picked by kid, the keys
 * refused at load, the PEM text or path of JWT_VERIFICATION_KEY; the
 * dispatch of auth.c by alg; auth_mode_name (src/auth/auth_mode.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "auth/auth_mode.h"
#include "auth/cp_jwt.h"
#include "test_cp_support.h"

#define NOW 1700000000L
#define LEEWAY 30L
#define SECRET "0123456789abcdef0123456789abcdef-test"
#define PAYLOAD "{\"sub\":\"cp\",\"exp\":1700000600,\"scopes\":[\"agent_os:admin\"]}"

static test_keypair_t ka, kb, ec;

static int group_setup(void **state)
{
    (void)state;
    if (r_global_init() != RHN_OK)
        return -1;
    ka = test_keypair(NULL, 2048);
    kb = test_keypair(NULL, 2048);
    ec = test_keypair("P-256", 0);
    return ka.pub_pem && kb.pub_pem && ec.pub_pem ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    test_keypair_free(&ka);
    test_keypair_free(&kb);
    test_keypair_free(&ec);
    r_global_close();
    return 0;
}

/* {"keys":[a, b]} from JWK texts (either may be NULL). */
static char *jwks_of(char *a, char *b)
{
    size_t n = (a ? strlen(a) : 0) + (b ? strlen(b) : 0) + 32;
    char *out = malloc(n);
    snprintf(out, n, "{\"keys\":[%s%s%s]}", a ? a : "", a && b ? "," : "", b ? b : "");
    free(a);
    free(b);
    return out;
}

static jwt_status_t verify_jwks(const char *jwks, const char *priv, jwa_alg alg, const char *header)
{
    char err[256];
    cp_jwt_config_t cfg = {
        .pem = NULL, .jwks = jwks, .leeway_s = LEEWAY, .issuer = NULL, .audience = NULL};
    cp_verifier_t *v = cp_verifier_new(&cfg, err, sizeof err);
    if (v == NULL)
        print_error("cp_verifier_new: %s\n", err);
    assert_non_null(v);
    char *tok = test_sign(priv, NULL, alg, header, PAYLOAD);
    assert_non_null(tok);
    auth_tenant_t t;
    jwt_status_t st = cp_verify(v, tok, strlen(tok), NOW, &t, NULL);
    free(tok);
    cp_verifier_free(v);
    return st;
}

static void jwks_picks_the_key_by_kid(void **state)
{
    (void)state;
    char *jwks =
        jwks_of(test_jwk_json(ka.pub_pem, "a", NULL), test_jwk_json(kb.pub_pem, "b", NULL));
    assert_int_equal(verify_jwks(jwks, kb.priv_pem, R_JWA_ALG_RS256, "{\"kid\":\"b\"}"), JWT_OK);
    assert_int_equal(verify_jwks(jwks, ka.priv_pem, R_JWA_ALG_RS256, "{\"kid\":\"a\"}"), JWT_OK);
    /* kid names the other key: never tried with the one that would verify */
    assert_int_equal(verify_jwks(jwks, kb.priv_pem, R_JWA_ALG_RS256, "{\"kid\":\"a\"}"),
                     JWT_INVALID);
    /* no kid, or an unknown one, and no kid-less key: nothing to verify with */
    assert_int_equal(verify_jwks(jwks, ka.priv_pem, R_JWA_ALG_RS256, NULL), JWT_INVALID);
    assert_int_equal(verify_jwks(jwks, ka.priv_pem, R_JWA_ALG_RS256, "{\"kid\":\"zz\"}"),
                     JWT_INVALID);
    assert_int_equal(verify_jwks(jwks, ka.priv_pem, R_JWA_ALG_RS256, "{\"kid\":7}"), JWT_INVALID);
    free(jwks);
}

static void a_kidless_jwks_key_is_the_default(void **state)
{
    (void)state;
    char *jwks =
        jwks_of(test_jwk_json(ka.pub_pem, NULL, NULL), test_jwk_json(ec.pub_pem, "e", NULL));
    assert_int_equal(verify_jwks(jwks, ka.priv_pem, R_JWA_ALG_RS256, NULL), JWT_OK);
    assert_int_equal(verify_jwks(jwks, ka.priv_pem, R_JWA_ALG_RS256, "{\"kid\":\"other\"}"),
                     JWT_OK);
    assert_int_equal(verify_jwks(jwks, ec.priv_pem, R_JWA_ALG_ES256, "{\"kid\":\"e\"}"), JWT_OK);
    free(jwks);
}

static void a_jwk_alg_narrows_the_key(void **state)
{
    (void)state;
    char *jwks = jwks_of(test_jwk_json(ka.pub_pem, "a", "\"alg\":\"RS512\",\"use\":\"sig\""), NULL);
    assert_int_equal(verify_jwks(jwks, ka.priv_pem, R_JWA_ALG_RS512, "{\"kid\":\"a\"}"), JWT_OK);
    assert_int_equal(verify_jwks(jwks, ka.priv_pem, R_JWA_ALG_RS256, "{\"kid\":\"a\"}"),
                     JWT_INVALID);
    free(jwks);
}

static int loads(const char *pem, const char *jwks, char *err, size_t errlen)
{
    cp_jwt_config_t cfg = {
        .pem = pem, .jwks = jwks, .leeway_s = LEEWAY, .issuer = NULL, .audience = NULL};
    cp_verifier_t *v = cp_verifier_new(&cfg, err, errlen);
    cp_verifier_free(v);
    return v != NULL;
}

static void unusable_keys_are_refused_at_load(void **state)
{
    (void)state;
    char err[256];
    assert_false(
        loads(NULL, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0c2VjcmV0\"}]}", err, sizeof err));
    assert_false(loads(NULL, "{\"keys\":[]}", err, sizeof err));
    assert_false(loads(NULL, "not json", err, sizeof err));
    assert_non_null(strstr(err, "JWT_JWKS_FILE"));
    char *enc = jwks_of(test_jwk_json(ka.pub_pem, "a", "\"use\":\"enc\""), NULL);
    assert_false(loads(NULL, enc, err, sizeof err));
    free(enc);
    char *mismatch = jwks_of(test_jwk_json(ec.pub_pem, "e", "\"alg\":\"RS256\""), NULL);
    assert_false(loads(NULL, mismatch, err, sizeof err));
    free(mismatch);
    test_keypair_t small = test_keypair(NULL, 1024);
    assert_false(loads(small.pub_pem, NULL, err, sizeof err));
    assert_non_null(strstr(err, "2048"));
    assert_false(loads(ka.priv_pem, NULL, err, sizeof err)); /* a private key is not the key */
    assert_false(loads("-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n", NULL, err,
                       sizeof err));
    assert_false(loads(NULL, NULL, err, sizeof err));
    test_keypair_free(&small);
    assert_true(loads(ka.pub_pem, NULL, err, sizeof err));
}

static void pem_is_inline_text_or_a_path(void **state)
{
    (void)state;
    char err[256];
    /* one line with literal \n, as env files carry it */
    size_t n = strlen(ka.pub_pem);
    char *escaped = malloc(2 * n + 1), *o = escaped;
    for (size_t i = 0; i < n; i++) {
        if (ka.pub_pem[i] == '\n')
            *o++ = '\\', *o++ = 'n';
        else
            *o++ = ka.pub_pem[i];
    }
    *o = '\0';
    char *pem = cp_jwt_load_pem(escaped, err, sizeof err);
    assert_non_null(pem);
    assert_string_equal(pem, ka.pub_pem);
    free(pem);
    free(escaped);

    char path[] = "/tmp/cp-key-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, ka.pub_pem, n), (ssize_t)n);
    close(fd);
    pem = cp_jwt_load_pem(path, err, sizeof err);
    assert_non_null(pem);
    assert_string_equal(pem, ka.pub_pem);
    free(pem);
    unlink(path);
    assert_null(cp_jwt_load_pem("/no/such/key.pem", err, sizeof err));
    assert_non_null(strstr(err, "JWT_VERIFICATION_KEY"));
}

/* RS256 goes to the Control Plane verifier only once it is enabled; the
 * verified tenant, scopes and all, is served from the cache after that. */
static void auth_ctx_dispatches_by_alg_and_caches(void **state)
{
    (void)state;
    char err[256];
    jwt_config_t user = {.secret = (const unsigned char *)SECRET,
                         .secret_len = strlen(SECRET),
                         .algorithms = JWT_ALG_HS256,
                         .leeway_s = LEEWAY};
    auth_ctx_t *a = auth_ctx_new(&user, 16);
    char *tok = test_sign(ka.priv_pem, NULL, R_JWA_ALG_RS256, NULL, PAYLOAD);
    auth_tenant_t t;
    assert_int_equal(auth_ctx_verify(a, tok, strlen(tok), NOW, &t), JWT_INVALID);
    cp_jwt_config_t cp = {
        .pem = ka.pub_pem, .jwks = NULL, .leeway_s = LEEWAY, .issuer = NULL, .audience = NULL};
    assert_int_equal(auth_ctx_enable_control_plane(a, &cp, err, sizeof err), 0);
    assert_int_equal(auth_ctx_verify(a, tok, strlen(tok), NOW, &t), JWT_OK);
    assert_true(t.scoped);
    assert_int_equal(auth_ctx_verify(a, tok, strlen(tok), NOW, &t), JWT_OK);
    auth_ctx_stats_t s;
    auth_ctx_stats(a, &s);
    assert_int_equal(s.hits, 1);
    assert_true(t.scoped);
    assert_int_equal(t.kind, AUTH_PRINCIPAL_OPERATOR);
    assert_string_equal(t.scopes, "agent_os:admin");
    /* the end users' HS256 tokens still reach their verifier */
    char *user_tok = jwt_mint_hs256((const unsigned char *)SECRET, strlen(SECRET), "u1", "ws-1",
                                    NULL, NULL, 600, NOW);
    assert_int_equal(auth_ctx_verify(a, user_tok, strlen(user_tok), NOW, &t), JWT_OK);
    assert_false(t.scoped);
    free(user_tok);
    free(tok);
    auth_ctx_free(a);
}

static void auth_mode_names_what_is_configured(void **state)
{
    (void)state;
    config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    assert_string_equal(auth_mode_name(&cfg), "jwt");
    cfg.os_security_key = "os-key-0123456789abcdef";
    assert_string_equal(auth_mode_name(&cfg), "security_key");
    cfg.jwt_jwks_file = "/etc/jwks.json";
    assert_string_equal(auth_mode_name(&cfg), "jwt");
    cfg.jwt_jwks_file = NULL;
    cfg.jwt_verification_key = "-----BEGIN PUBLIC KEY-----";
    assert_string_equal(auth_mode_name(&cfg), "jwt");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jwks_picks_the_key_by_kid),
        cmocka_unit_test(a_kidless_jwks_key_is_the_default),
        cmocka_unit_test(a_jwk_alg_narrows_the_key),
        cmocka_unit_test(unusable_keys_are_refused_at_load),
        cmocka_unit_test(pem_is_inline_text_or_a_path),
        cmocka_unit_test(auth_ctx_dispatches_by_alg_and_caches),
        cmocka_unit_test(auth_mode_names_what_is_configured),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
