/* A bounded cache of verified tokens, one per loop thread (not thread-safe).
 * Keyed by the whole token; an entry is used only while now <= its valid_until. */
#ifndef AGENTOS_AUTH_TOKEN_CACHE_H
#define AGENTOS_AUTH_TOKEN_CACHE_H

#include <stddef.h>
#include <time.h>

#include "auth/tenant.h"

typedef struct token_cache token_cache_t;

/* NULL when capacity is 0 or memory is short. */
token_cache_t *token_cache_new(size_t capacity);
void token_cache_free(token_cache_t *c);
/* 1 and *out filled on a hit that is still valid at now; else 0. */
int token_cache_get(token_cache_t *c, const char *token, size_t len, time_t now,
                    auth_tenant_t *out);
/* As token_cache_get, without the copy: the entry's tenant, which stays
 * valid and unchanged (even once the entry is evicted or the cache freed)
 * until token_cache_tenant_release. NULL on a miss. */
const auth_tenant_t *token_cache_borrow(token_cache_t *c, const char *token, size_t len,
                                        time_t now);
/* Gives back a token_cache_borrow tenant; NULL is fine. */
void token_cache_tenant_release(const auth_tenant_t *t);
/* valid_until: the last second the entry may be used (exp + leeway). */
void token_cache_put(token_cache_t *c, const char *token, size_t len, time_t valid_until,
                     const auth_tenant_t *t);
/* Introspection for tests and metrics: live entries, and bytes held by token copies. */
size_t token_cache_count(const token_cache_t *c);
size_t token_cache_bytes(const token_cache_t *c);
/* The set a token falls in: for tests of the keyed hash (two caches, two keys). */
size_t token_cache_set_of(const token_cache_t *c, const char *token, size_t len);

#endif
