/* A loop's authenticator: the verifier plus its verified-token cache. */
#ifndef AGENTOS_AUTH_AUTH_H
#define AGENTOS_AUTH_AUTH_H

#include "auth/cp_jwt.h"
#include "auth/jwks_source.h"
#include "auth/jwt.h"

typedef struct auth_ctx auth_ctx_t;

/* cache_capacity 0: no cache. NULL on a bad cfg (see jwt_verifier_new). */
auth_ctx_t *auth_ctx_new(const jwt_config_t *cfg, size_t cache_capacity);
void auth_ctx_free(auth_ctx_t *a);
/* Adds the Control Plane verifier: from now on a token whose header names
 * an RS* or ES* algorithm is judged by it, and only by it. -1 with err. */
int auth_ctx_enable_control_plane(auth_ctx_t *a, const cp_jwt_config_t *cp, char *err,
                                  size_t errlen);
/* Splits JWT_ALGORITHMS ("HS256,EdDSA,ES256") into the HS* mask of the
 * shared-secret verifier (JWT_ALG_*) and the asymmetric mask of the JWKS one
 * (JWK_ALG_*). -1 on an unknown or empty name. */
int auth_algorithms_parse(const char *list, unsigned *hs, unsigned *jwks);
/* Adds better-auth's JWKS (src stays the caller's, outliving a): a token
 * whose header names one of algs (JWK_ALG_*) is judged by it. hs_allowed 0:
 * every HS* token is refused (JWT_ALGORITHMS lists none). -1 on bad args. */
int auth_ctx_enable_jwks(auth_ctx_t *a, jwks_source_t *src, unsigned algs, int hs_allowed);
/* Verifies a bearer token, from the cache when it can (whatever its kind:
 * one cache, one set of hit and miss counters). A verified token is cached
 * until exp + leeway, or for 60 s when it has no exp. The header's alg picks
 * the one verifier that judges it: one of the JWKS algorithms the JWKS one
 * (when enabled; for RS* and ES* with the Control Plane enabled too, only
 * when the kid is in the set), other RS* and ES* the Control Plane's (when
 * enabled), anything else the end-user one (which takes only its configured
 * HS* algorithms); a failure is final. */
/* A cached, still valid end user's (unscoped) tenant without a copy (a hit,
 * counted as one), to give back with auth_tenant_release; it never changes.
 * NULL otherwise, counting nothing: then auth_ctx_verify decides (a Control
 * Plane tenant is always copied, as its request adds a workspace to it). */
const auth_tenant_t *auth_ctx_borrow(auth_ctx_t *a, const char *token, size_t len, time_t now);
void auth_tenant_release(const auth_tenant_t *t);
jwt_status_t auth_ctx_verify(auth_ctx_t *a, const char *token, size_t len, time_t now,
                             auth_tenant_t *out);

/* Cache effectiveness, for tests and metrics: misses are full verifications. */
typedef struct auth_ctx_stats {
    unsigned long long hits;
    unsigned long long misses;
} auth_ctx_stats_t;
void auth_ctx_stats(const auth_ctx_t *a, auth_ctx_stats_t *out);

#endif
