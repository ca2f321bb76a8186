/* Control Plane token verification (src/auth/cp_jwt.c, cp_keys.c): RS* and
 * ES* with a PEM key or a JWKS by kid, the algorithm pinned by the key, the
 * claims (aud, iss, exp, nbf, sub, scopes), and the dispatch in auth.c that
 * keeps end-user HS* tokens and Control Plane tokens apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "auth/cp_jwt.h"
#include "auth/scopes.h"
#include "test_cp_support.h"

#define NOW 1700000000L
#define LEEWAY 30L
#define SECRET "0123456789abcdef0123456789abcdef-test"
#define OS_ID "os-test-1"

static test_keypair_t rsa, rsa_other, ec256, ec384;

static int group_setup(void **state)
{
    (void)state;
    if (r_global_init() != RHN_OK)
        return -1;
    rsa = test_keypair(NULL, 2048);
    rsa_other = test_keypair(NULL, 2048);
    ec256 = test_keypair("P-256", 0);
    ec384 = test_keypair("P-384", 0);
    return rsa.pub_pem && rsa_other.pub_pem && ec256.pub_pem && ec384.pub_pem ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    test_keypair_free(&rsa);
    test_keypair_free(&rsa_other);
    test_keypair_free(&ec256);
    test_keypair_free(&ec384);
    r_global_close();
    return 0;
}

static char *claims(const char *extra)
{
    char *out = malloc(1024);
    snprintf(out, 1024, "{\"sub\":\"cp-user\",\"iat\":%ld,\"exp\":%ld%s%s}", NOW, NOW + 600,
             extra ? "," : "", extra ? extra : "");
    return out;
}

/* Signs claims(extra) with priv and verifies it against cfg at now. */
static jwt_status_t verify_with(const cp_jwt_config_t *cfg, const char *priv, jwa_alg alg,
                                const char *header, const char *extra, time_t now, auth_tenant_t *t)
{
    char err[256] = "";
    cp_verifier_t *v = cp_verifier_new(cfg, err, sizeof err);
    assert_non_null(v);
    char *payload = claims(extra);
    char *tok = test_sign(priv, NULL, alg, header, payload);
    assert_non_null(tok);
    auth_tenant_t scratch;
    time_t exp;
    jwt_status_t st = cp_verify(v, tok, strlen(tok), now, t ? t : &scratch, &exp);
    free(tok);
    free(payload);
    cp_verifier_free(v);
    return st;
}

static cp_jwt_config_t pem_cfg(const char *pem)
{
    return (cp_jwt_config_t){
        .pem = pem, .jwks = NULL, .leeway_s = LEEWAY, .issuer = NULL, .audience = NULL};
}

static void rs256_with_pem_key_makes_a_scoped_operator(void **state)
{
    (void)state;
    cp_jwt_config_t cfg = pem_cfg(rsa.pub_pem);
    auth_tenant_t t;
    assert_int_equal(verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL,
                                 "\"scopes\":[\"agent_os:admin\",\"agents:read\"]", NOW, &t),
                     JWT_OK);
    assert_true(t.authenticated);
    assert_int_equal(t.kind, AUTH_PRINCIPAL_OPERATOR);
    assert_true(t.scoped);
    assert_int_equal(t.nscopes, 2);
    assert_string_equal(t.scopes, "agent_os:admin");
    assert_string_equal(t.scopes + strlen("agent_os:admin") + 1, "agents:read");
    assert_string_equal(t.user_id, "cp-user");
    assert_string_equal(t.workspace_id, "");
    /* RS384 and RS512 with the same RSA key */
    assert_int_equal(verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS384, NULL, NULL, NOW, NULL),
                     JWT_OK);
    assert_int_equal(verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS512, NULL, NULL, NOW, NULL),
                     JWT_OK);
}

static void es256_and_es384_follow_the_curve(void **state)
{
    (void)state;
    cp_jwt_config_t c256 = pem_cfg(ec256.pub_pem), c384 = pem_cfg(ec384.pub_pem);
    assert_int_equal(verify_with(&c256, ec256.priv_pem, R_JWA_ALG_ES256, NULL, NULL, NOW, NULL),
                     JWT_OK);
    assert_int_equal(verify_with(&c384, ec384.priv_pem, R_JWA_ALG_ES384, NULL, NULL, NOW, NULL),
                     JWT_OK);
}

static void a_token_signed_by_another_key_is_invalid(void **state)
{
    (void)state;
    cp_jwt_config_t cfg = pem_cfg(rsa.pub_pem);
    assert_int_equal(verify_with(&cfg, rsa_other.priv_pem, R_JWA_ALG_RS256, NULL,
                                 "\"scopes\":[\"agent_os:admin\"]", NOW, NULL),
                     JWT_INVALID);
    cp_jwt_config_t ec = pem_cfg(ec256.pub_pem);
    assert_int_equal(verify_with(&ec, rsa.priv_pem, R_JWA_ALG_RS256, NULL, NULL, NOW, NULL),
                     JWT_INVALID);
}

/* The PEM text as an HMAC secret: the classic confusion. HS* is never
 * judged here, and the dispatch sends it to the end-user verifier. */
static void hs256_signed_with_the_public_key_is_invalid(void **state)
{
    (void)state;
    char err[256];
    cp_jwt_config_t cfg = pem_cfg(rsa.pub_pem);
    cp_verifier_t *v = cp_verifier_new(&cfg, err, sizeof err);
    char *payload = claims("\"scopes\":[\"agent_os:admin\"]");
    char *tok = test_sign(NULL, rsa.pub_pem, R_JWA_ALG_HS256, NULL, payload);
    auth_tenant_t t;
    assert_int_equal(cp_verify(v, tok, strlen(tok), NOW, &t, NULL), JWT_INVALID);
    assert_false(cp_jwt_is_cp_alg(tok, strlen(tok)));

    jwt_config_t user = {.secret = (const unsigned char *)SECRET,
                         .secret_len = strlen(SECRET),
                         .algorithms = JWT_ALG_HS256,
                         .leeway_s = LEEWAY};
    auth_ctx_t *a = auth_ctx_new(&user, 16);
    assert_int_equal(auth_ctx_enable_control_plane(a, &cfg, err, sizeof err), 0);
    assert_int_equal(auth_ctx_verify(a, tok, strlen(tok), NOW, &t), JWT_INVALID);
    assert_false(t.scoped);
    auth_ctx_free(a);
    free(tok);
    free(payload);
    cp_verifier_free(v);
}

static char *b64url(const char *in)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(in), o = 0;
    char *out = malloc(n * 4 / 3 + 4);
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[o++] = a[(v >> 18) & 63];
        out[o++] = a[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = a[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = a[v & 63];
    }
    out[o] = '\0';
    return out;
}

/* header.payload.signature from a JSON header, the claims and a signature
 * segment given as it is. */
static char *compact(const char *header, const char *payload, const char *sig)
{
    char *h = b64url(header), *p = b64url(payload);
    size_t len = strlen(h) + strlen(p) + strlen(sig) + 3;
    char *tok = malloc(len);
    snprintf(tok, len, "%s.%s.%s", h, p, sig);
    free(h);
    free(p);
    return tok;
}

static jwt_status_t verify_cp(const char *pem, const char *tok)
{
    char err[256] = "";
    cp_jwt_config_t cfg = pem_cfg(pem);
    cp_verifier_t *v = cp_verifier_new(&cfg, err, sizeof err);
    assert_non_null(v);
    auth_tenant_t t;
    jwt_status_t st = cp_verify(v, tok, strlen(tok), NOW, &t, NULL);
    if (st != JWT_OK)
        assert_false(t.authenticated);
    cp_verifier_free(v);
    return st;
}

/* The signature is always checked: alg "none", an empty signature, a
 * header rewritten after signing, and another token's signature are all
 * refused, by the Control Plane verifier and by the dispatch in auth.c. */
static void unsigned_and_resigned_tokens_are_invalid(void **state)
{
    (void)state;
    char *payload = claims("\"scopes\":[\"agent_os:admin\"]");
    char *good = test_sign(rsa.priv_pem, NULL, R_JWA_ALG_RS256, NULL, payload);
    assert_non_null(good);
    assert_int_equal(verify_cp(rsa.pub_pem, good), JWT_OK);
    const char *sig = strrchr(good, '.') + 1;

    char *bad[4];
    bad[0] = compact("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, "");
    bad[1] = compact("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", payload, "");
    bad[2] = compact("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, sig);
    /* the same signature under other claims */
    char *other = claims("\"scopes\":[\"agent_os:admin\"],\"sub2\":\"x\"");
    bad[3] = compact("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", other, sig);
    char err[256];
    jwt_config_t user = {.secret = (const unsigned char *)SECRET,
                         .secret_len = strlen(SECRET),
                         .algorithms = JWT_ALG_HS256,
                         .leeway_s = LEEWAY};
    cp_jwt_config_t cfg = pem_cfg(rsa.pub_pem);
    auth_ctx_t *a = auth_ctx_new(&user, 16);
    assert_int_equal(auth_ctx_enable_control_plane(a, &cfg, err, sizeof err), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(verify_cp(rsa.pub_pem, bad[i]), JWT_INVALID);
        auth_tenant_t t;
        assert_int_not_equal(auth_ctx_verify(a, bad[i], strlen(bad[i]), NOW, &t), JWT_OK);
        assert_false(t.authenticated);
        free(bad[i]);
    }
    auth_ctx_free(a);
    free(other);
    free(good);
    free(payload);
}

/* An ES256 header over an RSA key, RS256 over an EC key: the key's type
 * pins the algorithm. */
static void the_key_type_pins_the_algorithm(void **state)
{
    (void)state;
    cp_jwt_config_t rsa_cfg = pem_cfg(rsa.pub_pem), ec_cfg = pem_cfg(ec256.pub_pem);
    assert_int_equal(verify_with(&rsa_cfg, ec256.priv_pem, R_JWA_ALG_ES256, NULL, NULL, NOW, NULL),
                     JWT_INVALID);
    assert_int_equal(verify_with(&ec_cfg, ec384.priv_pem, R_JWA_ALG_ES384, NULL, NULL, NOW, NULL),
                     JWT_INVALID);
}

static void times_use_the_leeway(void **state)
{
    (void)state;
    cp_jwt_config_t cfg = pem_cfg(rsa.pub_pem);
    assert_int_equal(
        verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL, NULL, NOW + 600 + 31, NULL),
        JWT_EXPIRED);
    assert_int_equal(
        verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL, NULL, NOW + 600 + 30, NULL), JWT_OK);
    char nbf[64];
    snprintf(nbf, sizeof nbf, "\"nbf\":%ld", NOW + 100);
    assert_int_equal(verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL, nbf, NOW, NULL),
                     JWT_INVALID);
}

static void audience_must_name_the_os_when_asked(void **state)
{
    (void)state;
    cp_jwt_config_t cfg = {
        .pem = rsa.pub_pem, .jwks = NULL, .leeway_s = LEEWAY, .issuer = NULL, .audience = OS_ID};
    assert_int_equal(
        verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL, "\"aud\":\"" OS_ID "\"", NOW, NULL),
        JWT_OK);
    assert_int_equal(verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL,
                                 "\"aud\":[\"x\",\"" OS_ID "\"]", NOW, NULL),
                     JWT_OK);
    assert_int_equal(
        verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL, "\"aud\":\"another-os\"", NOW, NULL),
        JWT_INVALID);
    assert_int_equal(verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL, NULL, NOW, NULL),
                     JWT_INVALID);
    cfg.audience = NULL; /* not asked: any aud */
    assert_int_equal(
        verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL, "\"aud\":\"another-os\"", NOW, NULL),
        JWT_OK);
}

static void issuer_is_checked_when_configured(void **state)
{
    (void)state;
    cp_jwt_config_t cfg = {.pem = rsa.pub_pem,
                           .jwks = NULL,
                           .leeway_s = LEEWAY,
                           .issuer = "https://os.agno.com",
                           .audience = NULL};
    assert_int_equal(verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL,
                                 "\"iss\":\"https://os.agno.com\"", NOW, NULL),
                     JWT_OK);
    assert_int_equal(verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL,
                                 "\"iss\":\"https://evil.example\"", NOW, NULL),
                     JWT_INVALID);
}

static void scopes_claim_forms_and_bounds(void **state)
{
    (void)state;
    cp_jwt_config_t cfg = pem_cfg(rsa.pub_pem);
    auth_tenant_t t;
    assert_int_equal(verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL,
                                 "\"scopes\":\"sessions:read\"", NOW, &t),
                     JWT_OK);
    assert_int_equal(t.nscopes, 1);
    assert_int_equal(verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL, NULL, NOW, &t), JWT_OK);
    assert_int_equal(t.nscopes, 0);
    assert_true(t.scoped); /* no scopes: scoped all the same, granted nothing */
    assert_false(scopes_tenant_grants(&t, "agents:read", NULL, NULL));
    assert_int_equal(
        verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL, "\"scopes\":[1]", NOW, NULL),
        JWT_INVALID);
    char many[4096] = "\"scopes\":[";
    for (int i = 0; i <= AUTH_SCOPES_MAX; i++)
        strcat(many, i ? ",\"a:b\"" : "\"a:b\"");
    strcat(many, "]");
    assert_int_equal(verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL, many, NOW, NULL),
                     JWT_INVALID);
    char lng[512];
    snprintf(lng, sizeof lng, "\"scopes\":[\"agents:%0*d:read\"]", AUTH_SCOPE_MAX, 0);
    assert_int_equal(verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL, lng, NOW, NULL),
                     JWT_INVALID);
}

/* Issue 10: JWT_REQUIRE_EXP holds for the Control Plane's tokens too. */
static void exp_is_required_when_configured(void **state)
{
    (void)state;
    cp_jwt_config_t cfg = pem_cfg(rsa.pub_pem);
    char err[256];
    char *tok = test_sign(rsa.priv_pem, NULL, R_JWA_ALG_RS256, NULL, "{\"sub\":\"cp\"}");
    auth_tenant_t t;
    cp_verifier_t *v = cp_verifier_new(&cfg, err, sizeof err);
    assert_int_equal(cp_verify(v, tok, strlen(tok), NOW, &t, NULL), JWT_OK);
    cp_verifier_free(v);
    cfg.require_exp = 1;
    v = cp_verifier_new(&cfg, err, sizeof err);
    assert_int_equal(cp_verify(v, tok, strlen(tok), NOW, &t, NULL), JWT_INVALID);
    assert_int_equal(t.authenticated, 0);
    cp_verifier_free(v);
    free(tok);
    assert_int_equal(verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL, NULL, NOW, NULL),
                     JWT_OK);
}

static void reserved_subjects_are_refused(void **state)
{
    (void)state;
    cp_jwt_config_t cfg = pem_cfg(rsa.pub_pem);
    char *payload = strdup("{\"sub\":\"sa:robot\",\"exp\":1700000600}");
    char err[256];
    cp_verifier_t *v = cp_verifier_new(&cfg, err, sizeof err);
    char *tok = test_sign(rsa.priv_pem, NULL, R_JWA_ALG_RS256, NULL, payload);
    auth_tenant_t t;
    assert_int_equal(cp_verify(v, tok, strlen(tok), NOW, &t, NULL), JWT_INVALID);
    free(tok);
    free(payload);
    cp_verifier_free(v);
}

static void tenant_scopes_follow_agnos_grammar(void **state)
{
    (void)state;
    cp_jwt_config_t cfg = pem_cfg(rsa.pub_pem);
    auth_tenant_t t;
    assert_int_equal(verify_with(&cfg, rsa.priv_pem, R_JWA_ALG_RS256, NULL,
                                 "\"scopes\":[\"agents:web:run\",\"system:read\"]", NOW, &t),
                     JWT_OK);
    assert_true(scopes_tenant_grants(&t, "agents:run", "agents", "web"));
    assert_false(scopes_tenant_grants(&t, "agents:run", "agents", "other"));
    assert_false(scopes_tenant_grants(&t, "agents:read", "agents", "web"));
    assert_true(scopes_tenant_grants(&t, "config:read", NULL, NULL));
    assert_false(scopes_tenant_grants(&t, "sessions:read", NULL, NULL));
    auth_tenant_t key = {.authenticated = 1, .kind = AUTH_PRINCIPAL_OPERATOR};
    assert_true(scopes_tenant_grants(&key, "sessions:delete", NULL, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rs256_with_pem_key_makes_a_scoped_operator),
        cmocka_unit_test(es256_and_es384_follow_the_curve),
        cmocka_unit_test(a_token_signed_by_another_key_is_invalid),
        cmocka_unit_test(hs256_signed_with_the_public_key_is_invalid),
        cmocka_unit_test(unsigned_and_resigned_tokens_are_invalid),
        cmocka_unit_test(the_key_type_pins_the_algorithm),
        cmocka_unit_test(times_use_the_leeway),
        cmocka_unit_test(audience_must_name_the_os_when_asked),
        cmocka_unit_test(issuer_is_checked_when_configured),
        cmocka_unit_test(scopes_claim_forms_and_bounds),
        cmocka_unit_test(reserved_subjects_are_refused),
        cmocka_unit_test(exp_is_required_when_configured),
        cmocka_unit_test(tenant_scopes_follow_agnos_grammar),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
