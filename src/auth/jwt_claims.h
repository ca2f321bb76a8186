/* The pieces both token verifiers share (the end-user HMAC one in jwt.c and
 * the Control Plane RSA/EC one in cp_jwt.c): the compact shape, the header
 * pre-screen, and the claim rules (times, iss, aud, ids). One copy, so the
 * two kinds of token can never drift apart on what "valid" means. */
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

/* Copies an id claim (sub, sessionId, workspaceId: the id rule) into dst;
 * "" when absent or null. -1 when unusable, or absent and required. */
int jwt_claim_copy_id(const json_t *claims, const char *key, char dst[AUTH_ID_MAX], int required);
/* Copies a display claim (email, name), cut at a UTF-8 boundary. */
int jwt_claim_copy_text(const json_t *claims, const char *key, char dst[AUTH_TEXT_MAX]);

/* iss (when issuer is set), aud (when audience is set; a string or an array),
 * nbf and exp with leeway. On JWT_OK sets *exp (0: no exp claim). */
jwt_status_t jwt_claims_check(const json_t *claims, time_t now, long leeway_s, const char *issuer,
                              const char *audience, time_t *exp);

#endif
