/* The per-loop counters (src/core/counters.c) and their Prometheus text
 * (src/api/prometheus.c). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/prometheus.h"
#include "core/counters.h"

#define THREADS 4
#define PER_THREAD 20000

static int setup(void **state)
{
    (void)state;
    return counters_init(THREADS);
}

static int teardown(void **state)
{
    (void)state;
    counters_free();
    return 0;
}

static void *bump(void *arg)
{
    counters_attach((int)(intptr_t)arg);
    for (int i = 0; i < PER_THREAD; i++) {
        counters_request(1, 200, 1000);
        counters_token_cache(i % 4 == 0);
    }
    counters_run_started();
    counters_run_ended(RUN_STATUS_COMPLETED);
    return NULL;
}

/* Each loop writes its own slot, the pool the shared one: none is lost. */
static void test_slots_sum(void **state)
{
    (void)state;
    pthread_t t[THREADS + 1];
    for (int i = 0; i <= THREADS; i++) /* index THREADS has no slot: the shared one */
        assert_int_equal(pthread_create(&t[i], NULL, bump, (void *)(intptr_t)i), 0);
    for (int i = 0; i < PER_THREAD; i++)
        counters_store_error();
    for (int i = 0; i <= THREADS; i++)
        pthread_join(t[i], NULL);
    counters_snapshot_t s;
    counters_read(&s);
    assert_int_equal(s.requests[1][0], (THREADS + 1) * PER_THREAD);
    assert_int_equal(s.token_cache_hits, (THREADS + 1) * PER_THREAD / 4);
    assert_int_equal(s.token_cache_misses, (THREADS + 1) * PER_THREAD * 3 / 4);
    assert_int_equal(s.store_errors, PER_THREAD);
    assert_int_equal(s.runs_started, THREADS + 1);
    assert_int_equal(s.runs_ended[COUNTERS_RUN_COMPLETED], THREADS + 1);
    assert_int_equal(s.latency_bucket[0], (THREADS + 1) * PER_THREAD); /* 1 ms <= 5 ms */
}

static void test_labels_bounded(void **state)
{
    (void)state;
    counters_request(-1, 404, 10);                      /* no route matched */
    counters_request(COUNTERS_MAX_ROUTES + 5, 200, 10); /* out of range: unmatched too */
    counters_request(2, 299, 10);                       /* an odd status: "other" */
    counters_request(2, 422, 30 * 1000000ull);          /* past the last bound: +Inf */
    counters_run_ended(RUN_STATUS_PAUSED);              /* not an end: "OTHER" */
    counters_model_call(7, 1, 1, 1);                    /* no such provider: dropped */
    counters_model_call(1, 10, 3, 200000);
    counters_snapshot_t s;
    counters_read(&s);
    assert_int_equal(counters_status_code(7), 404);
    assert_int_equal(s.requests[COUNTERS_MAX_ROUTES][7], 1);
    assert_int_equal(s.requests[COUNTERS_MAX_ROUTES][0], 1);
    assert_int_equal(s.requests[2][COUNTERS_STATUSES - 1], 1);
    assert_int_equal(s.latency_bucket[COUNTERS_BUCKETS - 1], 1);
    assert_int_equal(s.runs_ended[COUNTERS_RUN_OTHER], 1);
    assert_int_equal(s.model_calls[0] + s.model_calls[1], 1);
    assert_int_equal(s.model_input_tokens[1], 10);
    assert_int_equal(s.model_bucket[1][5], 1); /* 0.2 s: le 0.25 */
}

static const http_route_t routes[] = {
    {"GET", "/health", NULL, 0, NULL},
    {"GET", "/sessions/{session_id}", NULL, 0, NULL},
};

/* Every sample line is `name{labels} value` or `name value`. */
static void assert_lines_parse(const char *text)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        if (*p != '#') {
            const char *sp = memrchr(p, ' ', (size_t)(nl - p));
            assert_non_null(sp);
            char *end;
            strtod(sp + 1, &end);
            assert_ptr_equal(end, nl);
            const char *brace = memchr(p, '{', (size_t)(sp - p));
            if (brace != NULL)
                assert_int_equal(sp[-1], '}');
        }
        p = nl + 1;
    }
}

static void test_exposition(void **state)
{
    (void)state;
    counters_request(1, 200, 3000);
    counters_request(1, 200, 7000);
    counters_request(1, 404, 20000);
    counters_request(-1, 404, 20000);
    counters_run_started();
    counters_model_call(0, 12, 5, 40000);
    counters_snapshot_t s;
    counters_read(&s);
    size_t len = 0;
    char *text = prometheus_render(&s, routes, 2, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    assert_lines_parse(text);
    assert_non_null(strstr(text, "# TYPE agentos_http_requests_total counter\n"));
    assert_non_null(strstr(text, "agentos_http_requests_total{method=\"GET\","
                                 "route=\"/sessions/{session_id}\",status=\"200\"} 2\n"));
    assert_non_null(strstr(text, "route=\"/sessions/{session_id}\",status=\"404\"} 1\n"));
    assert_non_null(strstr(text, "route=\"unmatched\",status=\"404\"} 1\n"));
    assert_null(strstr(text, "route=\"/health\"")); /* no sample for a zero count */
    /* Cumulative buckets: 3 ms, 7 ms, 20 ms, 20 ms. */
    assert_non_null(strstr(text, "agentos_http_request_duration_seconds_bucket{le=\"0.005\"} 1\n"));
    assert_non_null(strstr(text, "agentos_http_request_duration_seconds_bucket{le=\"0.01\"} 2\n"));
    assert_non_null(strstr(text, "agentos_http_request_duration_seconds_bucket{le=\"0.025\"} 4\n"));
    assert_non_null(strstr(text, "agentos_http_request_duration_seconds_bucket{le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(text, "agentos_http_request_duration_seconds_count 4\n"));
    assert_non_null(strstr(text, "agentos_http_request_duration_seconds_sum 0.050000\n"));
    assert_non_null(strstr(text, "agentos_runs_in_flight 1\n"));
    assert_non_null(
        strstr(text, "agentos_model_tokens_total{provider=\"OpenAI\",direction=\"input\"} 12\n"));
    assert_non_null(strstr(text, "agentos_model_request_duration_seconds_bucket{provider="
                                 "\"OpenAI\",le=\"0.05\"} 1\n"));
    assert_non_null(strstr(text, "agentos_token_cache_hits_total 0\n"));
    free(text);
}

/* Every slot of every label set counted, at the widest value, with route
 * templates twice as long as the longest real one (41 bytes): the text
 * stays four times under PROMETHEUS_TEXT_MAX. */
static void test_exposition_bound(void **state)
{
    (void)state;
    static http_route_t wide_routes[COUNTERS_MAX_ROUTES];
    static char pattern[COUNTERS_MAX_ROUTES][96];
    for (int i = 0; i < COUNTERS_MAX_ROUTES; i++) {
        snprintf(pattern[i], sizeof pattern[i], "/%02d%0*d", i, 80, 0);
        wide_routes[i] = (http_route_t){.method = "OPTIONS", .pattern = pattern[i]};
    }
    counters_snapshot_t *s = malloc(sizeof *s);
    assert_non_null(s);
    memset(s, 0xff, sizeof *s);
    size_t len = 0;
    char *text = prometheus_render(s, wide_routes, COUNTERS_MAX_ROUTES, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    assert_true(len < PROMETHEUS_TEXT_MAX / 4);
    free(text);
    /* Past the limit (a bug: templates of 16 KiB): nothing, not half a text. */
    static char huge[16 << 10];
    memset(huge, 'x', sizeof huge - 1);
    for (int i = 0; i < COUNTERS_MAX_ROUTES; i++)
        wide_routes[i].pattern = huge;
    assert_null(prometheus_render(s, wide_routes, COUNTERS_MAX_ROUTES, &len));
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_slots_sum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_labels_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exposition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exposition_bound, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
