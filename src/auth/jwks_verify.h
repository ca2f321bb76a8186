/* better-auth JWT plugin tokens: EdDSA, ES*, RS* or PS* JWTs whose key is
 * found by kid in the JWKS (auth/jwks_source.h). The algorithm comes from
 * the key: the header's alg must be one the key verifies and one of
 * JWT_ALGORITHMS, or the token is refused before any signature work. The
 * claims are an end-user token's (jwt_verify_claims). */
#ifndef AGENTOS_AUTH_JWKS_VERIFY_H
#define AGENTOS_AUTH_JWKS_VERIFY_H

#include <stddef.h>
#include <time.h>

#include "auth/jwks_source.h"
#include "auth/jwt.h"

/* algs: the JWK_ALG_* mask JWT_ALGORITHMS allows. claims: the end-user
 * verifier whose claim rules apply. An unknown kid asks the source for a
 * reload (rate-limited) and is refused now. */
jwt_status_t jwks_verify(jwks_source_t *src, unsigned algs, const jwt_verifier_t *claims,
                         const char *token, size_t len, time_t now, auth_tenant_t *out,
                         time_t *exp);

/* 1 when the header's alg is an asymmetric one (auth/jwk_alg.h) in mask. */
int jwks_token_alg_in(const char *token, size_t len, unsigned mask);

/* 1 when the header's kid is in src's current set. */
int jwks_token_kid_known(jwks_source_t *src, const char *token, size_t len);

#endif
