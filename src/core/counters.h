/* Process counters for Prometheus: one slot per loop thread, written with
 * relaxed atomics and no lock, summed only when scraped. A thread that
 * has no slot of its own (the store's pool, the main thread) writes the
 * shared slot 0, still with atomics. */
#ifndef AGENTOS_CORE_COUNTERS_H
#define AGENTOS_CORE_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "core/run_status.h"

#define COUNTERS_MAX_ROUTES 64 /* route indexes past it count as "other" */
#define COUNTERS_STATUSES 20   /* the codes of counters_status_code, then "other" */
#define COUNTERS_BUCKETS 12    /* latency buckets, the last one +Inf */
#define COUNTERS_PROVIDERS 8   /* slots, in the provider table's order; the table may be shorter */

typedef enum {
    COUNTERS_RUN_COMPLETED = 0,
    COUNTERS_RUN_ERROR,
    COUNTERS_RUN_CANCELLED,
    COUNTERS_RUN_OTHER,
    COUNTERS_RUN_OUTCOMES
} counters_outcome_t;

/* Plain sums, as counters_read gives them. Latency buckets are not
 * cumulative here (the exposition makes them so). Route index
 * COUNTERS_MAX_ROUTES holds the requests no route matched. */
typedef struct counters_snapshot {
    uint64_t requests[COUNTERS_MAX_ROUTES + 1][COUNTERS_STATUSES];
    uint64_t latency_bucket[COUNTERS_BUCKETS];
    uint64_t latency_sum_us;
    uint64_t runs_started;
    uint64_t runs_ended[COUNTERS_RUN_OUTCOMES];
    uint64_t model_calls[COUNTERS_PROVIDERS];
    uint64_t model_input_tokens[COUNTERS_PROVIDERS];
    uint64_t model_output_tokens[COUNTERS_PROVIDERS];
    uint64_t model_bucket[COUNTERS_PROVIDERS][COUNTERS_BUCKETS];
    uint64_t model_sum_us[COUNTERS_PROVIDERS];
    uint64_t store_errors;
    uint64_t redis_errors;
    uint64_t token_cache_hits;
    uint64_t token_cache_misses;
    uint64_t jwks_loads_ok;     /* better-auth key set loads that succeeded */
    uint64_t jwks_loads_failed; /* and that failed (the last good set stays) */
    uint64_t jwks_keys;         /* a gauge: keys in the set in use */
} counters_snapshot_t;

/* Upper bounds of the latency buckets in seconds (the last is +Inf). */
extern const double counters_bucket_le[COUNTERS_BUCKETS - 1];

/* Slots for `loops` loop threads; 0 on success. Before any thread runs. */
int counters_init(int loops);
/* After every thread has stopped. */
void counters_free(void);
/* This thread is loop `index` from now on (an index out of range: slot 0). */
void counters_attach(int index);

/* The HTTP status code of status index i, 0 for the "other" index. */
int counters_status_code(int i);

void counters_request(int route, int status, uint64_t duration_us);
void counters_run_started(void);
/* status: the run's final status (COMPLETED, ERROR, CANCELLED; any other
 * counts as "OTHER"). */
void counters_run_ended(run_status_t status);
void counters_model_call(int provider, long long input_tokens, long long output_tokens,
                         uint64_t duration_us);
void counters_store_error(void);
void counters_redis_error(void);
void counters_token_cache(int hit);
void counters_jwks_load(int ok);
/* Sets the gauge (one writer: the key set's loader). */
void counters_jwks_keys(size_t keys);

/* The sum of every slot, read with atomics while the loops run. */
void counters_read(counters_snapshot_t *out);

#endif
