/* JWT verification rules (src/auth/jwt.c). Tokens are minted here with
 * rhonabwy, or assembled by hand when they must be malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <orcania.h>
#include <rhonabwy.h>

#include "auth/jwt.h"
#include "test_jwt_support.h"

#define SECRET "0123456789abcdef0123456789abcdef-test"
#define OTHER_SECRET "another-secret-another-secret-0000"
#define NOW 1700000000L
#define LEEWAY 30L
#define IDENT                                                                                      \
    "\"sub\":\"user-1\",\"sessionId\":\"sess-1\",\"email\":\"ann@example.com\",\"name\":\"Ann\""

static jwt_config_t config(unsigned algorithms)
{
    jwt_config_t cfg = {.secret = (const unsigned char *)SECRET,
                        .secret_len = strlen(SECRET),
                        .algorithms = algorithms,
                        .leeway_s = LEEWAY};
    return cfg;
}

static char *sign_claims(const char *claims_json, jwa_alg alg)
{
    return test_jwt_sign(NULL, claims_json, alg, SECRET);
}

static char *b64url(const char *s)
{
    struct _o_datum dat = {0, NULL};
    assert_true(o_base64url_encode_alloc((const unsigned char *)s, strlen(s), &dat));
    char *out = strndup((const char *)dat.data, dat.size);
    o_free(dat.data);
    return out;
}

/* header and payload are JSON text, encoded here; sig is used as given. */
static char *assemble(const char *header, const char *payload, const char *sig)
{
    char *h = b64url(header), *p = b64url(payload);
    size_t n = strlen(h) + strlen(p) + strlen(sig) + 3;
    char *tok = malloc(n);
    snprintf(tok, n, "%s.%s.%s", h, p, sig);
    free(h);
    free(p);
    return tok;
}

static jwt_status_t verify_cfg(const jwt_config_t *cfg, const char *token, time_t now,
                               auth_tenant_t *t, time_t *exp)
{
    jwt_verifier_t *v = jwt_verifier_new(cfg);
    assert_non_null(v);
    auth_tenant_t scratch;
    jwt_status_t st = jwt_verify(v, token, strlen(token), now, t ? t : &scratch, exp);
    jwt_verifier_free(v);
    return st;
}

static jwt_status_t verify_token(const char *token, time_t now)
{
    jwt_config_t cfg = config(JWT_ALG_HS256);
    return verify_cfg(&cfg, token, now, NULL, NULL);
}

/* Signs claims_json (HS256, the test secret) and verifies it at NOW. */
static jwt_status_t verify_claims(const char *claims_json)
{
    char *tok = sign_claims(claims_json, R_JWA_ALG_HS256);
    jwt_status_t st = verify_token(tok, NOW);
    free(tok);
    return st;
}

static char *claims_with(const char *extra)
{
    char *s = malloc(1024);
    snprintf(s, 1024, "{" IDENT ",\"exp\":%ld%s}", NOW + 900, extra);
    return s;
}

/* ---- jwt_algorithms_parse ---- */

static void test_algorithms_parse(void **state)
{
    (void)state;
    unsigned m = 0;
    assert_int_equal(jwt_algorithms_parse("HS256", &m), 0);
    assert_int_equal(m, JWT_ALG_HS256);
    assert_int_equal(jwt_algorithms_parse("HS256, HS512", &m), 0);
    assert_int_equal(m, JWT_ALG_HS256 | JWT_ALG_HS512);
    assert_int_equal(jwt_algorithms_parse(" HS384 ,\tHS256,HS512 ", &m), 0);
    assert_int_equal(m, JWT_ALG_HS256 | JWT_ALG_HS384 | JWT_ALG_HS512);
}

static void test_algorithms_parse_rejects(void **state)
{
    (void)state;
    unsigned m = 77;
    const char *bad[] = {"",       " ",     "none",   "RS256", "HS256,RS256", "HS256,,HS512",
                         "HS256,", "hs256", "HS2560", "EdDSA"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(jwt_algorithms_parse(bad[i], &m), -1);
    assert_int_equal(m, 77); /* untouched on failure */
    assert_int_equal(jwt_algorithms_parse(NULL, &m), -1);
    assert_int_equal(jwt_algorithms_parse("HS256", NULL), -1);
}

/* ---- configuration ---- */

static void test_verifier_new_rejects_bad_config(void **state)
{
    (void)state;
    assert_null(jwt_verifier_new(NULL));
    jwt_config_t cfg = config(JWT_ALG_HS256);
    cfg.secret = NULL;
    assert_null(jwt_verifier_new(&cfg));
    cfg = config(JWT_ALG_HS256);
    cfg.secret_len = 0;
    assert_null(jwt_verifier_new(&cfg));
    cfg = config(0);
    assert_null(jwt_verifier_new(&cfg));
    cfg = config(JWT_ALG_HS256 | (1u << 7));
    assert_null(jwt_verifier_new(&cfg));
    cfg = config(JWT_ALG_HS256);
    cfg.leeway_s = -1;
    assert_null(jwt_verifier_new(&cfg));
    jwt_verifier_free(NULL);
}

static void test_verify_null_arguments(void **state)
{
    (void)state;
    jwt_config_t cfg = config(JWT_ALG_HS256);
    jwt_verifier_t *v = jwt_verifier_new(&cfg);
    auth_tenant_t t;
    char *tok = claims_with("");
    char *signed_tok = sign_claims(tok, R_JWA_ALG_HS256);
    assert_int_equal(jwt_verify(NULL, signed_tok, strlen(signed_tok), NOW, &t, NULL), JWT_INVALID);
    assert_int_equal(jwt_verify(v, NULL, 10, NOW, &t, NULL), JWT_INVALID);
    assert_int_equal(jwt_verify(v, signed_tok, strlen(signed_tok), NOW, NULL, NULL), JWT_INVALID);
    assert_int_equal(jwt_verify(v, signed_tok, 0, NOW, &t, NULL), JWT_INVALID);
    assert_int_equal(jwt_verify(v, signed_tok, strlen(signed_tok), NOW, &t, NULL), JWT_OK);
    free(tok);
    free(signed_tok);
    jwt_verifier_free(v);
}

/* ---- valid tokens ---- */

static void test_valid_token_maps_claims(void **state)
{
    (void)state;
    char *tok = sign_claims("{" IDENT ",\"workspaceId\":\"ws-42\",\"iat\":1699999000,"
                            "\"exp\":1700000900}",
                            R_JWA_ALG_HS256);
    jwt_config_t cfg = config(JWT_ALG_HS256);
    auth_tenant_t t;
    time_t exp = 0;
    assert_int_equal(verify_cfg(&cfg, tok, NOW, &t, &exp), JWT_OK);
    assert_int_equal(t.authenticated, 1);
    assert_string_equal(t.user_id, "user-1");
    assert_string_equal(t.session_id, "sess-1");
    assert_string_equal(t.workspace_id, "ws-42");
    assert_string_equal(t.email, "ann@example.com");
    assert_string_equal(t.name, "Ann");
    assert_int_equal(exp, 1700000900);
    free(tok);
}

static void test_valid_token_without_workspace(void **state)
{
    (void)state;
    char *tok = sign_claims("{" IDENT ",\"exp\":1700000900}", R_JWA_ALG_HS256);
    jwt_config_t cfg = config(JWT_ALG_HS256);
    auth_tenant_t t;
    assert_int_equal(verify_cfg(&cfg, tok, NOW, &t, NULL), JWT_OK);
    assert_string_equal(t.user_id, "user-1");
    assert_string_equal(t.workspace_id, "");
    free(tok);
}

static void test_only_sub_is_required(void **state)
{
    (void)state;
    char *tok = sign_claims("{\"sub\":\"u\"}", R_JWA_ALG_HS256);
    jwt_config_t cfg = config(JWT_ALG_HS256);
    auth_tenant_t t;
    time_t exp = 123;
    assert_int_equal(verify_cfg(&cfg, tok, NOW, &t, &exp), JWT_OK);
    assert_int_equal(exp, 0); /* no exp claim */
    assert_string_equal(t.user_id, "u");
    assert_string_equal(t.session_id, "");
    assert_string_equal(t.email, "");
    assert_string_equal(t.name, "");
    free(tok);
}

static void test_hs384_and_hs512_when_allowed(void **state)
{
    (void)state;
    const char *claims = "{" IDENT ",\"exp\":1700000900}";
    char *t384 = sign_claims(claims, R_JWA_ALG_HS384);
    char *t512 = sign_claims(claims, R_JWA_ALG_HS512);
    jwt_config_t all = config(JWT_ALG_HS256 | JWT_ALG_HS384 | JWT_ALG_HS512);
    assert_int_equal(verify_cfg(&all, t384, NOW, NULL, NULL), JWT_OK);
    assert_int_equal(verify_cfg(&all, t512, NOW, NULL, NULL), JWT_OK);
    jwt_config_t only512 = config(JWT_ALG_HS512);
    assert_int_equal(verify_cfg(&only512, t512, NOW, NULL, NULL), JWT_OK);
    assert_int_equal(verify_cfg(&only512, t384, NOW, NULL, NULL), JWT_INVALID);
    free(t384);
    free(t512);
}

/* ---- size and shape ---- */

static char *token_with_pad(size_t pad)
{
    char *claims = malloc(pad + 256);
    int n = snprintf(claims, pad + 256, "{\"sub\":\"u\",\"exp\":%ld,\"pad\":\"", NOW + 900);
    memset(claims + n, 'x', pad);
    strcpy(claims + n + pad, "\"}");
    char *tok = sign_claims(claims, R_JWA_ALG_HS256);
    free(claims);
    return tok;
}

static void test_size_limit(void **state)
{
    (void)state;
    char *fits = NULL, *over = NULL;
    for (size_t pad = 5900; over == NULL; pad++) {
        char *tok = token_with_pad(pad);
        if (strlen(tok) <= JWT_MAX_TOKEN_BYTES) {
            free(fits);
            fits = tok;
        } else {
            over = tok;
        }
    }
    assert_true(strlen(fits) > JWT_MAX_TOKEN_BYTES - 4);
    assert_int_equal(verify_token(fits, NOW), JWT_OK);
    /* Correctly signed, yet refused for its size alone. */
    assert_int_equal(verify_token(over, NOW), JWT_INVALID);
    free(fits);
    free(over);
}

static void test_oversized_garbage(void **state)
{
    (void)state;
    size_t n = JWT_MAX_TOKEN_BYTES + 1;
    char *junk = malloc(n + 1);
    memset(junk, 'a', n);
    junk[n] = '\0';
    assert_int_equal(verify_token(junk, NOW), JWT_INVALID);
    free(junk);
}

static void test_malformed_shapes(void **state)
{
    (void)state;
    char *good = sign_claims("{\"sub\":\"u\"}", R_JWA_ALG_HS256);
    assert_int_equal(verify_token(good, NOW), JWT_OK);
    const char *bad[] = {"abc",      "a.b",     "a.b.c.d",
                         "a..c",     ".b.c",    "a.b.",
                         "!!!.b.c",  "a b.c.d", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA=",
                         "a.b.c.d.e"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(verify_token(bad[i], NOW), JWT_INVALID);
    /* A trailing byte after a good token, and an embedded NUL within len. */
    size_t n = strlen(good);
    char *longer = malloc(n + 2);
    memcpy(longer, good, n);
    longer[n] = '.';
    longer[n + 1] = '\0';
    assert_int_equal(verify_token(longer, NOW), JWT_INVALID);
    longer[n] = '\0';
    jwt_config_t cfg = config(JWT_ALG_HS256);
    jwt_verifier_t *v = jwt_verifier_new(&cfg);
    auth_tenant_t t;
    assert_int_equal(jwt_verify(v, longer, n + 1, NOW, &t, NULL), JWT_INVALID);
    jwt_verifier_free(v);
    free(longer);
    free(good);
}

static void test_bad_base64(void **state)
{
    (void)state;
    char *good = sign_claims("{\"sub\":\"u\"}", R_JWA_ALG_HS256);
    char *dot = strchr(good, '.');
    /* A header segment of 5 chars cannot be base64url (length 1 mod 4). */
    char buf[512];
    snprintf(buf, sizeof buf, "eyJhb%s", dot);
    assert_int_equal(verify_token(buf, NOW), JWT_INVALID);
    /* A signature of one char cannot decode either. */
    char *last = strrchr(good, '.');
    last[1] = 'A';
    last[2] = '\0';
    assert_int_equal(verify_token(good, NOW), JWT_INVALID);
    free(good);
}

static void test_header_not_json_object(void **state)
{
    (void)state;
    const char *headers[] = {"notjson", "[\"alg\",\"HS256\"]", "\"HS256\"", "42",
                             "{\"alg\":\"none\",\"alg\":\"HS256\"}"};
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        char *tok = assemble(headers[i], "{\"sub\":\"u\"}", "AAAA");
        assert_int_equal(verify_token(tok, NOW), JWT_INVALID);
        free(tok);
    }
}

static void test_claims_not_json_object(void **state)
{
    (void)state;
    /* Correctly signed, so only the payload's shape is at fault. */
    const char *payloads[] = {"notjson", "[1,2]", "\"sub\"", "42", "null"};
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++)
        assert_int_equal(verify_claims(payloads[i]), JWT_INVALID);
}

/* ---- algorithm pinning ---- */

static void test_alg_none_rejected(void **state)
{
    (void)state;
    const char *claims = "{" IDENT ",\"exp\":1700000900}";
    const char *headers[] = {"{\"alg\":\"none\"}", "{\"alg\":\"None\",\"typ\":\"JWT\"}",
                             "{\"alg\":\"NONE\"}", "{\"alg\":\"\"}",
                             "{\"typ\":\"JWT\"}",  "{\"alg\":null}",
                             "{\"alg\":2}"};
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        char *tok = assemble(headers[i], claims, "AAAA");
        assert_int_equal(verify_token(tok, NOW), JWT_INVALID);
        tok[strlen(tok) - 5] = '\0'; /* the unsigned form: "h.p." */
        strcat(tok, ".");
        assert_int_equal(verify_token(tok, NOW), JWT_INVALID);
        free(tok);
    }
}

/* Library behaviour we rely on as a second line: without R_PARSE_UNSIGNED
 * rhonabwy refuses an alg:none token at parse time. */
static void test_rhonabwy_refuses_unsigned_at_parse(void **state)
{
    (void)state;
    char *tok = assemble("{\"alg\":\"none\"}", "{\"sub\":\"u\"}", "");
    jwt_t *jwt = NULL;
    assert_int_equal(r_jwt_init(&jwt), RHN_OK);
    assert_int_not_equal(r_jwt_advanced_parsen(jwt, tok, strlen(tok), R_PARSE_NONE, 0), RHN_OK);
    r_jwt_free(jwt);
    free(tok);
}

static void test_unlisted_hs_alg_rejected(void **state)
{
    (void)state;
    const char *claims = "{" IDENT ",\"exp\":1700000900}";
    char *t512 = sign_claims(claims, R_JWA_ALG_HS512);
    char *t384 = sign_claims(claims, R_JWA_ALG_HS384);
    assert_int_equal(verify_token(t512, NOW), JWT_INVALID);
    assert_int_equal(verify_token(t384, NOW), JWT_INVALID);
    char *t256 = sign_claims(claims, R_JWA_ALG_HS256);
    jwt_config_t only512 = config(JWT_ALG_HS512);
    assert_int_equal(verify_cfg(&only512, t256, NOW, NULL, NULL), JWT_INVALID);
    free(t512);
    free(t384);
    free(t256);
}

static void test_rs256_rejected(void **state)
{
    (void)state;
    jwk_t *priv = NULL, *pub = NULL;
    jwt_t *jwt = NULL;
    assert_int_equal(r_jwk_init(&priv), RHN_OK);
    assert_int_equal(r_jwk_init(&pub), RHN_OK);
    assert_int_equal(r_jwk_generate_key_pair(priv, pub, R_KEY_TYPE_RSA, 2048, "k1"), RHN_OK);
    assert_int_equal(r_jwt_init(&jwt), RHN_OK);
    assert_int_equal(r_jwt_set_full_claims_json_str(jwt, "{" IDENT ",\"exp\":1700000900}"), RHN_OK);
    assert_int_equal(r_jwt_set_sign_alg(jwt, R_JWA_ALG_RS256), RHN_OK);
    char *tok = r_jwt_serialize_signed(jwt, priv, 0);
    assert_non_null(tok);
    jwt_config_t all = config(JWT_ALG_HS256 | JWT_ALG_HS384 | JWT_ALG_HS512);
    assert_int_equal(verify_cfg(&all, tok, NOW, NULL, NULL), JWT_INVALID);
    r_free(tok);
    r_jwt_free(jwt);
    r_jwk_free(priv);
    r_jwk_free(pub);
}

/* ---- the key is ours alone ---- */

static void test_wrong_secret(void **state)
{
    (void)state;
    char *tok =
        test_jwt_sign(NULL, "{" IDENT ",\"exp\":1700000900}", R_JWA_ALG_HS256, OTHER_SECRET);
    assert_int_equal(verify_token(tok, NOW), JWT_INVALID);
    free(tok);
}

static void test_tampered_payload(void **state)
{
    (void)state;
    char *a = sign_claims("{\"sub\":\"alice\",\"workspaceId\":\"ws-a\"}", R_JWA_ALG_HS256);
    char *b = sign_claims("{\"sub\":\"bob\",\"workspaceId\":\"ws-b\"}", R_JWA_ALG_HS256);
    /* a's header and signature around b's payload. */
    char *a_dot1 = strchr(a, '.'), *a_dot2 = strrchr(a, '.');
    char *b_dot1 = strchr(b, '.'), *b_dot2 = strrchr(b, '.');
    char buf[1024];
    snprintf(buf, sizeof buf, "%.*s%.*s%s", (int)(a_dot1 - a), a, (int)(b_dot2 - b_dot1), b_dot1,
             a_dot2);
    assert_int_equal(verify_token(buf, NOW), JWT_INVALID);
    free(a);
    free(b);
}

static void test_header_key_material_ignored(void **state)
{
    (void)state;
    const char *claims = "{" IDENT ",\"exp\":1700000900}";
    /* The attacker's key, embedded in the header, signed the token. */
    char *k = b64url(OTHER_SECRET);
    char hdr[512];
    snprintf(hdr, sizeof hdr, "{\"jwk\":{\"kty\":\"oct\",\"k\":\"%s\"},\"kid\":\"evil\"}", k);
    char *tok = test_jwt_sign(hdr, claims, R_JWA_ALG_HS256, OTHER_SECRET);
    assert_int_equal(verify_token(tok, NOW), JWT_INVALID);
    free(tok);
    /* jku and x5u name URLs that are never fetched: with our secret the token
     * verifies; with another secret it fails. */
    const char *remote = "{\"jku\":\"http://127.0.0.1:9/jwks\",\"x5u\":\"http://127.0.0.1:9/c\","
                         "\"kid\":\"k\"}";
    tok = test_jwt_sign(remote, claims, R_JWA_ALG_HS256, SECRET);
    assert_int_equal(verify_token(tok, NOW), JWT_OK);
    free(tok);
    tok = test_jwt_sign(remote, claims, R_JWA_ALG_HS256, OTHER_SECRET);
    assert_int_equal(verify_token(tok, NOW), JWT_INVALID);
    free(tok);
    free(k);
}

static void test_zip_and_crit_headers_rejected(void **state)
{
    (void)state;
    const char *claims = "{" IDENT ",\"exp\":1700000900}";
    char *tok = test_jwt_sign("{\"zip\":\"DEF\"}", claims, R_JWA_ALG_HS256, SECRET);
    assert_int_equal(verify_token(tok, NOW), JWT_INVALID);
    free(tok);
    tok = test_jwt_sign("{\"crit\":[\"exp\"]}", claims, R_JWA_ALG_HS256, SECRET);
    assert_int_equal(verify_token(tok, NOW), JWT_INVALID);
    free(tok);
}

/* ---- time ---- */

static jwt_status_t verify_times(const char *times, time_t now)
{
    char claims[512];
    snprintf(claims, sizeof claims, "{" IDENT "%s}", times);
    char *tok = sign_claims(claims, R_JWA_ALG_HS256);
    jwt_status_t st = verify_token(tok, now);
    free(tok);
    return st;
}

static void test_exp(void **state)
{
    (void)state;
    assert_int_equal(verify_times(",\"exp\":1700000000", NOW), JWT_OK);
    assert_int_equal(verify_times(",\"exp\":1700000000", NOW + LEEWAY), JWT_OK);
    assert_int_equal(verify_times(",\"exp\":1700000000", NOW + LEEWAY + 1), JWT_EXPIRED);
    assert_int_equal(verify_times(",\"exp\":1600000000", NOW), JWT_EXPIRED);
    assert_int_equal(verify_times(",\"exp\":0", NOW), JWT_EXPIRED);
    assert_int_equal(verify_times(",\"exp\":-5", NOW), JWT_EXPIRED);
}

static void test_exp_fractional_and_huge(void **state)
{
    (void)state;
    assert_int_equal(verify_times(",\"exp\":1700000000.9", NOW + LEEWAY), JWT_OK);
    assert_int_equal(verify_times(",\"exp\":1700000000.9", NOW + LEEWAY + 1), JWT_EXPIRED);
    char *tok = sign_claims("{\"sub\":\"u\",\"exp\":9223372036854775807}", R_JWA_ALG_HS256);
    jwt_config_t cfg = config(JWT_ALG_HS256);
    time_t exp = 0;
    assert_int_equal(verify_cfg(&cfg, tok, NOW, NULL, &exp), JWT_OK);
    assert_true(exp > NOW && exp <= (time_t)1 << 48); /* clamped, room to add leeway */
    free(tok);
    assert_int_equal(verify_times(",\"exp\":1e300", NOW), JWT_OK);
}

static void test_nbf(void **state)
{
    (void)state;
    assert_int_equal(verify_times(",\"nbf\":1700000000", NOW), JWT_OK);
    assert_int_equal(verify_times(",\"nbf\":1700000030", NOW), JWT_OK);
    assert_int_equal(verify_times(",\"nbf\":1700000031", NOW), JWT_INVALID);
    assert_int_equal(verify_times(",\"nbf\":1700000030.5", NOW), JWT_INVALID);
    assert_int_equal(verify_times(",\"nbf\":1800000000,\"exp\":1800000100", NOW), JWT_INVALID);
}

static void test_non_numeric_times(void **state)
{
    (void)state;
    const char *bad[] = {",\"exp\":\"1700000900\"", ",\"exp\":true", ",\"exp\":null", ",\"exp\":{}",
                         ",\"nbf\":\"1\"",          ",\"nbf\":[1]",  ",\"nbf\":false"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(verify_times(bad[i], NOW), JWT_INVALID);
}

static void test_expired_and_invalid_prefers_invalid(void **state)
{
    (void)state;
    /* No sub and long expired: never a login token, so INVALID not EXPIRED. */
    char *tok = sign_claims("{\"exp\":1600000000}", R_JWA_ALG_HS256);
    assert_int_equal(verify_token(tok, NOW), JWT_INVALID);
    free(tok);
    /* Expired and signed with another key: INVALID. */
    tok = test_jwt_sign(NULL, "{\"sub\":\"u\",\"exp\":1600000000}", R_JWA_ALG_HS256, OTHER_SECRET);
    assert_int_equal(verify_token(tok, NOW), JWT_INVALID);
    free(tok);
}

/* ---- subject, issuer, audience ---- */

static void test_sub_required(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"sessionId\":\"s\",\"email\":\"e@x\",\"exp\":1700000900}", /* better-auth's others */
        "{\"sub\":\"\"}",
        "{\"sub\":null}",
        "{\"sub\":42}",
        "{\"sub\":[\"u\"]}",
        "{\"sub\":{\"id\":\"u\"}}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(verify_claims(bad[i]), JWT_INVALID);
}

static jwt_status_t verify_iss_aud(const char *issuer, const char *audience,
                                   const char *claims_json)
{
    char *tok = sign_claims(claims_json, R_JWA_ALG_HS256);
    jwt_config_t cfg = config(JWT_ALG_HS256);
    cfg.issuer = issuer;
    cfg.audience = audience;
    jwt_status_t st = verify_cfg(&cfg, tok, NOW, NULL, NULL);
    free(tok);
    return st;
}

static void test_issuer(void **state)
{
    (void)state;
    const char *iss = "https://app.example.com";
    assert_int_equal(
        verify_iss_aud(iss, NULL, "{\"sub\":\"u\",\"iss\":\"https://app.example.com\"}"), JWT_OK);
    assert_int_equal(verify_iss_aud(iss, NULL, "{\"sub\":\"u\",\"iss\":\"https://evil.example\"}"),
                     JWT_INVALID);
    assert_int_equal(verify_iss_aud(iss, NULL, "{\"sub\":\"u\"}"), JWT_INVALID);
    assert_int_equal(
        verify_iss_aud(iss, NULL, "{\"sub\":\"u\",\"iss\":[\"https://app.example.com\"]}"),
        JWT_INVALID);
    assert_int_equal(
        verify_iss_aud(iss, NULL, "{\"sub\":\"u\",\"iss\":\"https://app.example.com\\u0000x\"}"),
        JWT_INVALID);
    /* Not configured: iss is not looked at. */
    assert_int_equal(verify_iss_aud(NULL, NULL, "{\"sub\":\"u\",\"iss\":\"anything\"}"), JWT_OK);
}

static void test_audience(void **state)
{
    (void)state;
    const char *aud = "agentos";
    assert_int_equal(verify_iss_aud(NULL, aud, "{\"sub\":\"u\",\"aud\":\"agentos\"}"), JWT_OK);
    assert_int_equal(verify_iss_aud(NULL, aud, "{\"sub\":\"u\",\"aud\":[\"web\",\"agentos\"]}"),
                     JWT_OK);
    assert_int_equal(verify_iss_aud(NULL, aud, "{\"sub\":\"u\",\"aud\":[\"web\",1]}"), JWT_INVALID);
    assert_int_equal(verify_iss_aud(NULL, aud, "{\"sub\":\"u\",\"aud\":[]}"), JWT_INVALID);
    assert_int_equal(verify_iss_aud(NULL, aud, "{\"sub\":\"u\",\"aud\":\"agentos2\"}"),
                     JWT_INVALID);
    assert_int_equal(verify_iss_aud(NULL, aud, "{\"sub\":\"u\"}"), JWT_INVALID);
    assert_int_equal(verify_iss_aud(NULL, aud, "{\"sub\":\"u\",\"aud\":{\"agentos\":1}}"),
                     JWT_INVALID);
    assert_int_equal(verify_iss_aud("i", aud, "{\"sub\":\"u\",\"iss\":\"i\",\"aud\":\"agentos\"}"),
                     JWT_OK);
    assert_int_equal(verify_iss_aud(NULL, NULL, "{\"sub\":\"u\",\"aud\":42}"), JWT_OK);
}

/* ---- claim types and sizes ---- */

static void test_claims_not_strings(void **state)
{
    (void)state;
    const char *bad[] = {",\"workspaceId\":42", ",\"workspaceId\":[\"ws\"]", ",\"sessionId\":7",
                         ",\"email\":{}", ",\"name\":true"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char claims[256];
        snprintf(claims, sizeof claims, "{\"sub\":\"u\"%s}", bad[i]);
        assert_int_equal(verify_claims(claims), JWT_INVALID);
    }
}

static void test_null_optional_claims_are_absent(void **state)
{
    (void)state;
    char *tok = sign_claims("{\"sub\":\"u\",\"workspaceId\":null,\"email\":null,\"name\":null,"
                            "\"sessionId\":null}",
                            R_JWA_ALG_HS256);
    jwt_config_t cfg = config(JWT_ALG_HS256);
    auth_tenant_t t;
    assert_int_equal(verify_cfg(&cfg, tok, NOW, &t, NULL), JWT_OK);
    assert_string_equal(t.workspace_id, "");
    assert_string_equal(t.email, "");
    free(tok);
}

static void test_embedded_nul_rejected(void **state)
{
    (void)state;
    assert_int_equal(verify_claims("{\"sub\":\"u\",\"workspaceId\":\"ws-a\\u0000ws-b\"}"),
                     JWT_INVALID);
    assert_int_equal(verify_claims("{\"sub\":\"u\\u0000\"}"), JWT_INVALID);
}

static jwt_status_t verify_claim_of_len(const char *key, size_t n)
{
    char *val = malloc(n + 1);
    memset(val, 'v', n);
    val[n] = '\0';
    size_t cap = n + 128;
    char *claims = malloc(cap);
    if (strcmp(key, "sub") == 0)
        snprintf(claims, cap, "{\"sub\":\"%s\"}", val);
    else
        snprintf(claims, cap, "{\"sub\":\"u\",\"%s\":\"%s\"}", key, val);
    jwt_status_t st = verify_claims(claims);
    free(claims);
    free(val);
    return st;
}

static void test_claim_lengths(void **state)
{
    (void)state;
    /* The id rule: at most 128 bytes. */
    const char *ids[] = {"sub", "sessionId", "workspaceId"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(verify_claim_of_len(ids[i], 128), JWT_OK);
        assert_int_equal(verify_claim_of_len(ids[i], 129), JWT_INVALID);
    }
    /* Display claims are cut, never a reason to refuse a login. */
    const char *texts[] = {"email", "name"};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(verify_claim_of_len(texts[i], AUTH_TEXT_MAX - 1), JWT_OK);
        assert_int_equal(verify_claim_of_len(texts[i], AUTH_TEXT_MAX), JWT_OK);
        assert_int_equal(verify_claim_of_len(texts[i], 4000), JWT_OK);
    }
}

/* The tenant a token maps to (JWT_OK expected). */
static auth_tenant_t tenant_of_claims(const char *claims_json)
{
    char *tok = sign_claims(claims_json, R_JWA_ALG_HS256);
    jwt_config_t cfg = config(JWT_ALG_HS256);
    auth_tenant_t t;
    assert_int_equal(verify_cfg(&cfg, tok, NOW, &t, NULL), JWT_OK);
    free(tok);
    return t;
}

static void test_long_name_truncated_at_utf8_boundary(void **state)
{
    (void)state;
    /* 300 ASCII bytes: the first 255 kept. */
    char *claims = malloc(8192);
    char val[1024];
    memset(val, 'n', 300);
    val[300] = '\0';
    snprintf(claims, 8192, "{\"sub\":\"u\",\"name\":\"%s\",\"email\":\"%s@x.example\"}", val, val);
    auth_tenant_t t = tenant_of_claims(claims);
    assert_int_equal(strlen(t.name), AUTH_TEXT_MAX - 1);
    assert_memory_equal(t.name, val, AUTH_TEXT_MAX - 1);
    assert_int_equal(strlen(t.email), AUTH_TEXT_MAX - 1);
    /* 200 two-byte characters (400 bytes): 255 would split one, so 254. */
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        n += (size_t)sprintf(val + n, "\xc3\xa9");
    snprintf(claims, 8192, "{\"sub\":\"u\",\"name\":\"%s\"}", val);
    t = tenant_of_claims(claims);
    assert_int_equal(strlen(t.name), 254);
    assert_memory_equal(t.name, val, 254);
    /* A three-byte character across the cut: the cut moves before it. */
    n = (size_t)sprintf(val, "%0253d", 0);
    sprintf(val + n, "\xe2\x82\xactail");
    snprintf(claims, 8192, "{\"sub\":\"u\",\"name\":\"%s\"}", val);
    t = tenant_of_claims(claims);
    assert_int_equal(strlen(t.name), 253);
    free(claims);
}

/* sub, sessionId and workspaceId follow the id rule: printable, no control
 * characters (they reach outgoing headers, log lines and queries). */
static void test_id_claims_follow_the_id_rule(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"sub\":\"u\",\"workspaceId\":\"ws-a\\r\\nX-Workspace-Id: ws-b\"}",
        "{\"sub\":\"u\\nx\"}",
        "{\"sub\":\"u\\u0001\"}",
        "{\"sub\":\"u\\u007f\"}",
        "{\"sub\":\"u\\u0085\"}",
        "{\"sub\":\"u\",\"sessionId\":\"s\\tt\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(verify_claims(bad[i]), JWT_INVALID);
    auth_tenant_t t = tenant_of_claims("{\"sub\":\"user 1 \\u00e9\",\"workspaceId\":\"org_X.1\"}");
    assert_string_equal(t.user_id, "user 1 \xc3\xa9");
    assert_string_equal(t.workspace_id, "org_X.1");
}

static void test_failure_clears_output(void **state)
{
    (void)state;
    char *tok = test_jwt_sign(NULL, "{\"sub\":\"u\"}", R_JWA_ALG_HS256, OTHER_SECRET);
    jwt_config_t cfg = config(JWT_ALG_HS256);
    auth_tenant_t t;
    memset(&t, 'Z', sizeof t);
    time_t exp = 99;
    assert_int_equal(verify_cfg(&cfg, tok, NOW, &t, &exp), JWT_INVALID);
    assert_int_equal(t.authenticated, 0);
    assert_string_equal(t.user_id, "");
    assert_int_equal(exp, 0);
    free(tok);
    /* Claims that pass the mapping but then expire leave nothing behind either. */
    tok = sign_claims("{\"sub\":\"u\",\"exp\":1600000000}", R_JWA_ALG_HS256);
    memset(&t, 'Z', sizeof t);
    assert_int_equal(verify_cfg(&cfg, tok, NOW, &t, &exp), JWT_EXPIRED);
    assert_int_equal(t.authenticated, 0);
    assert_string_equal(t.user_id, "");
    free(tok);
}

/* ---- minting ---- */

static int uuid_like(const char *s)
{
    if (strlen(s) != 36 || s[14] != '4')
        return 0;
    for (size_t i = 0; i < 36; i++) {
        int hyphen = i == 8 || i == 13 || i == 18 || i == 23;
        if (hyphen != (s[i] == '-'))
            return 0;
        if (!hyphen && !strchr("0123456789abcdef", s[i]))
            return 0;
    }
    return 1;
}

static void test_mint_then_verify(void **state)
{
    (void)state;
    char *tok = jwt_mint_hs256((const unsigned char *)SECRET, strlen(SECRET), "user-9", "ws-9",
                               "u9@example.com", "Nine", 900, NOW);
    assert_non_null(tok);
    jwt_config_t cfg = config(JWT_ALG_HS256);
    auth_tenant_t t;
    time_t exp = 0;
    assert_int_equal(verify_cfg(&cfg, tok, NOW, &t, &exp), JWT_OK);
    assert_string_equal(t.user_id, "user-9");
    assert_string_equal(t.workspace_id, "ws-9");
    assert_string_equal(t.email, "u9@example.com");
    assert_string_equal(t.name, "Nine");
    assert_true(uuid_like(t.session_id));
    assert_int_equal(exp, NOW + 900);
    assert_int_equal(verify_cfg(&cfg, tok, NOW + 900 + LEEWAY + 1, &t, NULL), JWT_EXPIRED);
    jwt_config_t other = cfg;
    other.secret = (const unsigned char *)OTHER_SECRET;
    other.secret_len = strlen(OTHER_SECRET);
    assert_int_equal(verify_cfg(&other, tok, NOW, &t, NULL), JWT_INVALID);
    free(tok);
}

static void test_mint_omits_optional_claims(void **state)
{
    (void)state;
    char *tok = jwt_mint_hs256((const unsigned char *)SECRET, strlen(SECRET), "u", "", "e@x", NULL,
                               60, NOW);
    assert_non_null(tok);
    jwt_t *jwt = NULL;
    assert_int_equal(r_jwt_init(&jwt), RHN_OK);
    assert_int_equal(r_jwt_advanced_parsen(jwt, tok, strlen(tok), R_PARSE_NONE, 0), RHN_OK);
    assert_int_equal(r_jwt_get_sign_alg(jwt), R_JWA_ALG_HS256);
    assert_null(r_jwt_get_claim_str_value(jwt, "workspaceId"));
    assert_null(r_jwt_get_claim_str_value(jwt, "name"));
    assert_string_equal(r_jwt_get_claim_str_value(jwt, "email"), "e@x");
    assert_int_equal(r_jwt_get_claim_int_value(jwt, "iat"), NOW);
    assert_int_equal(r_jwt_get_claim_int_value(jwt, "exp"), NOW + 60);
    r_jwt_free(jwt);
    free(tok);
    tok = jwt_mint_hs256((const unsigned char *)SECRET, strlen(SECRET), "u", NULL, NULL, NULL, 60,
                         NOW);
    assert_non_null(tok);
    assert_int_equal(verify_token(tok, NOW), JWT_OK);
    free(tok);
}

static void test_mint_session_ids_differ(void **state)
{
    (void)state;
    jwt_config_t cfg = config(JWT_ALG_HS256);
    auth_tenant_t a, b;
    char *t1 = jwt_mint_hs256((const unsigned char *)SECRET, strlen(SECRET), "u", NULL, NULL, NULL,
                              60, NOW);
    char *t2 = jwt_mint_hs256((const unsigned char *)SECRET, strlen(SECRET), "u", NULL, NULL, NULL,
                              60, NOW);
    assert_int_equal(verify_cfg(&cfg, t1, NOW, &a, NULL), JWT_OK);
    assert_int_equal(verify_cfg(&cfg, t2, NOW, &b, NULL), JWT_OK);
    assert_string_not_equal(a.session_id, b.session_id);
    free(t1);
    free(t2);
}

static void test_mint_rejects_bad_arguments(void **state)
{
    (void)state;
    const unsigned char *s = (const unsigned char *)SECRET;
    size_t n = strlen(SECRET);
    assert_null(jwt_mint_hs256(NULL, n, "u", NULL, NULL, NULL, 60, NOW));
    assert_null(jwt_mint_hs256(s, 0, "u", NULL, NULL, NULL, 60, NOW));
    assert_null(jwt_mint_hs256(s, n, NULL, NULL, NULL, NULL, 60, NOW));
    assert_null(jwt_mint_hs256(s, n, "", NULL, NULL, NULL, 60, NOW));
    assert_null(jwt_mint_hs256(s, n, "u", NULL, NULL, NULL, 0, NOW));
    assert_null(jwt_mint_hs256(s, n, "u", NULL, NULL, NULL, -5, NOW));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_algorithms_parse),
        cmocka_unit_test(test_algorithms_parse_rejects),
        cmocka_unit_test(test_verifier_new_rejects_bad_config),
        cmocka_unit_test(test_verify_null_arguments),
        cmocka_unit_test(test_valid_token_maps_claims),
        cmocka_unit_test(test_valid_token_without_workspace),
        cmocka_unit_test(test_only_sub_is_required),
        cmocka_unit_test(test_hs384_and_hs512_when_allowed),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_oversized_garbage),
        cmocka_unit_test(test_malformed_shapes),
        cmocka_unit_test(test_bad_base64),
        cmocka_unit_test(test_header_not_json_object),
        cmocka_unit_test(test_claims_not_json_object),
        cmocka_unit_test(test_alg_none_rejected),
        cmocka_unit_test(test_rhonabwy_refuses_unsigned_at_parse),
        cmocka_unit_test(test_unlisted_hs_alg_rejected),
        cmocka_unit_test(test_rs256_rejected),
        cmocka_unit_test(test_wrong_secret),
        cmocka_unit_test(test_tampered_payload),
        cmocka_unit_test(test_header_key_material_ignored),
        cmocka_unit_test(test_zip_and_crit_headers_rejected),
        cmocka_unit_test(test_exp),
        cmocka_unit_test(test_exp_fractional_and_huge),
        cmocka_unit_test(test_nbf),
        cmocka_unit_test(test_non_numeric_times),
        cmocka_unit_test(test_expired_and_invalid_prefers_invalid),
        cmocka_unit_test(test_sub_required),
        cmocka_unit_test(test_issuer),
        cmocka_unit_test(test_audience),
        cmocka_unit_test(test_claims_not_strings),
        cmocka_unit_test(test_null_optional_claims_are_absent),
        cmocka_unit_test(test_embedded_nul_rejected),
        cmocka_unit_test(test_claim_lengths),
        cmocka_unit_test(test_long_name_truncated_at_utf8_boundary),
        cmocka_unit_test(test_id_claims_follow_the_id_rule),
        cmocka_unit_test(test_failure_clears_output),
        cmocka_unit_test(test_mint_then_verify),
        cmocka_unit_test(test_mint_omits_optional_claims),
        cmocka_unit_test(test_mint_session_ids_differ),
        cmocka_unit_test(test_mint_rejects_bad_arguments),
    };
    return cmocka_run_group_tests(tests, test_jwt_group_setup, test_jwt_group_teardown);
}
