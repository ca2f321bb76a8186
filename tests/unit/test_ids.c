#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core/ids.h"
#include "core/timeutil.h"

static void test_uuid4_shape_and_uniqueness(void **state)
{
    (void)state;
    char a[IDS_UUID_LEN + 1], b[IDS_UUID_LEN + 1];
    for (int i = 0; i < 1000; i++) {
        ids_uuid4(a);
        ids_uuid4(b);
        assert_int_equal(strlen(a), IDS_UUID_LEN);
        assert_int_equal(a[8], '-');
        assert_int_equal(a[13], '-');
        assert_int_equal(a[14], '4');
        assert_non_null(strchr("89ab", a[19]));
        assert_string_not_equal(a, b);
    }
}

static void test_request_id_sanity(void **state)
{
    (void)state;
    assert_true(ids_request_id_ok("abc-123_X.y:z", 13));
    assert_false(ids_request_id_ok("", 0));
    assert_false(ids_request_id_ok("has space", 9));
    assert_false(ids_request_id_ok("quote\"", 6));
    assert_false(ids_request_id_ok("nl\n", 3));
    char longid[200];
    memset(longid, 'a', sizeof(longid));
    assert_true(ids_request_id_ok(longid, 128));
    assert_false(ids_request_id_ok(longid, 129));
}

static void test_id_rule(void **state)
{
    (void)state;
    assert_true(ids_valid("s1", 2));
    assert_true(ids_valid("victim", 6));
    assert_true(ids_valid("a b:c/d?e#f", 11)); /* printable is printable */
    assert_true(ids_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
    assert_false(ids_valid("", 0));
    assert_false(ids_valid(NULL, 0));
    assert_false(ids_valid("s1\r\nX-Workspace-Id: wb", 24));
    assert_false(ids_valid("s1\n", 3));
    assert_false(ids_valid("s1\r", 3));
    assert_false(ids_valid("tab\there", 8));
    assert_false(ids_valid("victim\0x", 8)); /* the length is the id's, NUL and all */
    assert_false(ids_valid("del\x7f", 4));
    assert_false(ids_valid("c1\xc2\x85", 4));      /* U+0085, a C1 control (NEL) */
    assert_false(ids_valid("bad\xff", 4));         /* not UTF-8 */
    assert_false(ids_valid("cut\xc3", 4));         /* a sequence cut short */
    assert_false(ids_valid("long\xc0\xaf", 6));    /* an overlong '/' */
    assert_false(ids_valid("sur\xed\xa0\x80", 6)); /* a UTF-16 surrogate */
    char longid[200];
    memset(longid, 'a', sizeof(longid));
    assert_true(ids_valid(longid, IDS_MAX_BYTES));
    assert_false(ids_valid(longid, IDS_MAX_BYTES + 1));
    assert_false(ids_valid(longid, 256));
}

static void test_iso8601(void **state)
{
    (void)state;
    char out[TIMEUTIL_ISO_LEN];
    timeutil_iso8601(1764154945123456ull, out);
    assert_string_equal(out, "2025-11-26T11:02:25.123Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid4_shape_and_uniqueness),
        cmocka_unit_test(test_request_id_sanity),
        cmocka_unit_test(test_id_rule),
        cmocka_unit_test(test_iso8601),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
