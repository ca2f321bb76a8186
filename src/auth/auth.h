/* A loop's authenticator: the verifier plus its verified-token cache. */
#ifndef AGENTOS_AUTH_AUTH_H
#define AGENTOS_AUTH_AUTH_H

#include "auth/cp_jwt.h"
#include "auth/jwt.h"

typedef struct auth_ctx auth_ctx_t;

/* cache_capacity 0: no cache. NULL on a bad cfg (see jwt_verifier_new). */
auth_ctx_t *auth_ctx_new(const jwt_config_t *cfg, size_t cache_capacity);
void auth_ctx_free(auth_ctx_t *a);
/* Adds the Control Plane verifier: from now on a token whose header names
 * an RS* or ES* algorithm is judged by it, and only by it. -1 with err. */
int auth_ctx_enable_control_plane(auth_ctx_t *a, const cp_jwt_config_t *cp, char *err,
                                  size_t errlen);
/* Verifies a bearer token, from the cache when it can. A verified token is
 * cached until exp + leeway, or for 60 s when it has no exp. The header's alg
 * picks the one verifier that judges it: RS* and ES* the Control Plane's
 * (when enabled), anything else the end-user one (which takes only its
 * configured HS* algorithms); a failure is final. */
jwt_status_t auth_ctx_verify(auth_ctx_t *a, const char *token, size_t len, time_t now,
                             auth_tenant_t *out);

/* Cache effectiveness, for tests and metrics: misses are full verifications. */
typedef struct auth_ctx_stats {
    unsigned long long hits;
    unsigned long long misses;
} auth_ctx_stats_t;
void auth_ctx_stats(const auth_ctx_t *a, auth_ctx_stats_t *out);

#endif
