/* JWT verification (the HS* fast path, jwt_hs.c) and development minting
 * (rhonabwy).
 *
 * Order of checks, cheapest and most hostile-input-safe first: size, shape,
 * a header pre-screen (algorithm pinned by configuration, no compression),
 * then the HMAC with our key only, then the payload and its claims.
 * Time is judged here against the caller's `now`, not rhonabwy's clock. */
#include "auth/jwt.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <jansson.h>
#include <rhonabwy.h>

#include "auth/jwt_claims.h"
#include "auth/jwt_hs.h"
#include "core/secret.h"

/* Never follow a URL named in a token (jku, x5u). */
#define JWT_X5U_FLAGS R_FLAG_IGNORE_REMOTE

struct jwt_verifier {
    jwt_hs_keys_t *keys;   /* keyed at the first HS* token, never again */
    unsigned char *secret; /* a copy, until then and after: wiped when freed */
    size_t secret_len;
    unsigned algorithms;
    jwt_claim_rules_t rules;      /* an HS* token's; its strings are the copies below */
    jwt_claim_rules_t jwks_rules; /* a JWKS token's (jwt_verify_claims): iss, aud default */
    char *issuer;
    char *audience;
    char *jwks_issuer;
    char *jwks_audience;
    char *session_claim;
    char *workspace_claim;
};

static const struct {
    const char *name;
    unsigned bit;
} JWT_ALGS[] = {
    {"HS256", JWT_ALG_HS256},
    {"HS384", JWT_ALG_HS384},
    {"HS512", JWT_ALG_HS512},
};

#define JWT_ALGS_COUNT (sizeof JWT_ALGS / sizeof JWT_ALGS[0])
#define JWT_ALG_ALL (JWT_ALG_HS256 | JWT_ALG_HS384 | JWT_ALG_HS512)

/* Exact, case-sensitive match (JWA names are case-sensitive). */
static unsigned alg_bit_by_name(const char *s, size_t n)
{
    for (size_t i = 0; i < JWT_ALGS_COUNT; i++) {
        if (strlen(JWT_ALGS[i].name) == n && memcmp(JWT_ALGS[i].name, s, n) == 0)
            return JWT_ALGS[i].bit;
    }
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

int jwt_algorithms_parse(const char *list, unsigned *mask)
{
    if (list == NULL || mask == NULL)
        return -1;
    unsigned m = 0;
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        const char *b = p, *e = end;
        while (b < e && is_blank(*b))
            b++;
        while (e > b && is_blank(e[-1]))
            e--;
        unsigned bit = alg_bit_by_name(b, (size_t)(e - b));
        if (bit == 0)
            return -1;
        m |= bit;
        if (*end == '\0')
            break;
        p = end + 1;
    }
    *mask = m;
    return 0;
}

static char *dup_opt(const char *s, int *failed)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *failed = 1;
    return d;
}

static int config_ok(const jwt_config_t *cfg)
{
    return cfg != NULL && cfg->secret != NULL && cfg->secret_len > 0 && cfg->algorithms != 0 &&
           (cfg->algorithms & ~(unsigned)JWT_ALG_ALL) == 0 && cfg->leeway_s >= 0;
}

/* rules as jwt_claim_rules_user gives them, pointing at the verifier's
 * own copies of iss and aud (*iss, *aud) and of the claim names. */
static void own_rules(jwt_verifier_t *v, jwt_claim_rules_t *rules, char **iss, char **aud,
                      int *failed)
{
    *iss = dup_opt(rules->issuer, failed);
    *aud = dup_opt(rules->audience, failed);
    rules->issuer = *iss;
    rules->audience = *aud;
    rules->session_claim = v->session_claim;
    rules->workspace_claim = v->workspace_claim;
}

/* An HS* token's rules, and a JWKS token's (jwt_verify_claims), whose iss
 * and aud default to BETTER_AUTH_URL's origin. */
static int copy_rules(jwt_verifier_t *v, const jwt_config_t *cfg)
{
    int failed = 0;
    jwt_claim_rules_user(cfg, 0, &v->rules);
    jwt_claim_rules_user(cfg, 1, &v->jwks_rules);
    v->session_claim = dup_opt(v->rules.session_claim, &failed);
    v->workspace_claim = dup_opt(v->rules.workspace_claim, &failed);
    own_rules(v, &v->rules, &v->issuer, &v->audience, &failed);
    own_rules(v, &v->jwks_rules, &v->jwks_issuer, &v->jwks_audience, &failed);
    return failed ? -1 : 0;
}

jwt_verifier_t *jwt_verifier_new(const jwt_config_t *cfg)
{
    if (!config_ok(cfg))
        return NULL;
    jwt_verifier_t *v = calloc(1, sizeof *v);
    if (v == NULL)
        return NULL;
    int failed = copy_rules(v, cfg) != 0;
    v->algorithms = cfg->algorithms;
    /* Not keyed here: OpenSSL's HMAC fetch and key schedule touch ~2 MiB of
     * libcrypto, which a service that never sees a token needs not hold
     * (issue 11, idle footprint). */
    v->secret_len = cfg->secret_len;
    if ((v->secret = malloc(cfg->secret_len ? cfg->secret_len : 1)) == NULL)
        failed = 1;
    else
        memcpy(v->secret, cfg->secret, cfg->secret_len);
    if (failed) {
        jwt_verifier_free(v);
        return NULL;
    }
    return v;
}

int jwt_verifier_keyed(const jwt_verifier_t *v)
{
    return v->keys != NULL;
}

void jwt_verifier_free(jwt_verifier_t *v)
{
    if (v == NULL)
        return;
    jwt_hs_keys_free(v->keys);
    secret_free_n(v->secret, v->secret_len);
    free(v->issuer);
    free(v->audience);
    free(v->jwks_issuer);
    free(v->jwks_audience);
    free(v->session_claim);
    free(v->workspace_claim);
    free(v);
}

/* Reads the header ourselves before anything else, so the pinned algorithm
 * (which also refuses none) and the refusal of crit and zip act before any
 * work an attacker could choose. The header (the caller decrefs) and in
 * *alg its JWT_ALG_* bit, or NULL. */
static json_t *header_prescreen(const jwt_verifier_t *v, const char *token, size_t len,
                                unsigned *alg, jwt_refusal_t *why)
{
    json_t *h = jwt_header_decode_why(token, len, why);
    const json_t *a = json_object_get(h, "alg");
    *alg = json_is_string(a) ? alg_bit_by_name(json_string_value(a), json_string_length(a)) : 0;
    if (h != NULL && (*alg & v->algorithms) == 0) {
        jwt_refusal_set(why, JWT_REASON_ALG, NULL);
        json_decref(h);
        return NULL;
    }
    return h;
}

jwt_status_t jwt_verify_why(jwt_verifier_t *v, const char *token, size_t len, time_t now,
                            auth_tenant_t *out, time_t *exp, jwt_refusal_t *why)
{
    jwt_refusal_set(why, JWT_REASON_NONE, NULL);
    if (!jwt_input_ok(token, len, out, exp) || v == NULL)
        return jwt_refuse(why, JWT_INVALID,
                          v == NULL || out == NULL ? JWT_REASON_INTERNAL : JWT_REASON_SIZE, NULL);
    unsigned alg = 0;
    json_t *header = header_prescreen(v, token, len, &alg, why);
    if (header == NULL)
        return JWT_INVALID;
    if (v->keys == NULL &&
        (v->keys = jwt_hs_keys_new(v->secret, v->secret_len, v->algorithms)) == NULL) {
        json_decref(header);
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_INTERNAL, NULL);
    }
    json_t *claims = NULL;
    jwt_status_t st = jwt_hs_verify(v->keys, alg, token, len, &claims, why);
    if (st == JWT_OK)
        st = jwt_claims_check(header, claims, &v->rules, now, out, exp, why);
    json_decref(claims);
    json_decref(header);
    if (st != JWT_OK)
        memset(out, 0, sizeof *out);
    return st;
}

jwt_status_t jwt_verify(jwt_verifier_t *v, const char *token, size_t len, time_t now,
                        auth_tenant_t *out, time_t *exp)
{
    jwt_refusal_t why;
    jwt_status_t st = jwt_verify_why(v, token, len, now, out, exp, &why);
    if (st != JWT_OK)
        jwt_refusal_log("user", token, len, &why);
    return st;
}

jwt_status_t jwt_verify_claims(const jwt_verifier_t *v, const json_t *header, const json_t *claims,
                               time_t now, auth_tenant_t *out, time_t *exp, jwt_refusal_t *why)
{
    memset(out, 0, sizeof *out);
    *exp = 0;
    if (v == NULL)
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_INTERNAL, NULL);
    return jwt_claims_check(header, claims, &v->jwks_rules, now, out, exp, why);
}

/* A random (version 4) UUID for the session id of a minted token. */
static int random_uuid(char out[37])
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}

static int set_opt_str(json_t *claims, const char *key, const char *value, int omit_empty)
{
    if (value == NULL || (omit_empty && value[0] == '\0'))
        return 0;
    return json_object_set_new(claims, key, json_string(value));
}

static json_t *mint_claims(const char *sub, const char *workspace_id, const char *email,
                           const char *name, long ttl_s, time_t now)
{
    char sid[37];
    if (random_uuid(sid) != 0)
        return NULL;
    json_t *c = json_pack("{s:s, s:s, s:I, s:I}", "sub", sub, "sessionId", sid, "iat",
                          (json_int_t)now, "exp", (json_int_t)now + (json_int_t)ttl_s);
    if (c == NULL)
        return NULL;
    if (set_opt_str(c, "workspaceId", workspace_id, 1) != 0 ||
        set_opt_str(c, "email", email, 0) != 0 || set_opt_str(c, "name", name, 0) != 0) {
        json_decref(c);
        return NULL;
    }
    return c;
}

static char *sign_hs256(const unsigned char *secret, size_t secret_len, json_t *claims)
{
    jwk_t *key = NULL;
    jwt_t *jwt = NULL;
    char *signed_tok = NULL;
    if (r_jwk_init(&key) == RHN_OK &&
        r_jwk_import_from_symmetric_key(key, secret, secret_len) == RHN_OK &&
        r_jwt_init(&jwt) == RHN_OK && r_jwt_set_sign_alg(jwt, R_JWA_ALG_HS256) == RHN_OK &&
        r_jwt_set_full_claims_json_t(jwt, claims) == RHN_OK)
        signed_tok = r_jwt_serialize_signed(jwt, key, JWT_X5U_FLAGS);
    /* Hand the caller memory from our allocator, not rhonabwy's. */
    char *copy = signed_tok != NULL ? strdup(signed_tok) : NULL;
    if (signed_tok != NULL)
        secret_wipe(signed_tok, strlen(signed_tok)); /* a bearer credential */
    r_free(signed_tok);
    r_jwt_free(jwt);
    r_jwk_free(key);
    return copy;
}

char *jwt_mint_hs256(const unsigned char *secret, size_t secret_len, const char *sub,
                     const char *workspace_id, const char *email, const char *name, long ttl_s,
                     time_t now)
{
    if (secret == NULL || secret_len == 0 || sub == NULL || sub[0] == '\0' || ttl_s <= 0 ||
        (long long)now > JWT_TIME_LIMIT || (long long)ttl_s > JWT_TIME_LIMIT)
        return NULL;
    json_t *claims = mint_claims(sub, workspace_id, email, name, ttl_s, now);
    if (claims == NULL)
        return NULL;
    char *tok = sign_hs256(secret, secret_len, claims);
    json_decref(claims);
    return tok;
}
