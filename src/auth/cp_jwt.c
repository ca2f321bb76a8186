/* Control Plane token verification. Same order as the end-user verifier:
 * size and shape, a header pre-screen (RS* or ES* only, no zip, no crit),
 * rhonabwy's parse with no key taken from the token, the signature with a
 * configured key that takes the header's algorithm, then the claims. */
#include "auth/cp_jwt.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth/cp_keys.h"
#include "auth/jwt_claims.h"

/* Never follow a URL named in a token (jku, x5u). */
#define CP_X5U_FLAGS R_FLAG_IGNORE_REMOTE

struct cp_verifier {
    cp_keys_t keys;
    jwt_claim_rules_t rules; /* on the copies below */
    char *issuer;
    char *audience;
};

static char *dup_opt(const char *s, int *failed)
{
    char *d = s != NULL ? strdup(s) : NULL;
    if (s != NULL && d == NULL)
        *failed = 1;
    return d;
}

static jwt_status_t cp_identity(const json_t *claims, auth_tenant_t *out, jwt_refusal_t *why);

/* Agno's claims: sub optional, session_id, no workspace (X-Workspace-Id
 * names one); its own typ values are not ours to judge. */
static void set_rules(cp_verifier_t *v, const cp_jwt_config_t *cfg)
{
    v->rules.leeway_s = cfg->leeway_s;
    v->rules.issuer = v->issuer;
    v->rules.audience = v->audience;
    v->rules.require_exp = cfg->require_exp;
    v->rules.session_claim = "session_id";
    v->rules.identity = cp_identity;
}

cp_verifier_t *cp_verifier_new(const cp_jwt_config_t *cfg, char *err, size_t errlen)
{
    if (cfg == NULL || (cfg->pem == NULL && cfg->jwks == NULL) || cfg->leeway_s < 0) {
        snprintf(err, errlen, "JWT_VERIFICATION_KEY or JWT_JWKS_FILE is needed");
        return NULL;
    }
    cp_verifier_t *v = calloc(1, sizeof *v);
    if (v == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int failed = 0;
    v->issuer = dup_opt(cfg->issuer, &failed);
    v->audience = dup_opt(cfg->audience, &failed);
    set_rules(v, cfg);
    if (failed)
        snprintf(err, errlen, "out of memory");
    /* JWKS keys first: a kid names one of them; the PEM key comes last. */
    if (!failed && cfg->jwks != NULL && cp_keys_add_jwks(&v->keys, cfg->jwks, err, errlen) != 0)
        failed = 1;
    if (!failed && cfg->pem != NULL && cp_keys_add_pem(&v->keys, cfg->pem, err, errlen) != 0)
        failed = 1;
    if (failed) {
        cp_verifier_free(v);
        return NULL;
    }
    return v;
}

void cp_verifier_free(cp_verifier_t *v)
{
    if (v == NULL)
        return;
    cp_keys_clear(&v->keys);
    free(v->issuer);
    free(v->audience);
    free(v);
}

int cp_jwt_is_cp_alg(const char *token, size_t len)
{
    json_t *h = jwt_header_decode(token, len);
    const char *alg = json_string_value(json_object_get(h, "alg"));
    int cp = alg != NULL && (strncmp(alg, "RS", 2) == 0 || strncmp(alg, "ES", 2) == 0);
    json_decref(h);
    return cp;
}

/* The header's algorithm bit and kid (NULL: none). 0 when the header is
 * unusable here. kid points into h. */
static unsigned header_alg(const json_t *h, const char **kid)
{
    const json_t *alg = json_object_get(h, "alg");
    const json_t *k = json_object_get(h, "kid");
    *kid = NULL;
    if (!json_is_string(alg) || (k != NULL && !json_is_string(k)))
        return 0;
    *kid = json_string_value(k);
    return cp_alg_bit(json_string_value(alg), json_string_length(alg));
}

/* As Agno does: a kid picks its JWKS key, and a token whose kid matches
 * none (or that has none) may use a JWKS key without a kid; the PEM key is
 * tried for any token. Each only when it takes the token's algorithm. */
static int candidate(const cp_key_t *key, unsigned alg, const char *kid, int kid_matched)
{
    if ((key->algs & alg) == 0)
        return 0;
    if (key->pem)
        return 1;
    if (key->kid != NULL)
        return kid != NULL && strcmp(key->kid, kid) == 0;
    return !kid_matched;
}

static int signature_ok(const cp_verifier_t *v, jwt_t *jwt, unsigned alg, const char *kid)
{
    int kid_matched = 0;
    for (size_t i = 0; kid != NULL && i < v->keys.n; i++)
        kid_matched |= v->keys.keys[i].kid != NULL && strcmp(v->keys.keys[i].kid, kid) == 0;
    for (size_t i = 0; i < v->keys.n; i++) {
        if (candidate(&v->keys.keys[i], alg, kid, kid_matched) &&
            r_jwt_verify_signature(jwt, v->keys.keys[i].jwk, CP_X5U_FLAGS) == RHN_OK)
            return 1;
    }
    return 0;
}

/* The scopes claim, list of strings or one string, packed into the tenant.
 * Past the bounds the token is refused rather than cut: a silently shorter
 * list would grant less than the Control Plane meant, a confusing failure. */
static int pack_one(auth_tenant_t *out, size_t *used, const json_t *s)
{
    size_t n = json_string_length(s);
    if (!json_is_string(s) || n == 0 || n > AUTH_SCOPE_MAX ||
        memchr(json_string_value(s), '\0', n) != NULL || out->nscopes >= AUTH_SCOPES_MAX ||
        *used + n + 1 > AUTH_SCOPES_BYTES)
        return -1;
    memcpy(out->scopes + *used, json_string_value(s), n + 1);
    *used += n + 1;
    out->nscopes++;
    return 0;
}

static int pack_scopes(const json_t *claims, auth_tenant_t *out)
{
    const json_t *sc = json_object_get(claims, "scopes");
    size_t used = 0;
    out->nscopes = 0;
    if (json_is_string(sc))
        return pack_one(out, &used, sc);
    if (!json_is_array(sc))
        return 0; /* absent or another type: no scopes, as Agno reads it */
    for (size_t i = 0; i < json_array_size(sc); i++) {
        if (pack_one(out, &used, json_array_get(sc, i)) != 0)
            return -1;
    }
    return 0;
}

/* Agno refuses the subjects it reserves for its own principals. */
static int subject_reserved(const char *sub)
{
    return strncmp(sub, "sa:", 3) == 0 || strncmp(sub, "__scheduler__", 13) == 0;
}

static jwt_status_t cp_identity(const json_t *claims, auth_tenant_t *out, jwt_refusal_t *why)
{
    if (subject_reserved(out->user_id))
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_RESERVED, "sub");
    if (pack_scopes(claims, out) != 0)
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_SCOPES, NULL);
    return JWT_OK;
}

static jwt_status_t check_claims(const cp_verifier_t *v, const json_t *header, const json_t *claims,
                                 time_t now, auth_tenant_t *out, time_t *exp, jwt_refusal_t *why)
{
    jwt_status_t st = jwt_claims_check(header, claims, &v->rules, now, out, exp, why);
    if (st != JWT_OK)
        return st;
    out->kind = AUTH_PRINCIPAL_OPERATOR;
    out->scoped = 1;
    return JWT_OK;
}

/* The header's alg and kid, which pick the keys to try. */
typedef struct cp_token {
    const char *text;
    size_t len;
    const json_t *header;
    unsigned alg;
    const char *kid;
} cp_token_t;

static jwt_status_t verify_parsed(const cp_verifier_t *v, jwt_t *jwt, const cp_token_t *t,
                                  time_t now, auth_tenant_t *out, time_t *exp, jwt_refusal_t *why)
{
    /* R_PARSE_NONE: no alg none, no keys from jwk/jku/x5c/x5u in the header. */
    if (r_jwt_advanced_parsen(jwt, t->text, t->len, R_PARSE_NONE, CP_X5U_FLAGS) != RHN_OK)
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_PARSE, NULL);
    if (r_jwt_get_type(jwt) != R_JWT_TYPE_SIGN)
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_SHAPE, NULL);
    if (cp_alg_bit_jwa(r_jwt_get_sign_alg(jwt)) != t->alg)
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_ALG, NULL);
    if (!signature_ok(v, jwt, t->alg, t->kid))
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_SIGNATURE, NULL);
    json_t *claims = r_jwt_get_full_claims_json_t(jwt);
    jwt_status_t st = check_claims(v, t->header, claims, now, out, exp, why);
    json_decref(claims);
    return st;
}

static jwt_status_t cp_verify_why(cp_verifier_t *v, const char *token, size_t len, time_t now,
                                  auth_tenant_t *out, time_t *exp, jwt_refusal_t *why)
{
    if (!jwt_input_ok(token, len, out, exp) || v == NULL)
        return jwt_refuse(why, JWT_INVALID,
                          v == NULL || out == NULL ? JWT_REASON_INTERNAL : JWT_REASON_SIZE, NULL);
    json_t *h = jwt_header_decode_why(token, len, why);
    cp_token_t t = {token, len, h, 0, NULL};
    t.alg = h != NULL ? header_alg(h, &t.kid) : 0;
    jwt_t *jwt = NULL;
    jwt_status_t st = JWT_INVALID;
    if (h != NULL && t.alg == 0)
        jwt_refusal_set(why, JWT_REASON_ALG, NULL);
    else if (h != NULL && r_jwt_init(&jwt) != RHN_OK)
        jwt_refusal_set(why, JWT_REASON_INTERNAL, NULL);
    else if (h != NULL)
        st = verify_parsed(v, jwt, &t, now, out, exp, why);
    r_jwt_free(jwt);
    json_decref(h);
    if (st != JWT_OK)
        memset(out, 0, sizeof *out);
    return st;
}

jwt_status_t cp_verify(cp_verifier_t *v, const char *token, size_t len, time_t now,
                       auth_tenant_t *out, time_t *exp)
{
    jwt_refusal_t why = {JWT_REASON_NONE, NULL};
    jwt_status_t st = cp_verify_why(v, token, len, now, out, exp, &why);
    if (st != JWT_OK)
        jwt_refusal_log("control_plane", token, len, &why);
    return st;
}
