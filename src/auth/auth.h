/* A loop's authenticator: the verifier plus its verified-token cache. */
#ifndef AGENTOS_AUTH_AUTH_H
#define AGENTOS_AUTH_AUTH_H

#include "auth/jwt.h"

typedef struct auth_ctx auth_ctx_t;

/* cache_capacity 0: no cache. NULL on a bad cfg (see jwt_verifier_new). */
auth_ctx_t *auth_ctx_new(const jwt_config_t *cfg, size_t cache_capacity);
void auth_ctx_free(auth_ctx_t *a);
/* Verifies a bearer token, from the cache when it can. A verified token is
 * cached until exp + leeway, or for 60 s when it has no exp. */
jwt_status_t auth_ctx_verify(auth_ctx_t *a, const char *token, size_t len, time_t now,
                             auth_tenant_t *out);

/* Cache effectiveness, for tests and metrics: misses are full verifications. */
typedef struct auth_ctx_stats {
    unsigned long long hits;
    unsigned long long misses;
} auth_ctx_stats_t;
void auth_ctx_stats(const auth_ctx_t *a, auth_ctx_stats_t *out);

#endif
