/* JWT verification (rhonabwy): the algorithm is pinned by configuration,
 * the signature is always checked, and claims are validated. */
#ifndef AGENTOS_AUTH_JWT_H
#define AGENTOS_AUTH_JWT_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "auth/jwt_reason.h"
#include "auth/tenant.h"

#define JWT_MAX_TOKEN_BYTES 8192

enum {
    JWT_ALG_HS256 = 1 << 0,
    JWT_ALG_HS384 = 1 << 1,
    JWT_ALG_HS512 = 1 << 2,
};

typedef enum {
    JWT_OK = 0,
    JWT_INVALID, /* -> 403 INVALID_TOKEN */
    JWT_EXPIRED, /* -> 403 TOKEN_EXPIRED */
} jwt_status_t;

typedef struct jwt_config {
    const unsigned char *secret;
    size_t secret_len;
    unsigned algorithms; /* JWT_ALG_* mask */
    long leeway_s;
    const char *issuer;          /* NULL: not checked */
    const char *audience;        /* NULL: not checked */
    int require_exp;             /* 1: a token without exp is refused (JWT_REQUIRE_EXP) */
    const char *workspace_claim; /* the claim read as workspace_id; NULL: "workspaceId" */
    const char *session_claim;   /* the claim read as session_id; NULL: "sessionId" */
    /* BETTER_AUTH_URL's origin, or NULL: the iss and aud that better-auth's
     * jwt() plugin writes, so the default for the JWKS tokens (only: the
     * HS256 tokens a web app mints carry neither) when issuer / audience
     * are NULL. See jwt_claim_rules_user. */
    const char *better_auth_origin;
} jwt_config_t;

typedef struct jwt_verifier jwt_verifier_t;

/* Parses "HS256,HS512" into a mask. Returns -1 on an unknown or empty name. */
int jwt_algorithms_parse(const char *list, unsigned *mask);

/* Copies what it needs from cfg. NULL on failure. */
jwt_verifier_t *jwt_verifier_new(const jwt_config_t *cfg);
/* 1 once the HMAC is keyed: at the first HS* token, not at start. */
int jwt_verifier_keyed(const jwt_verifier_t *v);
void jwt_verifier_free(jwt_verifier_t *v);

/* Verifies token[0..len) at time now. On JWT_OK fills *out (authenticated=1)
 * and *exp with the token's exp (0 when it has none). A refusal is logged
 * at debug with its reason (jwt_refusal_log). */
jwt_status_t jwt_verify(jwt_verifier_t *v, const char *token, size_t len, time_t now,
                        auth_tenant_t *out, time_t *exp);
/* jwt_verify without the log line: on a refusal, *why (may be NULL) says why. */
jwt_status_t jwt_verify_why(jwt_verifier_t *v, const char *token, size_t len, time_t now,
                            auth_tenant_t *out, time_t *exp, jwt_refusal_t *why);

/* The claim rules of a JWKS token (better-auth's jwt() plugin), on the
 * same claim check as jwt_verify's (jwt_claims_check), with iss and aud
 * defaulting to BETTER_AUTH_URL's origin (jwt_claim_rules_user). claims:
 * the verified payload; header may be NULL. On JWT_OK fills *out and *exp
 * as jwt_verify does; else *out is cleared and *why (may be NULL) says why. */
jwt_status_t jwt_verify_claims(const jwt_verifier_t *v, const json_t *header, const json_t *claims,
                               time_t now, auth_tenant_t *out, time_t *exp, jwt_refusal_t *why);

/* Signs an HS256 development token. Returns a malloc'd string or NULL. */
char *jwt_mint_hs256(const unsigned char *secret, size_t secret_len, const char *sub,
                     const char *workspace_id, const char *email, const char *name, long ttl_s,
                     time_t now);

#endif
