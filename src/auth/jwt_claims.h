/* The pieces every token verifier shares (the end-user HMAC one in jwt.c,
 * the Control Plane RSA/EC one in cp_jwt.c, the JWKS one): the compact
 * shape, the header pre-screen, and the claim rules (typ, ids, times, iss,
 * aud). One copy, so the kinds of token can never drift apart on what
 * "valid" means. */
#ifndef AGENTOS_AUTH_JWT_CLAIMS_H
#define AGENTOS_AUTH_JWT_CLAIMS_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "auth/jwt.h"

/* Clamp for NumericDate values (about 8.9 million years): keeps every
 * subtraction and leeway addition far from overflow. */
#define JWT_TIME_LIMIT (1LL << 48)

/* Compact JWS only: three non-empty base64url segments. Sets *header_len to
 * the first segment's length. */
int jwt_token_shape_ok(const char *t, size_t len, size_t *header_len);

/* The token's header as a JSON object (the caller decrefs), or NULL when it
 * is not base64url JSON, has duplicate keys, or asks for zip or crit. */
json_t *jwt_header_decode(const char *token, size_t len);

/* A verifier's first step: clears *out and *exp (exp may be NULL), then 1
 * when the token can be looked at (present, at most JWT_MAX_TOKEN_BYTES). */
int jwt_input_ok(const char *token, size_t len, auth_tenant_t *out, time_t *exp);

int jwt_json_str_equals(const json_t *j, const char *s);

/* jwt_header_decode, saying why on NULL (why may be NULL). */
json_t *jwt_header_decode_why(const char *token, size_t len, jwt_refusal_t *why);

/* Records the refusal in *why (may be NULL) and returns st. */
jwt_status_t jwt_refuse(jwt_refusal_t *why, jwt_status_t st, jwt_reason_t reason,
                        const char *claim);

/* What a verified token's header and claims must hold, and which claims
 * fill the tenant. The strings are borrowed: they must outlive the rules. */
typedef struct jwt_claim_rules {
    long leeway_s;        /* exp and nbf */
    const char *issuer;   /* NULL: iss not checked */
    const char *audience; /* NULL: aud not checked; else a string or an array naming it */
    int require_exp;      /* 1: no exp, no entry (JWT_REQUIRE_EXP) */
    int require_sub;      /* 1: sub must be a non-empty id (every end-user token) */
    /* 1: an end-user login: the header's typ, when present, is JWT or
     * at+jwt, and aud never names better-auth's session cookie cache. */
    int login;
    const char *session_claim;   /* read into session_id; NULL: none */
    const char *workspace_claim; /* read into workspace_id; NULL: none */
    /* Checks of the verifier's own, run after the identity claims are read
     * and before the times (an identity that is not for us is refused
     * whatever its age); NULL: none. Returns JWT_OK or a refusal. */
    jwt_status_t (*identity)(const json_t *claims, auth_tenant_t *out, jwt_refusal_t *why);
} jwt_claim_rules_t;

/* The rules of an end-user token under cfg (the pointers are cfg's).
 * asymmetric: a JWKS token (better-auth's jwt() plugin), whose iss and aud
 * default to cfg->better_auth_origin when cfg sets no issuer / audience; an
 * HS* token is held to an issuer / audience only when cfg sets one. */
void jwt_claim_rules_user(const jwt_config_t *cfg, int asymmetric, jwt_claim_rules_t *out);

/* The one claim check of every verifier, after its signature check:
 * header typ (rules->login), the identity claims into *out (sub,
 * session, workspace, email, name; clears *out first), rules->identity,
 * then iss, aud, nbf and exp with leeway. On JWT_OK sets out->authenticated
 * and *exp (may be NULL; 0: no exp claim). Else *why (may be NULL) says why
 * and *out is cleared. header may be NULL for a verifier without one. */
jwt_status_t jwt_claims_check(const json_t *header, const json_t *claims,
                              const jwt_claim_rules_t *rules, time_t now, auth_tenant_t *out,
                              time_t *exp, jwt_refusal_t *why);

#endif
