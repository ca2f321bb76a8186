/* core/backoff: the doubling, the cap, and equal jitter, with the jitter
 * source replaced so that every delay is known. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cache/redis_internal.h"
#include "core/backoff.h"

static uint64_t fixed_source(void *ud)
{
    return *(const uint64_t *)ud;
}

static backoff_rng_t fixed_rng(uint64_t *value)
{
    backoff_rng_t rng = {.state = 1, .source = fixed_source, .ud = value};
    return rng;
}

static void test_ceiling_doubles_then_caps(void **state)
{
    (void)state;
    assert_int_equal(backoff_ceiling_ms(500, 20000, 0), 500);
    assert_int_equal(backoff_ceiling_ms(500, 20000, 1), 1000);
    assert_int_equal(backoff_ceiling_ms(500, 20000, 5), 16000);
    assert_int_equal(backoff_ceiling_ms(500, 20000, 6), 20000);
    assert_int_equal(backoff_ceiling_ms(500, 20000, 1000000), 20000);
    /* A base above the cap gives the cap, as both old copies did. */
    assert_int_equal(backoff_ceiling_ms(800, 100, 0), 100);
}

static void test_ceiling_never_wraps(void **state)
{
    (void)state;
    uint64_t big = UINT64_MAX / 2 + 7;
    assert_int_equal(backoff_ceiling_ms(big, UINT64_MAX, 3), big);
    assert_int_equal(backoff_ceiling_ms(3, UINT64_MAX, 4000), 3ULL << 62);
}

static void test_equal_jitter_bounds(void **state)
{
    (void)state;
    uint64_t v = 0;
    backoff_rng_t rng = fixed_rng(&v);
    /* ceiling 1000: half fixed, then source % 501 */
    assert_int_equal(backoff_delay_ms(&rng, 500, 20000, 1), 500);
    v = 500;
    assert_int_equal(backoff_delay_ms(&rng, 500, 20000, 1), 1000);
    v = 501;
    assert_int_equal(backoff_delay_ms(&rng, 500, 20000, 1), 500);
    v = 123;
    assert_int_equal(backoff_delay_ms(&rng, 100, 5000, 0), 50 + 123 % 51);
    v = UINT64_MAX;
    assert_int_equal(backoff_delay_ms(&rng, 100, 5000, 10), 2500 + UINT64_MAX % 2501);
}

static void test_default_source_stays_in_range(void **state)
{
    (void)state;
    backoff_rng_t rng;
    int salt = 0;
    backoff_rng_seed(&rng, &salt);
    assert_null(rng.source);
    assert_int_not_equal(rng.state, 0);
    int low_half = 0, high_half = 0;
    for (int i = 0; i < 2000; i++) {
        uint64_t d = backoff_delay_ms(&rng, 100, 5000, 3);
        assert_in_range(d, 400, 800);
        if (d < 600)
            low_half++;
        else
            high_half++;
    }
    /* Spread, not a constant: both halves of the window are drawn. */
    assert_true(low_half > 0 && high_half > 0);
}

/* The built-in source is xorshift64*, Redis's old one: pinned so that a
 * change of generator is a visible choice. */
static void test_default_source_is_xorshift64star(void **state)
{
    (void)state;
    backoff_rng_t rng = {.state = 1, .source = NULL, .ud = NULL};
    assert_int_equal(backoff_rng_next(&rng), 0x47e4ce4b896cdd1dULL);
    assert_int_equal(rng.state, 0x2000001);
}

/* Redis counts failures from 1: the first waits up to backoff_min, as
 * before the shared copy. */
static void test_redis_failures_map_to_doublings(void **state)
{
    (void)state;
    uint64_t v = 1000000;
    redis_client_t c;
    memset(&c, 0, sizeof c);
    c.opt.backoff_min_ms = 100;
    c.opt.backoff_max_ms = 5000;
    c.rng = fixed_rng(&v);
    assert_int_equal(redis_backoff_ms(&c, 0), 50 + 1000000 % 51);
    assert_int_equal(redis_backoff_ms(&c, 1), 50 + 1000000 % 51);
    assert_int_equal(redis_backoff_ms(&c, 3), 200 + 1000000 % 201);
    assert_int_equal(redis_backoff_ms(&c, 40), 2500 + 1000000 % 2501);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ceiling_doubles_then_caps),
        cmocka_unit_test(test_ceiling_never_wraps),
        cmocka_unit_test(test_equal_jitter_bounds),
        cmocka_unit_test(test_default_source_stays_in_range),
        cmocka_unit_test(test_default_source_is_xorshift64star),
        cmocka_unit_test(test_redis_failures_map_to_doublings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
