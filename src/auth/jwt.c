/* JWT verification and development minting on top of rhonabwy.
 *
 * Order of checks, cheapest and most hostile-input-safe first: size, shape,
 * a header pre-screen (algorithm pinned by configuration, no compression),
 * then rhonabwy's parse and signature check with our key only, then claims.
 * Time is judged here against the caller's `now`, not rhonabwy's clock. */
#include "auth/jwt.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <jansson.h>
#include <rhonabwy.h>

#include "auth/jwt_claims.h"
#include "core/secret.h"

/* Never follow a URL named in a token (jku, x5u). */
#define JWT_X5U_FLAGS R_FLAG_IGNORE_REMOTE

struct jwt_verifier {
    jwk_t *key;
    unsigned algorithms;
    long leeway_s;
    char *issuer;
    char *audience;
};

static const struct {
    const char *name;
    unsigned bit;
    jwa_alg alg;
} JWT_ALGS[] = {
    {"HS256", JWT_ALG_HS256, R_JWA_ALG_HS256},
    {"HS384", JWT_ALG_HS384, R_JWA_ALG_HS384},
    {"HS512", JWT_ALG_HS512, R_JWA_ALG_HS512},
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

static unsigned alg_bit_by_jwa(jwa_alg alg)
{
    for (size_t i = 0; i < JWT_ALGS_COUNT; i++) {
        if (JWT_ALGS[i].alg == alg)
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

jwt_verifier_t *jwt_verifier_new(const jwt_config_t *cfg)
{
    if (!config_ok(cfg))
        return NULL;
    jwt_verifier_t *v = calloc(1, sizeof *v);
    if (v == NULL)
        return NULL;
    int failed = 0;
    v->algorithms = cfg->algorithms;
    v->leeway_s = cfg->leeway_s;
    v->issuer = dup_opt(cfg->issuer, &failed);
    v->audience = dup_opt(cfg->audience, &failed);
    if (r_jwk_init(&v->key) != RHN_OK ||
        r_jwk_import_from_symmetric_key(v->key, cfg->secret, cfg->secret_len) != RHN_OK)
        failed = 1;
    if (failed) {
        jwt_verifier_free(v);
        return NULL;
    }
    return v;
}

void jwt_verifier_free(jwt_verifier_t *v)
{
    if (v == NULL)
        return;
    r_jwk_free(v->key);
    free(v->issuer);
    free(v->audience);
    free(v);
}

/* Reads the header ourselves before rhonabwy parses the token, so the pinned
 * algorithm and the refusal of compressed payloads act before any work an
 * attacker could choose. */
static int header_prescreen_ok(const jwt_verifier_t *v, const char *token, size_t len)
{
    json_t *h = jwt_header_decode(token, len);
    const json_t *alg = json_object_get(h, "alg");
    int ok =
        json_is_string(alg) &&
        (alg_bit_by_name(json_string_value(alg), json_string_length(alg)) & v->algorithms) != 0;
    json_decref(h);
    return ok;
}

/* R_PARSE_NONE: no alg none, no keys from jwk/jku/x5c/x5u in the header. */
static int parse_and_check_signature(const jwt_verifier_t *v, jwt_t *jwt, const char *token,
                                     size_t len)
{
    if (r_jwt_advanced_parsen(jwt, token, len, R_PARSE_NONE, JWT_X5U_FLAGS) != RHN_OK)
        return 0;
    if (r_jwt_get_type(jwt) != R_JWT_TYPE_SIGN)
        return 0;
    /* Re-check on what rhonabwy will actually verify with. */
    if ((alg_bit_by_jwa(r_jwt_get_sign_alg(jwt)) & v->algorithms) == 0)
        return 0;
    return r_jwt_verify_signature(jwt, v->key, JWT_X5U_FLAGS) == RHN_OK;
}

static int map_tenant(const json_t *claims, auth_tenant_t *out)
{
    if (jwt_claim_copy_id(claims, "sub", out->user_id, 1) != 0 ||
        jwt_claim_copy_id(claims, "sessionId", out->session_id, 0) != 0 ||
        jwt_claim_copy_id(claims, "workspaceId", out->workspace_id, 0) != 0 ||
        jwt_claim_copy_text(claims, "email", out->email) != 0 ||
        jwt_claim_copy_text(claims, "name", out->name) != 0)
        return -1;
    out->authenticated = 1;
    return 0;
}

/* A token that is not a login token is invalid whatever its age: the
 * identity claims are read before the times. */
static jwt_status_t check_claims(const jwt_verifier_t *v, const json_t *claims, time_t now,
                                 auth_tenant_t *out, time_t *exp)
{
    if (!json_is_object(claims) || map_tenant(claims, out) != 0)
        return JWT_INVALID;
    return jwt_claims_check(claims, now, v->leeway_s, v->issuer, v->audience, exp);
}

static jwt_status_t verify_parsed(const jwt_verifier_t *v, jwt_t *jwt, const char *token,
                                  size_t len, time_t now, auth_tenant_t *out, time_t *exp)
{
    if (!parse_and_check_signature(v, jwt, token, len))
        return JWT_INVALID;
    json_t *claims = r_jwt_get_full_claims_json_t(jwt);
    jwt_status_t st = check_claims(v, claims, now, out, exp);
    json_decref(claims);
    return st;
}

jwt_status_t jwt_verify(jwt_verifier_t *v, const char *token, size_t len, time_t now,
                        auth_tenant_t *out, time_t *exp)
{
    if (!jwt_input_ok(token, len, out, exp) || v == NULL)
        return JWT_INVALID;
    if (!header_prescreen_ok(v, token, len))
        return JWT_INVALID;
    jwt_t *jwt = NULL;
    if (r_jwt_init(&jwt) != RHN_OK)
        return JWT_INVALID;
    jwt_status_t st = verify_parsed(v, jwt, token, len, now, out, exp);
    r_jwt_free(jwt);
    if (st != JWT_OK)
        memset(out, 0, sizeof *out);
    return st;
}

jwt_status_t jwt_verify_claims(const jwt_verifier_t *v, const json_t *claims, time_t now,
                               auth_tenant_t *out, time_t *exp)
{
    memset(out, 0, sizeof *out);
    *exp = 0;
    jwt_status_t st = v != NULL ? check_claims(v, claims, now, out, exp) : JWT_INVALID;
    if (st != JWT_OK)
        memset(out, 0, sizeof *out);
    return st;
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
