#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "agent/tools_builtin.h"

/* Calls a tool and parses its JSON result; fails the test on an error. */
static json_t *call_ok(const char *name, const char *args)
{
    int is_error = -1;
    char *out = tools_builtin_call(name, args, "ws-1", "user-1", &is_error);
    assert_non_null(out);
    if (is_error != 0)
        fail_msg("%s(%s) failed: %s", name, args ? args : "NULL", out);
    json_error_t jerr;
    json_t *res = json_loads(out, 0, &jerr);
    if (!res)
        fail_msg("%s returned no JSON: %s", name, out);
    free(out);
    return res;
}

/* Expects an error result that mentions `what`. */
static void call_err(const char *name, const char *args, const char *what)
{
    int is_error = 0;
    char *out = tools_builtin_call(name, args, "ws-1", "user-1", &is_error);
    assert_non_null(out);
    int ok = is_error == 1 && strstr(out, what) != NULL;
    if (!ok)
        print_error("%s(%.80s): expected an error with '%s', got %d '%s'\n", name,
                    args ? args : "NULL", what, is_error, out);
    free(out);
    assert_true(ok);
}

static const char *str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    assert_non_null(s);
    return s;
}

/* ---- the table ---- */

static void test_known_and_schemas(void **state)
{
    (void)state;
    assert_true(tools_builtin_known("current_time"));
    assert_true(tools_builtin_known("calculator"));
    assert_true(tools_builtin_known("date_diff"));
    assert_true(tools_builtin_known("date_add"));
    assert_false(tools_builtin_known("shell"));
    assert_false(tools_builtin_known(""));
    assert_false(tools_builtin_known(NULL));
    assert_null(tools_builtin_schema("shell"));

    size_t n = 0;
    for (const char *name; (name = tools_builtin_name(n)) != NULL; n++) {
        json_t *s = tools_builtin_schema(name);
        assert_non_null(s);
        assert_string_equal(str(s, "name"), name);
        assert_true(strlen(str(s, "description")) > 20);
        json_t *params = json_object_get(s, "parameters");
        assert_string_equal(str(params, "type"), "object");
        assert_true(json_is_object(json_object_get(params, "properties")));
        json_decref(s);
    }
    assert_int_equal(n, 4);
}

static void test_unknown_tool_and_bad_arguments(void **state)
{
    (void)state;
    call_err("shell", "{}", "unknown tool 'shell'");
    call_err(NULL, "{}", "unknown tool");
    call_err("calculator", "{\"expression\": ", "not valid JSON");
    call_err("calculator", "[1, 2]", "must be a JSON object");
    call_err("calculator", "\"1+1\"", "must be a JSON object");
    call_err("calculator", "{\"expression\":\"1\",\"expression\":\"2\"}", "not valid JSON");
    call_err("calculator", "{}", "missing argument 'expression'");
    call_err("calculator", "{\"expression\": 12}", "'expression' must be a string");
    call_err("calculator", "{\"expression\":\"1\",\"precision\":2}",
             "unknown argument 'precision'");

    char *big = malloc(70000);
    memset(big, ' ', 69999);
    big[0] = '{';
    big[69997] = '}';
    big[69998] = '\0';
    call_err("calculator", big, "too long");
    free(big);
}

/* ---- current_time ---- */

static void check_time_fields(json_t *res, long offset, const char *suffix)
{
    time_t t = (time_t)json_integer_value(json_object_get(res, "unix")) + offset;
    assert_true(llabs((long long)(t - offset) - (long long)time(NULL)) <= 2);
    struct tm tm;
    gmtime_r(&t, &tm);
    char expect[64];
    strftime(expect, sizeof(expect), "%Y-%m-%dT%H:%M:%S", &tm);
    strcat(expect, suffix);
    assert_string_equal(str(res, "datetime"), expect);
    strftime(expect, sizeof(expect), "%Y-%m-%d", &tm);
    assert_string_equal(str(res, "date"), expect);
    strftime(expect, sizeof(expect), "%H:%M:%S", &tm);
    assert_string_equal(str(res, "time"), expect);
    strftime(expect, sizeof(expect), "%A", &tm);
    assert_string_equal(str(res, "weekday"), expect);
}

static void test_current_time_utc(void **state)
{
    (void)state;
    const char *inputs[] = {NULL,
                            "",
                            "  ",
                            "{}",
                            "{\"timezone\":\"UTC\"}",
                            "{\"timezone\":\"utc\"}",
                            "{\"timezone\":\"Z\"}",
                            "{\"timezone\":null}"};
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        json_t *res = call_ok("current_time", inputs[i]);
        assert_string_equal(str(res, "timezone"), "UTC");
        check_time_fields(res, 0, "Z");
        json_decref(res);
    }
}

static void test_current_time_offsets(void **state)
{
    (void)state;
    static const struct {
        const char *tz, *name;
        long offset;
    } cases[] = {
        {"+02:00", "+02:00", 7200},   {"-05:30", "-05:30", -19800}, {"+0530", "+05:30", 19800},
        {"UTC+2", "+02:00", 7200},    {"GMT-3", "-03:00", -10800},  {"+14:00", "+14:00", 50400},
        {"-12:00", "-12:00", -43200},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char args[64];
        snprintf(args, sizeof(args), "{\"timezone\":\"%s\"}", cases[i].tz);
        json_t *res = call_ok("current_time", args);
        assert_string_equal(str(res, "timezone"), cases[i].name);
        check_time_fields(res, cases[i].offset, cases[i].name);
        json_decref(res);
    }
}

static void test_current_time_errors(void **state)
{
    (void)state;
    call_err("current_time", "{\"timezone\":\"Europe/Berlin\"}", "unsupported timezone");
    call_err("current_time", "{\"timezone\":\"+15:00\"}", "unsupported timezone");
    call_err("current_time", "{\"timezone\":\"-13:00\"}", "unsupported timezone");
    call_err("current_time", "{\"timezone\":\"+02:60\"}", "unsupported timezone");
    call_err("current_time", "{\"timezone\":\"+2:00\"}", "unsupported timezone");
    call_err("current_time", "{\"timezone\":\"\"}", "unsupported timezone");
    call_err("current_time", "{\"timezone\":2}", "'timezone' must be a string");
    call_err("current_time", "{\"tz\":\"UTC\"}", "unknown argument 'tz'");
}

/* ---- calculator ---- */

static void expect_calc(const char *expr, const char *result)
{
    char args[512];
    snprintf(args, sizeof(args), "{\"expression\":\"%s\"}", expr);
    int is_error = -1;
    char *out = tools_builtin_call("calculator", args, NULL, NULL, &is_error);
    char expect[512];
    snprintf(expect, sizeof(expect), "{\"expression\":\"%s\",\"result\":%s}", expr, result);
    if (is_error || strcmp(out, expect))
        fail_msg("%s: got %d %s, want %s", expr, is_error, out, expect);
    free(out);
}

static void test_calculator(void **state)
{
    (void)state;
    expect_calc("1 + 2 * 3", "7");
    expect_calc("(1 + 2) * 3", "9");
    expect_calc("10 / 4", "2.5");
    expect_calc("10 % 3", "1");
    expect_calc("7.5 % 2", "1.5");
    expect_calc("-(2.5 * 2)", "-5");
    expect_calc("--3", "3");
    expect_calc("+4 - -1", "5");
    expect_calc("0.1 + 0.2", "0.3");
    expect_calc(".5 + 1.", "1.5");
    expect_calc("2 - 3 - 4", "-5");
    expect_calc("100 / 10 / 5", "2");
    expect_calc("0 * -1", "0");
    expect_calc("(1250.50 - 200) * 0.2", "210.1");
    expect_calc("\\t( 1 )\\t", "1");
    expect_calc("1 / 3", "0.333333333333333");
}

static void test_calculator_errors(void **state)
{
    (void)state;
    const char *name = "calculator";
    call_err(name, "{\"expression\":\"1 / 0\"}", "division by zero");
    call_err(name, "{\"expression\":\"1 / (2 - 2)\"}", "division by zero");
    call_err(name, "{\"expression\":\"5 % 0\"}", "modulo by zero");
    call_err(name, "{\"expression\":\"\"}", "expression is empty");
    call_err(name, "{\"expression\":\"1 +\"}", "unexpected end of expression");
    call_err(name, "{\"expression\":\"2 * (3\"}", "missing ')'");
    call_err(name, "{\"expression\":\"2 * 3)\"}", "unexpected ')' at position 6");
    call_err(name, "{\"expression\":\"abc\"}", "unexpected 'a' at position 1");
    call_err(name, "{\"expression\":\"1e5\"}", "unexpected 'e' at position 2");
    call_err(name, "{\"expression\":\"1.2.3\"}", "unexpected '.' at position 4");
    call_err(name, "{\"expression\":\"2 ^ 3\"}", "unexpected '^'");
    call_err(name, "{\"expression\":\"()\"}", "unexpected ')'");

    char args[600], expr[300];
    memset(expr, '1', 70);
    expr[70] = '\0';
    snprintf(args, sizeof(args), "{\"expression\":\"%s\"}", expr);
    call_err(name, args, "number too long");

    memset(expr, '1', 257);
    expr[257] = '\0';
    snprintf(args, sizeof(args), "{\"expression\":\"%s\"}", expr);
    call_err(name, args, "too long");
}

static char *nested(int levels, char open, const char *inner)
{
    char *s = malloc((size_t)levels * 2 + strlen(inner) + 64);
    int n = sprintf(s, "{\"expression\":\"");
    for (int i = 0; i < levels; i++)
        s[n++] = open;
    n += sprintf(s + n, "%s", inner);
    for (int i = 0; open == '(' && i < levels; i++)
        s[n++] = ')';
    sprintf(s + n, "\"}");
    return s;
}

static void test_calculator_depth(void **state)
{
    (void)state;
    char *ok = nested(30, '(', "42");
    json_t *res = call_ok("calculator", ok);
    assert_int_equal(json_integer_value(json_object_get(res, "result")), 42);
    json_decref(res);
    free(ok);

    char *deep = nested(40, '(', "1");
    call_err("calculator", deep, "nested too deeply");
    free(deep);
    char *unary = nested(100, '-', "1");
    call_err("calculator", unary, "nested too deeply");
    free(unary);
}

/* ---- date_diff, date_add ---- */

static void test_date_diff(void **state)
{
    (void)state;
    json_t *r = call_ok("date_diff", "{\"start\":\"2024-01-01\",\"end\":\"2024-03-01\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "days")), 60); /* leap year */
    assert_string_equal(str(r, "start_weekday"), "Monday");
    assert_string_equal(str(r, "end_weekday"), "Friday");
    json_decref(r);

    r = call_ok("date_diff", "{\"start\":\"2024-01-01\",\"end\":\"2024-01-08\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "days")), 7);
    assert_int_equal(json_integer_value(json_object_get(r, "business_days")), 5);
    json_decref(r);

    /* Friday to the next Tuesday: Friday and Monday. */
    r = call_ok("date_diff", "{\"start\":\"2024-03-01\",\"end\":\"2024-03-05\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "business_days")), 2);
    json_decref(r);

    r = call_ok("date_diff", "{\"start\":\"2024-03-05\",\"end\":\"2024-03-01\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "days")), -4);
    assert_int_equal(json_integer_value(json_object_get(r, "business_days")), -2);
    json_decref(r);

    r = call_ok("date_diff", "{\"start\":\"1999-12-31\",\"end\":\"2000-01-01\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "days")), 1);
    json_decref(r);

    r = call_ok("date_diff", "{\"start\":\"0001-01-01\",\"end\":\"9999-12-31\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "days")), 3652058);
    json_decref(r);
}

static void test_date_diff_errors(void **state)
{
    (void)state;
    call_err("date_diff", "{\"start\":\"2024-01-01\"}", "missing argument 'end'");
    call_err("date_diff", "{\"end\":\"2024-01-01\"}", "missing argument 'start'");
    call_err("date_diff", "{\"start\":\"2023-02-29\",\"end\":\"2024-01-01\"}",
             "'start' must be a date as YYYY-MM-DD");
    call_err("date_diff", "{\"start\":\"2024-1-1\",\"end\":\"2024-01-01\"}", "YYYY-MM-DD");
    call_err("date_diff", "{\"start\":\"2024-13-01\",\"end\":\"2024-01-01\"}", "YYYY-MM-DD");
    call_err("date_diff", "{\"start\":\"0000-01-01\",\"end\":\"2024-01-01\"}", "YYYY-MM-DD");
    call_err("date_diff", "{\"start\":\"2024-01-01\",\"end\":20240101}", "'end' must be a string");
    call_err("date_diff", "{\"start\":\"2024-01-01\",\"end\":\"2024-01-02\",\"x\":1}",
             "unknown argument 'x'");
}

static void test_date_add(void **state)
{
    (void)state;
    json_t *r = call_ok("date_add", "{\"date\":\"2024-01-31\",\"days\":30}");
    assert_string_equal(str(r, "date"), "2024-03-01");
    assert_string_equal(str(r, "weekday"), "Friday");
    json_decref(r);

    r = call_ok("date_add", "{\"date\":\"2024-03-01\",\"days\":-1}");
    assert_string_equal(str(r, "date"), "2024-02-29");
    assert_string_equal(str(r, "weekday"), "Thursday");
    json_decref(r);

    r = call_ok("date_add", "{\"date\":\"2023-12-31\",\"days\":0}");
    assert_string_equal(str(r, "date"), "2023-12-31");
    assert_string_equal(str(r, "weekday"), "Sunday");
    json_decref(r);
}

static void test_date_add_errors(void **state)
{
    (void)state;
    call_err("date_add", "{\"date\":\"2024-01-01\"}", "missing argument 'days'");
    call_err("date_add", "{\"days\":1}", "missing argument 'date'");
    call_err("date_add", "{\"date\":\"2024-01-01\",\"days\":\"3\"}", "whole number");
    call_err("date_add", "{\"date\":\"2024-01-01\",\"days\":1.5}", "whole number");
    call_err("date_add", "{\"date\":\"2024-01-01\",\"days\":99999999999}", "whole number");
    call_err("date_add", "{\"date\":\"9999-12-31\",\"days\":1}", "outside the years");
    call_err("date_add", "{\"date\":\"0001-01-01\",\"days\":-1}", "outside the years");
    call_err("date_add", "{\"date\":\"31.01.2024\",\"days\":1}", "YYYY-MM-DD");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_and_schemas),
        cmocka_unit_test(test_unknown_tool_and_bad_arguments),
        cmocka_unit_test(test_current_time_utc),
        cmocka_unit_test(test_current_time_offsets),
        cmocka_unit_test(test_current_time_errors),
        cmocka_unit_test(test_calculator),
        cmocka_unit_test(test_calculator_errors),
        cmocka_unit_test(test_calculator_depth),
        cmocka_unit_test(test_date_diff),
        cmocka_unit_test(test_date_diff_errors),
        cmocka_unit_test(test_date_add),
        cmocka_unit_test(test_date_add_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
