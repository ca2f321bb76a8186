/* Exponential back-off with equal jitter, for anything that retries: the
 * HTTP client's model calls and the Redis reconnect loop. */
#ifndef AGENTOS_CORE_BACKOFF_H
#define AGENTOS_CORE_BACKOFF_H

#include <stdint.h>

/* Where the jitter comes from. The default is a xorshift64* state (jitter
 * needs spread, not secrecy); a test sets source to get chosen values. */
typedef struct backoff_rng {
    uint64_t state;
    uint64_t (*source)(void *ud); /* NULL: the xorshift64* state */
    void *ud;
} backoff_rng_t;

/* Seeds from the monotonic clock and salt (e.g. the owner's address), so
 * that loops and replicas started together still draw apart. */
void backoff_rng_seed(backoff_rng_t *rng, const void *salt);
uint64_t backoff_rng_next(backoff_rng_t *rng);

/* base_ms doubled `doublings` times, capped at cap_ms (a cap below base
 * gives the cap); no overflow whatever the count. */
uint64_t backoff_ceiling_ms(uint64_t base_ms, uint64_t cap_ms, unsigned doublings);

/* The delay before a retry: half the ceiling above fixed, up to the other
 * half drawn from rng ("equal jitter"), so that callers refused together do
 * not come back together. Never more than the ceiling. */
uint64_t backoff_delay_ms(backoff_rng_t *rng, uint64_t base_ms, uint64_t cap_ms,
                          unsigned doublings);

#endif
