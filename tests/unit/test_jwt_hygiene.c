/* Token hygiene (issue 10): exp required, the claims mapped by name,
 * better-auth's tokens that are not logins refused, and every refusal
 * named (src/auth/jwt_reason.c, jwt_claims.c, jwt_identity.c) and logged at
 * debug with a fingerprint, never the token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <rhonabwy.h>

#include "auth/jwt.h"
#include "auth/jwt_claims.h"
#include "core/log.h"
#include "test_jwt_support.h"

#define SECRET "0123456789abcdef0123456789abcdef-test"
#define OTHER_SECRET "another-secret-another-secret-0000"
#define NOW 1700000000L
#define LEEWAY 30L
#define EXP ",\"exp\":1700000900"
#define ORIGIN "https://app.example.com"

static jwt_config_t config(int require_exp)
{
    jwt_config_t cfg = {.secret = (const unsigned char *)SECRET,
                        .secret_len = strlen(SECRET),
                        .algorithms = JWT_ALG_HS256,
                        .leeway_s = LEEWAY,
                        .require_exp = require_exp};
    return cfg;
}

typedef struct outcome {
    jwt_status_t st;
    jwt_refusal_t why;
    char text[128];
    auth_tenant_t t;
    time_t exp;
} outcome_t;

static outcome_t verify_with(const jwt_config_t *cfg, const char *header, const char *payload)
{
    outcome_t o;
    memset(&o, 0, sizeof o);
    char *tok = test_jwt_sign(header, payload, R_JWA_ALG_HS256, SECRET);
    jwt_verifier_t *v = jwt_verifier_new(cfg);
    assert_non_null(v);
    o.st = jwt_verify_why(v, tok, strlen(tok), NOW, &o.t, &o.exp, &o.why);
    jwt_refusal_text(&o.why, o.text, sizeof o.text);
    jwt_verifier_free(v);
    free(tok);
    return o;
}

static outcome_t verify(const char *header, const char *payload)
{
    jwt_config_t cfg = config(1);
    return verify_with(&cfg, header, payload);
}

static void assert_refused(const outcome_t *o, jwt_status_t st, const char *text)
{
    assert_int_equal(o->st, st);
    assert_string_equal(o->text, text);
    assert_int_equal(o->t.authenticated, 0);
    assert_string_equal(o->t.user_id, "");
}

/* ---- exp ---- */

static void test_exp_missing_refused_when_required(void **state)
{
    (void)state;
    outcome_t o = verify(NULL, "{\"sub\":\"u\"}");
    assert_refused(&o, JWT_INVALID, "exp missing");
    o = verify(NULL, "{\"sub\":\"u\"" EXP "}");
    assert_int_equal(o.st, JWT_OK);
    assert_int_equal(o.exp, 1700000900);
}

static void test_exp_missing_accepted_when_not_required(void **state)
{
    (void)state;
    jwt_config_t cfg = config(0);
    outcome_t o = verify_with(&cfg, NULL, "{\"sub\":\"u\"}");
    assert_int_equal(o.st, JWT_OK);
    assert_int_equal(o.exp, 0);
    assert_int_equal(o.why.reason, JWT_REASON_NONE);
}

/* ---- reasons ---- */

static void test_each_refusal_is_named(void **state)
{
    (void)state;
    outcome_t o = verify(NULL, "{\"sub\":\"u\",\"exp\":1000}");
    assert_refused(&o, JWT_EXPIRED, "expired");
    o = verify(NULL, "{\"sub\":\"u\",\"exp\":\"soon\"}");
    assert_refused(&o, JWT_INVALID, "exp not a number");
    o = verify(NULL, "{\"sub\":\"u\",\"nbf\":1800000000" EXP "}");
    assert_refused(&o, JWT_INVALID, "not valid yet (nbf)");
    o = verify(NULL, "{\"sub\":\"u\",\"workspaceId\":42" EXP "}");
    assert_refused(&o, JWT_INVALID, "workspaceId not a string");
    o = verify(NULL, "{\"sub\":\"u\",\"sessionId\":\"a\\u0001b\"" EXP "}");
    assert_refused(&o, JWT_INVALID, "sessionId not a valid id");
    o = verify(NULL, "{\"sub\":\"\"" EXP "}");
    assert_refused(&o, JWT_INVALID, "sub missing");
    o = verify(NULL, "{\"sub\":\"u\",\"email\":[]" EXP "}");
    assert_refused(&o, JWT_INVALID, "email not a string");
    o = verify(NULL, "[1,2]");
    assert_int_equal(o.st, JWT_INVALID);
    assert_true(o.why.reason == JWT_REASON_PAYLOAD || o.why.reason == JWT_REASON_PARSE);
}

static void test_header_and_signature_refusals_are_named(void **state)
{
    (void)state;
    jwt_config_t cfg = config(1);
    jwt_verifier_t *v = jwt_verifier_new(&cfg);
    auth_tenant_t t;
    jwt_refusal_t why;
    char text[128];
    char *other = test_jwt_sign(NULL, "{\"sub\":\"u\"" EXP "}", R_JWA_ALG_HS256, OTHER_SECRET);
    assert_int_equal(jwt_verify_why(v, other, strlen(other), NOW, &t, NULL, &why), JWT_INVALID);
    jwt_refusal_text(&why, text, sizeof text);
    assert_string_equal(text, "bad signature");
    const char *hs512 = "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ1In0.c2ln"; /* {"alg":"HS512"} */
    assert_int_equal(jwt_verify_why(v, hs512, strlen(hs512), NOW, &t, NULL, &why), JWT_INVALID);
    jwt_refusal_text(&why, text, sizeof text);
    assert_string_equal(text, "alg not allowed");
    assert_int_equal(jwt_verify_why(v, "a.b", 3, NOW, &t, NULL, &why), JWT_INVALID);
    assert_int_equal(why.reason, JWT_REASON_SHAPE);
    assert_int_equal(jwt_verify_why(v, "", 0, NOW, &t, NULL, &why), JWT_INVALID);
    assert_int_equal(why.reason, JWT_REASON_SIZE);
    char *zip =
        test_jwt_sign("{\"zip\":\"DEF\"}", "{\"sub\":\"u\"" EXP "}", R_JWA_ALG_HS256, SECRET);
    assert_int_equal(jwt_verify_why(v, zip, strlen(zip), NOW, &t, NULL, &why), JWT_INVALID);
    assert_int_equal(why.reason, JWT_REASON_HEADER);
    free(zip);
    free(other);
    jwt_verifier_free(v);
}

static void test_iss_and_aud_refusals_are_named(void **state)
{
    (void)state;
    jwt_config_t cfg = config(1);
    cfg.issuer = ORIGIN;
    cfg.audience = ORIGIN;
    outcome_t o =
        verify_with(&cfg, NULL, "{\"sub\":\"u\",\"iss\":\"x\",\"aud\":\"" ORIGIN "\"" EXP "}");
    assert_refused(&o, JWT_INVALID, "iss not the configured issuer");
    o = verify_with(&cfg, NULL, "{\"sub\":\"u\",\"iss\":\"" ORIGIN "\",\"aud\":\"x\"" EXP "}");
    assert_refused(&o, JWT_INVALID, "aud not the configured audience");
}

/* ---- claim mapping ---- */

static void test_workspace_and_session_claims_are_configurable(void **state)
{
    (void)state;
    jwt_config_t cfg = config(1);
    cfg.workspace_claim = "activeOrganizationId";
    cfg.session_claim = "sid";
    outcome_t o = verify_with(&cfg, NULL,
                              "{\"sub\":\"u\",\"activeOrganizationId\":\"org-7\",\"sid\":\"s-1\","
                              "\"workspaceId\":\"ignored\",\"sessionId\":\"ignored\"" EXP "}");
    assert_int_equal(o.st, JWT_OK);
    assert_string_equal(o.t.workspace_id, "org-7");
    assert_string_equal(o.t.session_id, "s-1");
    /* better-auth writes null for a user with no active organization */
    o = verify_with(&cfg, NULL, "{\"sub\":\"u\",\"activeOrganizationId\":null" EXP "}");
    assert_int_equal(o.st, JWT_OK);
    assert_string_equal(o.t.workspace_id, "");
    o = verify_with(&cfg, NULL, "{\"sub\":\"u\",\"activeOrganizationId\":{}" EXP "}");
    assert_refused(&o, JWT_INVALID, "activeOrganizationId not a string");
}

static void test_default_claims_are_the_seeds(void **state)
{
    (void)state;
    outcome_t o =
        verify(NULL, "{\"sub\":\"u\",\"workspaceId\":\"ws-1\",\"sessionId\":\"s-1\"" EXP "}");
    assert_int_equal(o.st, JWT_OK);
    assert_string_equal(o.t.workspace_id, "ws-1");
    assert_string_equal(o.t.session_id, "s-1");
}

/* ---- better-auth's tokens that are not logins ---- */

/* createEmailVerificationToken (packages/better-auth/src/api/routes/
 * email-verification.ts): signJWT({email, updateTo, ...extra}) under the
 * same secret, header {alg: HS256}. */
static void test_email_verification_token_refused(void **state)
{
    (void)state;
    outcome_t o =
        verify("{\"typ\":\"JWT\"}",
               "{\"email\":\"ann@example.com\",\"updateTo\":\"new@example.com\","
               "\"requestType\":\"change-email-verification\",\"iat\":1699999000" EXP "}");
    assert_refused(&o, JWT_INVALID, "sub missing");
    o = verify(NULL, "{\"email\":\"ann@example.com\",\"iat\":1699999000" EXP "}");
    assert_refused(&o, JWT_INVALID, "sub missing");
}

/* The "jwt" cookie cache without the jwt() plugin (cookies/index.ts,
 * setCookieCache): signJWT({session, user, updatedAt, version}). */
static void test_secret_cookie_cache_refused(void **state)
{
    (void)state;
    outcome_t o = verify(NULL, "{\"session\":{\"id\":\"s\",\"userId\":\"u\"},\"user\":{\"id\":"
                               "\"u\",\"email\":\"a@b\"},\"updatedAt\":1699999000000,"
                               "\"version\":\"1\"" EXP "}");
    assert_refused(&o, JWT_INVALID, "sub missing");
}

/* The plugin's cookie cache (plugins/jwt/cookie-cache.ts): a sub, an iss,
 * but typ better-auth.session-cache+jwt and aud better-auth:session-cache. */
static void test_plugin_cookie_cache_refused(void **state)
{
    (void)state;
    const char *body = "{\"sub\":\"u\",\"sid\":\"tok\",\"iss\":\"" ORIGIN
                       "\",\"aud\":\"better-auth:session-cache\"" EXP "}";
    outcome_t o = verify("{\"typ\":\"better-auth.session-cache+jwt\"}", body);
    assert_refused(&o, JWT_INVALID, "typ not a login token");
    o = verify(NULL, body); /* even without its typ, and with no audience configured */
    assert_refused(&o, JWT_INVALID, "aud is better-auth's session cookie cache");
    o = verify(NULL, "{\"sub\":\"u\",\"aud\":[\"x\",\"better-auth:session-cache\"]" EXP "}");
    assert_refused(&o, JWT_INVALID, "aud is better-auth's session cookie cache");
}

static void test_login_typs(void **state)
{
    (void)state;
    const char *ok[] = {"{\"typ\":\"JWT\"}", "{\"typ\":\"jwt\"}", "{\"typ\":\"at+jwt\"}",
                        "{\"typ\":\"application/at+JWT\"}", "{\"typ\":\"application/jwt\"}"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        outcome_t o = verify(ok[i], "{\"sub\":\"u\"" EXP "}");
        assert_int_equal(o.st, JWT_OK);
    }
    const char *bad[] = {"{\"typ\":\"logout+jwt\"}", "{\"typ\":\"JWTX\"}",
                         "{\"typ\":\"\"}",           "{\"typ\":1}",
                         "{\"typ\":null}",           "{\"typ\":\"JW\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        outcome_t o = verify(bad[i], "{\"sub\":\"u\"" EXP "}");
        assert_refused(&o, JWT_INVALID, "typ not a login token");
    }
}

/* ---- the shared rules ---- */

static void test_rules_user_defaults_iss_aud_for_jwks_tokens_only(void **state)
{
    (void)state;
    jwt_config_t cfg = config(1);
    cfg.better_auth_origin = ORIGIN;
    jwt_claim_rules_t r;
    jwt_claim_rules_user(&cfg, 1, &r);
    assert_string_equal(r.issuer, ORIGIN);
    assert_string_equal(r.audience, ORIGIN);
    assert_true(r.require_exp && r.require_sub && r.login);
    assert_string_equal(r.workspace_claim, "workspaceId");
    assert_string_equal(r.session_claim, "sessionId");
    jwt_claim_rules_user(&cfg, 0, &r);
    assert_null(r.issuer);
    assert_null(r.audience);
    cfg.issuer = "https://issuer.example";
    cfg.audience = "api";
    jwt_claim_rules_user(&cfg, 1, &r);
    assert_string_equal(r.issuer, "https://issuer.example");
    assert_string_equal(r.audience, "api");
    /* the seed's HS256 token, no iss or aud, passes with BETTER_AUTH_URL set */
    cfg = config(1);
    cfg.better_auth_origin = ORIGIN;
    outcome_t o = verify_with(&cfg, NULL, "{\"sub\":\"u\"" EXP "}");
    assert_int_equal(o.st, JWT_OK);
}

static void test_claims_check_directly(void **state)
{
    (void)state;
    jwt_config_t cfg = config(1);
    cfg.better_auth_origin = ORIGIN;
    jwt_claim_rules_t r;
    jwt_claim_rules_user(&cfg, 1, &r);
    json_t *h = json_pack("{s:s, s:s}", "alg", "EdDSA", "kid", "k1");
    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:I}", "sub", "u", "workspaceId", "ws", "iss",
                          ORIGIN, "aud", ORIGIN, "exp", (json_int_t)NOW + 60);
    auth_tenant_t t;
    time_t exp = 0;
    jwt_refusal_t why;
    assert_int_equal(jwt_claims_check(h, c, &r, NOW, &t, &exp, &why), JWT_OK);
    assert_int_equal(t.authenticated, 1);
    assert_string_equal(t.workspace_id, "ws");
    assert_int_equal(exp, NOW + 60);
    json_object_del(c, "iss");
    assert_int_equal(jwt_claims_check(h, c, &r, NOW, &t, &exp, &why), JWT_INVALID);
    assert_int_equal(why.reason, JWT_REASON_ISS);
    assert_int_equal(t.authenticated, 0);
    assert_int_equal(exp, 0);
    assert_int_equal(jwt_claims_check(h, c, NULL, NOW, &t, &exp, &why), JWT_INVALID);
    json_decref(c);
    json_decref(h);
}

/* ---- the debug line ---- */

/* Runs fn with stderr sent to a file; returns what it wrote (malloc'd). */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
    char path[] = "/tmp/agentos-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    fn(arg);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    off_t n = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)n + 1);
    assert_int_equal(pread(fd, buf, (size_t)n, 0), n);
    close(fd);
    unlink(path);
    return buf;
}

static void verify_logged(void *arg)
{
    const char *tok = arg;
    jwt_config_t cfg = config(1);
    jwt_verifier_t *v = jwt_verifier_new(&cfg);
    auth_tenant_t t;
    assert_int_equal(jwt_verify(v, tok, strlen(tok), NOW, &t, NULL), JWT_INVALID);
    jwt_verifier_free(v);
}

static void test_refusal_logged_at_debug_without_the_token(void **state)
{
    (void)state;
    char *tok =
        test_jwt_sign(NULL, "{\"sub\":\"user-secret-id\"}", R_JWA_ALG_HS256, SECRET); /* no exp */
    log_set_level(LOG_LEVEL_DEBUG);
    char *out = capture_stderr(verify_logged, tok);
    log_set_level(LOG_LEVEL_INFO);
    char fp[JWT_FINGERPRINT_LEN];
    jwt_fingerprint(tok, strlen(tok), fp);
    assert_non_null(strstr(out, "\"msg\":\"token refused: exp missing\""));
    assert_non_null(strstr(out, "\"level\":\"debug\""));
    assert_non_null(strstr(out, fp));
    /* no part of the token: not its payload, signature or the claim values */
    const char *dot2 = strrchr(tok, '.');
    assert_null(strstr(out, dot2 + 1));
    assert_null(strstr(out, strchr(tok, '.') + 1));
    assert_null(strstr(out, "user-secret-id"));
    assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out)); /* one line */
    free(out);
    out = capture_stderr(verify_logged, tok); /* at info: nothing */
    assert_string_equal(out, "");
    free(out);
    free(tok);
}

static void test_fingerprint(void **state)
{
    (void)state;
    char fp[JWT_FINGERPRINT_LEN];
    jwt_fingerprint("abc", 3, fp);
    assert_string_equal(fp, "ba7816bf"); /* SHA-256("abc") = ba7816bf 8f01cfea ... */
    jwt_fingerprint(NULL, 0, fp);
    assert_int_equal(strlen(fp), 8);
    jwt_refusal_t why = {JWT_REASON_MISSING, "exp"};
    char text[8];
    jwt_refusal_text(&why, text, sizeof text);
    assert_string_equal(text, "exp mis"); /* cut, still terminated */
    jwt_refusal_text(NULL, text, sizeof text);
    assert_string_equal(text, "no reas");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp_missing_refused_when_required),
        cmocka_unit_test(test_exp_missing_accepted_when_not_required),
        cmocka_unit_test(test_each_refusal_is_named),
        cmocka_unit_test(test_header_and_signature_refusals_are_named),
        cmocka_unit_test(test_iss_and_aud_refusals_are_named),
        cmocka_unit_test(test_workspace_and_session_claims_are_configurable),
        cmocka_unit_test(test_default_claims_are_the_seeds),
        cmocka_unit_test(test_email_verification_token_refused),
        cmocka_unit_test(test_secret_cookie_cache_refused),
        cmocka_unit_test(test_plugin_cookie_cache_refused),
        cmocka_unit_test(test_login_typs),
        cmocka_unit_test(test_rules_user_defaults_iss_aud_for_jwks_tokens_only),
        cmocka_unit_test(test_claims_check_directly),
        cmocka_unit_test(test_refusal_logged_at_debug_without_the_token),
        cmocka_unit_test(test_fingerprint),
    };
    return cmocka_run_group_tests(tests, test_jwt_group_setup, test_jwt_group_teardown);
}
