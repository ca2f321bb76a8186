/* The run's status table (core/run_status) and its state machine
 * (agent/run.c): names round-trip, unknown names are refused, and only the
 * legal phase transitions pass the check run_enter asserts on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/run_status.h"

static void test_status_names_round_trip(void **state)
{
    (void)state;
    static const char *const want[RUN_STATUS_COUNT] = {"PENDING", "RUNNING",   "COMPLETED",
                                                       "PAUSED",  "CANCELLED", "ERROR"};
    for (int i = 0; i < RUN_STATUS_COUNT; i++) {
        assert_string_equal(run_status_name((run_status_t)i), want[i]);
        run_status_t s = RUN_STATUS_COUNT;
        assert_int_equal(run_status_parse(want[i], &s), 0);
        assert_int_equal(s, i);
    }
    assert_string_equal(run_status_name(RUN_STATUS_COUNT), "");
}

static void test_status_parse_refuses_unknown(void **state)
{
    (void)state;
    run_status_t s = RUN_STATUS_PENDING;
    assert_int_equal(run_status_parse(NULL, &s), -1);
    assert_int_equal(run_status_parse("", &s), -1);
    assert_int_equal(run_status_parse("running", &s), -1); /* exact text, as the column */
    assert_int_equal(run_status_parse("REGENERATED", &s), -1);
    assert_int_equal(run_status_parse("COMPLETEDX", &s), -1);
    assert_int_equal(s, RUN_STATUS_PENDING);
}

static void test_status_open(void **state)
{
    (void)state;
    assert_true(run_status_is_open(RUN_STATUS_PENDING));
    assert_true(run_status_is_open(RUN_STATUS_RUNNING));
    assert_false(run_status_is_open(RUN_STATUS_COMPLETED));
    assert_false(run_status_is_open(RUN_STATUS_PAUSED));
    assert_false(run_status_is_open(RUN_STATUS_CANCELLED));
    assert_false(run_status_is_open(RUN_STATUS_ERROR));
    assert_true(run_status_name_is_open("RUNNING"));
    assert_true(run_status_name_is_open("PENDING"));
    assert_false(run_status_name_is_open("ERROR"));
    assert_false(run_status_name_is_open(NULL));
    assert_false(run_status_name_is_open("bogus"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names_round_trip),
        cmocka_unit_test(test_status_parse_refuses_unknown),
        cmocka_unit_test(test_status_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
