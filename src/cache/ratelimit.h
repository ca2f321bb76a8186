/* Per-workspace rate limiting: a fixed window counter (RATE_LIMIT_PER_MINUTE)
 * shared by all replicas through Redis, counted atomically by one Lua script
 * on key "agentos:rl:{workspace}:{window}" (the braces make the key a
 * Redis Cluster hash tag). When Redis is not configured it counts in the
 * process; when Redis is configured but down, slow or failing it falls back
 * to that local count and says so (degraded), so a dead Redis never fails a
 * request. Windows are aligned to the wall clock, so local and Redis counts
 * and all replicas agree on when a window ends.
 *
 * Per loop, not thread-safe: one ratelimit_t per loop thread, over that
 * loop's redis_client_t. The local counter is thread-safe and shared by the
 * loops of a process (ratelimit_config_t.local), so without Redis a workspace
 * gets the limit per process; in degraded mode, per replica. */
#ifndef AGENTOS_CACHE_RATELIMIT_H
#define AGENTOS_CACHE_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "cache/redis.h"

typedef struct ratelimit_result {
    int allowed;       /* 1: go on; 0: answer 429 */
    int retry_after_s; /* when denied: seconds until the window ends (>= 1); else 0 */
    int reset_s;       /* seconds until the window ends (for RateLimit-Reset) */
    int remaining;     /* requests left in this window; -1 when not limited */
    int degraded;      /* 1: Redis is configured but this answer is local */
} ratelimit_result_t;

/* ---- the local counter (also the fallback) ---- */

typedef struct ratelimit_local ratelimit_local_t;

/* Tracks at most capacity workspaces; the least recently seen is evicted. */
ratelimit_local_t *ratelimit_local_new(size_t capacity);
void ratelimit_local_free(ratelimit_local_t *t);
/* Counts one request of workspace in the window of width window_ms that holds
 * now_ms (wall clock) and fills out (degraded = 0). Never fails: out of
 * memory allows the request uncounted. */
void ratelimit_local_hit(ratelimit_local_t *t, const char *workspace, int limit, int window_ms,
                         uint64_t now_ms, ratelimit_result_t *out);
size_t ratelimit_local_size(const ratelimit_local_t *t);

/* ---- the limiter ---- */

typedef struct ratelimit ratelimit_t;

typedef struct ratelimit_config {
    int limit;                /* requests per window per workspace; <= 0 disables */
    int window_ms;            /* 0 means 60000 */
    size_t local_capacity;    /* workspaces the local counter tracks; 0 means 10000 */
    ratelimit_local_t *local; /* a counter shared by the process's loops (not
                               * owned); NULL: the limiter makes its own */
} ratelimit_config_t;

/* redis may be NULL (single-replica mode); it is not owned. Returns NULL only
 * when out of memory. */
ratelimit_t *ratelimit_new(redis_client_t *redis, const ratelimit_config_t *cfg);

/* Frees now, or, while Redis checks are in flight, after the last one has
 * called its callback (they still do, exactly once, with a local answer if
 * need be). Free it before or after the redis client, in either order. */
void ratelimit_free(ratelimit_t *rl);

typedef void (*ratelimit_cb)(const ratelimit_result_t *res, void *data);

enum { RATELIMIT_DONE = 0, RATELIMIT_PENDING = 1 };

/* Counts one request of workspace_id.
 * RATELIMIT_DONE: decided now (limit disabled, no or empty workspace, no
 * Redis, or Redis down); *out is filled and cb is not called.
 * RATELIMIT_PENDING: asked Redis; cb runs exactly once later, within the
 * client's command timeout, and data must live until then.
 * A NULL or empty workspace_id is not limited. */
int ratelimit_check(ratelimit_t *rl, const char *workspace_id, ratelimit_cb cb, void *data,
                    ratelimit_result_t *out);

int ratelimit_limit(const ratelimit_t *rl);
/* 1 when checks are answered locally although Redis is configured: Redis
 * is down, or up and refusing the script (e.g. a read-only replica). For
 * /ready. */
int ratelimit_degraded(const ratelimit_t *rl);

#endif
