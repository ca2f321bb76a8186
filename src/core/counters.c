/* The slots are arrays of atomic words laid out like counters_snapshot_t,
 * so one loop over the words both sums and zeroes them. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/counters.h"

#define WORDS (sizeof(counters_snapshot_t) / sizeof(uint64_t))
#define AT(field) (offsetof(counters_snapshot_t, field) / sizeof(uint64_t))

typedef struct slot {
    _Atomic uint64_t w[WORDS];
} slot_t;

const double counters_bucket_le[COUNTERS_BUCKETS - 1] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                         0.5,   1,    2.5,   5,    10};

static const int status_codes[COUNTERS_STATUSES - 1] = {
    200, 201, 202, 204, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 431, 500, 502, 503, 504};

/* Slot 0 is shared; loop i writes slot i + 1. */
static slot_t *slots;
static int nslots;
static _Thread_local slot_t *mine;

int counters_init(int loops)
{
    if (loops < 0)
        loops = 0;
    slots = calloc((size_t)loops + 1, sizeof(slot_t));
    if (slots == NULL)
        return -1;
    nslots = loops + 1;
    for (int s = 0; s < nslots; s++)
        for (size_t i = 0; i < WORDS; i++)
            atomic_init(&slots[s].w[i], 0);
    return 0;
}

void counters_free(void)
{
    free(slots);
    slots = NULL;
    nslots = 0;
    mine = NULL;
}

void counters_attach(int index)
{
    mine = slots != NULL && index >= 0 && index + 1 < nslots ? &slots[index + 1] : NULL;
}

static void add(size_t word, uint64_t n)
{
    slot_t *s = mine != NULL ? mine : slots;
    if (s != NULL && word < WORDS)
        atomic_fetch_add_explicit(&s->w[word], n, memory_order_relaxed);
}

int counters_status_code(int i)
{
    return i >= 0 && i < COUNTERS_STATUSES - 1 ? status_codes[i] : 0;
}

static int status_index(int status)
{
    for (int i = 0; i < COUNTERS_STATUSES - 1; i++)
        if (status_codes[i] == status)
            return i;
    return COUNTERS_STATUSES - 1;
}

static int bucket_of(uint64_t us)
{
    double s = (double)us / 1e6;
    int b = 0;
    while (b < COUNTERS_BUCKETS - 1 && s > counters_bucket_le[b])
        b++;
    return b;
}

void counters_request(int route, int status, uint64_t duration_us)
{
    if (route < 0 || route > COUNTERS_MAX_ROUTES)
        route = COUNTERS_MAX_ROUTES;
    add(AT(requests) + (size_t)route * COUNTERS_STATUSES + (size_t)status_index(status), 1);
    add(AT(latency_bucket) + (size_t)bucket_of(duration_us), 1);
    add(AT(latency_sum_us), duration_us);
}

void counters_run_started(void)
{
    add(AT(runs_started), 1);
}

void counters_run_ended(run_status_t status)
{
    counters_outcome_t o = status == RUN_STATUS_COMPLETED   ? COUNTERS_RUN_COMPLETED
                           : status == RUN_STATUS_ERROR     ? COUNTERS_RUN_ERROR
                           : status == RUN_STATUS_CANCELLED ? COUNTERS_RUN_CANCELLED
                                                            : COUNTERS_RUN_OTHER;
    add(AT(runs_ended) + (size_t)o, 1);
}

void counters_model_call(int provider, long long input_tokens, long long output_tokens,
                         uint64_t duration_us)
{
    if (provider < 0 || provider >= COUNTERS_PROVIDERS)
        return;
    size_t p = (size_t)provider;
    add(AT(model_calls) + p, 1);
    add(AT(model_input_tokens) + p, input_tokens > 0 ? (uint64_t)input_tokens : 0);
    add(AT(model_output_tokens) + p, output_tokens > 0 ? (uint64_t)output_tokens : 0);
    add(AT(model_bucket) + p * COUNTERS_BUCKETS + (size_t)bucket_of(duration_us), 1);
    add(AT(model_sum_us) + p, duration_us);
}

void counters_store_error(void)
{
    add(AT(store_errors), 1);
}

void counters_redis_error(void)
{
    add(AT(redis_errors), 1);
}

void counters_token_cache(int hit)
{
    add(hit ? AT(token_cache_hits) : AT(token_cache_misses), 1);
}

void counters_jwks_load(int ok)
{
    add(ok ? AT(jwks_loads_ok) : AT(jwks_loads_failed), 1);
}

/* A gauge in the shared slot: the other slots keep 0 there, so the sum
 * counters_read makes is the value. */
void counters_jwks_keys(size_t keys)
{
    if (slots != NULL)
        atomic_store_explicit(&slots[0].w[AT(jwks_keys)], (uint64_t)keys, memory_order_relaxed);
}

void counters_read(counters_snapshot_t *out)
{
    uint64_t *w = (uint64_t *)out;
    memset(out, 0, sizeof *out);
    for (int s = 0; s < nslots; s++)
        for (size_t i = 0; i < WORDS; i++)
            w[i] += atomic_load_explicit(&slots[s].w[i], memory_order_relaxed);
}
