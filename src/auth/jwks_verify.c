/* Same order as the other verifiers: size and shape, a header pre-screen
 * (alg allowed, kid present, no zip or crit), the key by kid and its own
 * algorithms, rhonabwy's parse with no key taken from the token, the
 * signature with that one key, then the claims. A refusal's reason is
 * logged at debug with a short fingerprint, never the token. */
#include "auth/jwks_verify.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <rhonabwy.h>

#include "auth/jwk_alg.h"
#include "auth/jwt_claims.h"

/* Never follow a URL named in a token (jku, x5u). */
#define JWKS_X5U_FLAGS R_FLAG_IGNORE_REMOTE

int jwks_token_alg_in(const char *token, size_t len, unsigned mask)
{
    json_t *h = jwt_header_decode(token, len);
    const json_t *alg = json_object_get(h, "alg");
    int in = json_is_string(alg) &&
             (jwk_alg_bit(json_string_value(alg), json_string_length(alg)) & mask) != 0;
    json_decref(h);
    return in;
}

int jwks_token_kid_known(jwks_source_t *src, const char *token, size_t len)
{
    json_t *h = jwt_header_decode(token, len);
    jwks_set_t *set = h != NULL ? jwks_source_current(src) : NULL;
    int known = jwks_set_find(set, json_string_value(json_object_get(h, "kid"))) != NULL;
    jwks_set_unref(set);
    json_decref(h);
    return known;
}

/* A JWT plugin token has no typ or typ "JWT"; anything else (at+jwt, a
 * JWE's) is another kind of token. */
static int typ_ok(const json_t *h)
{
    const json_t *typ = json_object_get(h, "typ");
    return typ == NULL || (json_is_string(typ) && strcasecmp(json_string_value(typ), "JWT") == 0);
}

/* The header's alg bit (0: refused, *why says why) and its kid. */
static unsigned header_alg(const json_t *h, unsigned algs, const char **kid, jwt_refusal_t *why)
{
    const json_t *alg = json_object_get(h, "alg");
    const json_t *k = json_object_get(h, "kid");
    unsigned bit = json_is_string(alg)
                       ? jwk_alg_bit(json_string_value(alg), json_string_length(alg)) & algs
                       : 0;
    *kid = json_string_value(k);
    if (bit == 0)
        jwt_refusal_set(why, JWT_REASON_ALG, NULL);
    else if (*kid == NULL)
        jwt_refusal_set(why, JWT_REASON_KID, "kid");
    else if (!typ_ok(h))
        jwt_refusal_set(why, JWT_REASON_TYP, NULL);
    return why->reason == JWT_REASON_NONE ? bit : 0;
}

static jwt_status_t check_parsed(const jwks_key_t *key, unsigned bit, const jwt_verifier_t *claims,
                                 jwt_t *jwt, const char *token, size_t len, time_t now,
                                 auth_tenant_t *out, time_t *exp, jwt_refusal_t *why)
{
    /* R_PARSE_NONE: no alg none, no keys from jwk/jku/x5c/x5u in the header. */
    if (r_jwt_advanced_parsen(jwt, token, len, R_PARSE_NONE, JWKS_X5U_FLAGS) != RHN_OK ||
        r_jwt_get_type(jwt) != R_JWT_TYPE_SIGN || jwk_alg_bit_jwa(r_jwt_get_sign_alg(jwt)) != bit) {
        jwt_refusal_set(why, JWT_REASON_PARSE, NULL);
        return JWT_INVALID;
    }
    /* Always verified, with the set's key for this kid: "none" never gets
     * here (jwk_alg_bit knows no such alg, R_PARSE_NONE refuses it, and the
     * parsed alg must be the header's allowed bit, checked just above). */
    if (r_jwt_verify_signature(jwt, key->jwk, JWKS_X5U_FLAGS) != RHN_OK) {
        jwt_refusal_set(why, JWT_REASON_SIGNATURE, NULL);
        return JWT_INVALID;
    }
    json_t *payload = r_jwt_get_full_claims_json_t(jwt);
    jwt_status_t st = jwt_verify_claims(claims, NULL, payload, now, out, exp, why);
    json_decref(payload);
    return st;
}

/* With the set held: the key by kid, which must take the header's alg. */
static jwt_status_t verify_with(jwks_source_t *src, const jwks_set_t *set, unsigned bit,
                                const char *kid, const jwt_verifier_t *claims, const char *token,
                                size_t len, time_t now, auth_tenant_t *out, time_t *exp,
                                jwt_refusal_t *why)
{
    const jwks_key_t *key = jwks_set_find(set, kid);
    if (key == NULL) {
        jwks_source_kid_missed(src);
        jwt_refusal_set(why, JWT_REASON_KID, NULL);
        return JWT_INVALID;
    }
    if ((key->algs & bit) == 0) {
        jwt_refusal_set(why, JWT_REASON_ALG, NULL);
        return JWT_INVALID;
    }
    jwt_t *jwt = NULL;
    if (r_jwt_init(&jwt) != RHN_OK) {
        jwt_refusal_set(why, JWT_REASON_INTERNAL, NULL);
        return JWT_INVALID;
    }
    jwt_status_t st = check_parsed(key, bit, claims, jwt, token, len, now, out, exp, why);
    r_jwt_free(jwt);
    return st;
}

jwt_status_t jwks_verify(jwks_source_t *src, unsigned algs, const jwt_verifier_t *claims,
                         const char *token, size_t len, time_t now, auth_tenant_t *out, time_t *exp)
{
    if (!jwt_input_ok(token, len, out, exp) || src == NULL || claims == NULL) {
        jwt_refusal_t size = {src == NULL || claims == NULL ? JWT_REASON_INTERNAL : JWT_REASON_SIZE,
                              NULL};
        jwt_refusal_log("jwks", token, token != NULL ? len : 0, &size);
        return JWT_INVALID;
    }
    jwt_refusal_t why = {JWT_REASON_NONE, NULL};
    const char *kid = NULL;
    json_t *h = jwt_header_decode(token, len);
    unsigned bit = h != NULL ? header_alg(h, algs, &kid, &why) : 0;
    jwt_status_t st = JWT_INVALID;
    if (h == NULL) {
        jwt_refusal_set(&why, JWT_REASON_HEADER, NULL);
    } else if (bit != 0) {
        jwks_set_t *set = jwks_source_current(src);
        st = verify_with(src, set, bit, kid, claims, token, len, now, out, exp, &why);
        jwks_set_unref(set);
    }
    json_decref(h);
    if (st != JWT_OK) {
        memset(out, 0, sizeof *out);
        if (why.reason == JWT_REASON_NONE)
            jwt_refusal_set(&why, JWT_REASON_INTERNAL, NULL);
        jwt_refusal_log("jwks", token, len, &why);
    }
    return st;
}
