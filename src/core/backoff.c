#include "core/backoff.h"

#include <stddef.h>
#include <stdint.h>

#include "core/timeutil.h"

void backoff_rng_seed(backoff_rng_t *rng, const void *salt)
{
    /* Never zero: a xorshift state of 0 stays 0. */
    rng->state = (timeutil_mono_us() ^ (uint64_t)(uintptr_t)salt) | 1;
    rng->source = NULL;
    rng->ud = NULL;
}

uint64_t backoff_rng_next(backoff_rng_t *rng)
{
    if (rng->source != NULL)
        return rng->source(rng->ud);
    rng->state ^= rng->state >> 12;
    rng->state ^= rng->state << 25;
    rng->state ^= rng->state >> 27;
    return rng->state * 2685821657736338717ULL;
}

uint64_t backoff_ceiling_ms(uint64_t base_ms, uint64_t cap_ms, unsigned doublings)
{
    uint64_t d = base_ms;
    /* Stops at the cap (or before a doubling could wrap), so the loop is
     * short and d never overflows. */
    for (unsigned i = 0; i < doublings && d < cap_ms && d <= UINT64_MAX / 2; i++)
        d *= 2;
    return d > cap_ms ? cap_ms : d;
}

uint64_t backoff_delay_ms(backoff_rng_t *rng, uint64_t base_ms, uint64_t cap_ms, unsigned doublings)
{
    uint64_t d = backoff_ceiling_ms(base_ms, cap_ms, doublings);
    return d / 2 + backoff_rng_next(rng) % (d / 2 + 1);
}
