#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/sse_parser.h"

/* Events are recorded as "name|data" lines, so one string compares all. */
typedef struct rec {
    char out[8192];
    size_t len;
    int count;
    int stop_after; /* 0: never stop */
} rec_t;

static int rec_event(void *ud, const char *event, const char *data, size_t len)
{
    rec_t *r = ud;
    assert_int_equal(strlen(data), len); /* NUL-terminated at len */
    int n = snprintf(r->out + r->len, sizeof(r->out) - r->len, "%s|%s\n", event, data);
    assert_true(n > 0 && (size_t)n < sizeof(r->out) - r->len);
    r->len += (size_t)n;
    r->count++;
    return r->stop_after && r->count >= r->stop_after;
}

/* Feeds s in chunks: sizes from cuts (positions), then finishes. */
static int feed_cuts(rec_t *r, size_t max, const char *s, size_t len, const size_t *cuts,
                     size_t ncuts, int *partial)
{
    memset(r, 0, sizeof(*r));
    sse_parser_t *p = sse_parser_new(max, rec_event, r);
    assert_non_null(p);
    size_t at = 0;
    int rc = 0;
    for (size_t i = 0; i <= ncuts && rc == 0; i++) {
        size_t end = cuts != NULL && i < ncuts ? cuts[i] : len; /* cuts is NULL when ncuts is 0 */
        rc = sse_parser_feed(p, s + at, end - at);
        at = end;
    }
    int part = sse_parser_finish(p);
    if (partial)
        *partial = part;
    sse_parser_free(p);
    return rc;
}

static int feed_whole(rec_t *r, size_t max, const char *s)
{
    return feed_cuts(r, max, s, strlen(s), NULL, 0, NULL);
}

static void test_basic_event(void **state)
{
    (void)state;
    rec_t r;
    assert_int_equal(feed_whole(&r, 1024, "data: hello\n\n"), 0);
    assert_string_equal(r.out, "message|hello\n");
}

static void test_line_endings(void **state)
{
    (void)state;
    rec_t r;
    assert_int_equal(feed_whole(&r, 1024, "data: a\r\rdata: b\r\n\r\ndata: c\n\n"), 0);
    assert_string_equal(r.out, "message|a\nmessage|b\nmessage|c\n");
}

static void test_crlf_split_across_chunks(void **state)
{
    (void)state;
    rec_t r;
    /* Were the LF after the split a line end of its own, "a" and "b"
     * would arrive as two events. */
    const char *s = "data: a\r\ndata: b\r\n\r\n";
    size_t cut = strlen("data: a\r");
    assert_int_equal(feed_cuts(&r, 1024, s, strlen(s), &cut, 1, NULL), 0);
    assert_string_equal(r.out, "message|a\nb\n");
    /* And a CR ending a chunk, then a CR: two line ends, one dispatch. */
    const char *t = "data: x\r\rdata: y\n\n";
    cut = strlen("data: x\r");
    assert_int_equal(feed_cuts(&r, 1024, t, strlen(t), &cut, 1, NULL), 0);
    assert_string_equal(r.out, "message|x\nmessage|y\n");
    /* A blank line split as CR | LF. */
    const char *u = "data: z\r\n\r\ndata: w\n\n";
    cut = strlen("data: z\r\n\r");
    assert_int_equal(feed_cuts(&r, 1024, u, strlen(u), &cut, 1, NULL), 0);
    assert_string_equal(r.out, "message|z\nmessage|w\n");
}

static void test_comments(void **state)
{
    (void)state;
    rec_t r;
    assert_int_equal(feed_whole(&r, 1024, ": ping\n\ndata: x\n:mid\ndata: y\n\n:\n\n"), 0);
    assert_string_equal(r.out, "message|x\ny\n");
}

static void test_multiline_data_and_spaces(void **state)
{
    (void)state;
    rec_t r;
    assert_int_equal(feed_whole(&r, 1024, "data: a\ndata:b\ndata\ndata:  c\ndata: \n\n"), 0);
    assert_string_equal(r.out, "message|a\nb\n\n c\n\n");
    assert_int_equal(feed_whole(&r, 1024, "data\n\n"), 0);
    assert_string_equal(r.out, "message|\n");
}

static void test_event_names(void **state)
{
    (void)state;
    rec_t r;
    const char *s = "event: foo\ndata: 1\n\ndata: 2\n\nevent: lost\n\ndata: 3\n\n"
                    "event: a\nevent: b\ndata: 4\n\nevent:\ndata: 5\n\n";
    assert_int_equal(feed_whole(&r, 1024, s), 0);
    assert_string_equal(r.out, "foo|1\nmessage|2\nmessage|3\nb|4\nmessage|5\n");
}

static void test_ignored_fields(void **state)
{
    (void)state;
    rec_t r;
    assert_int_equal(feed_whole(&r, 1024,
                                "id: 5\nretry: 10\nfoo: bar\ndatax: y\nData: z\n"
                                "data: x\nid\n\nid: 6\n\n"),
                     0);
    assert_string_equal(r.out, "message|x\n");
}

static void test_bom(void **state)
{
    (void)state;
    rec_t r;
    assert_int_equal(feed_whole(&r, 1024,
                                "\xEF\xBB\xBF"
                                "data: x\n\n"),
                     0);
    assert_string_equal(r.out, "message|x\n");
    /* Split a byte at a time. */
    const char *s = "\xEF\xBB\xBF"
                    "data: y\n\n";
    size_t cuts[] = {1, 2, 3};
    assert_int_equal(feed_cuts(&r, 1024, s, strlen(s), cuts, 3, NULL), 0);
    assert_string_equal(r.out, "message|y\n");
    /* Only at the start: later it is part of a field name. */
    assert_int_equal(feed_whole(&r, 1024,
                                "data: 1\n\n\xEF\xBB\xBF"
                                "data: 2\n\n"),
                     0);
    assert_string_equal(r.out, "message|1\n");
    /* Two bytes of a BOM and then not: the bytes are kept. */
    assert_int_equal(feed_whole(&r, 1024,
                                "\xEF\xBB"
                                "data: z\n\ndata: w\n\n"),
                     0);
    assert_string_equal(r.out, "message|w\n");
}

static void test_bound(void **state)
{
    (void)state;
    rec_t r;
    /* "data: " plus 10 bytes is a 16-byte line: fits 16, not 15. */
    assert_int_equal(feed_whole(&r, 16, "data: 0123456789\n\n"), 0);
    assert_string_equal(r.out, "message|0123456789\n");
    assert_int_equal(feed_whole(&r, 15, "data: 0123456789\n\n"), -1);
    assert_int_equal(r.count, 0);
    /* A long line spread over chunks. */
    const char *s = "data: 0123456789\n\n";
    size_t cuts[] = {3, 9, 12};
    assert_int_equal(feed_cuts(&r, 15, s, strlen(s), cuts, 3, NULL), -1);
    /* Lines that fit, whose joined data does not. */
    assert_int_equal(feed_whole(&r, 16, "data: 01234567\ndata: 01234567\n\n"), -1);
    /* A long comment is a long line too. */
    assert_int_equal(feed_whole(&r, 16, ": 0123456789012345678\n"), -1);
}

static void test_after_failure_and_stop(void **state)
{
    (void)state;
    rec_t r;
    memset(&r, 0, sizeof(r));
    r.stop_after = 1;
    sse_parser_t *p = sse_parser_new(64, rec_event, &r);
    assert_int_equal(sse_parser_feed(p, "data: 1\n\ndata: 2\n\n", 18), -1);
    assert_int_equal(r.count, 1);
    assert_int_equal(sse_parser_feed(p, "data: 3\n\n", 9), -1);
    assert_int_equal(r.count, 1);
    sse_parser_free(p);
    assert_null(sse_parser_new(0, rec_event, &r));
    assert_null(sse_parser_new(64, NULL, &r));
}

static void test_finish_reports_partial(void **state)
{
    (void)state;
    rec_t r;
    int partial = -1;
    const char *s = "data: 1\n\ndata: 2\n";
    assert_int_equal(feed_cuts(&r, 64, s, strlen(s), NULL, 0, &partial), 0);
    assert_int_equal(partial, 1);
    assert_string_equal(r.out, "message|1\n"); /* the unterminated event is dropped */
    s = "data: 1\n\ndata: 2";
    assert_int_equal(feed_cuts(&r, 64, s, strlen(s), NULL, 0, &partial), 0);
    assert_int_equal(partial, 1);
    s = "data: 1\n\n: bye\n";
    assert_int_equal(feed_cuts(&r, 64, s, strlen(s), NULL, 0, &partial), 0);
    assert_int_equal(partial, 0);
}

/* A stream with every feature; any chunking must give the same events. */
static const char rich[] = "\xEF\xBB\xBF: hello\r\n"
                           "event: start\r\ndata: {\"a\":1}\r\n\r\n"
                           "data: line one\rdata: line two\r\r"
                           "id: 7\nretry: 100\nevent: delta\ndata:x\ndata:  y\n\n"
                           "event: nothing\n\n"
                           "data\r\n\r\n"
                           ":c\r\ndata: \xC3\xA9t\xC3\xA9\n\n"
                           "data: last\r\n\r";

static void test_every_split(void **state)
{
    (void)state;
    size_t len = sizeof(rich) - 1;
    rec_t whole, got;
    assert_int_equal(feed_cuts(&whole, 256, rich, len, NULL, 0, NULL), 0);
    assert_int_equal(whole.count, 6);
    assert_string_equal(whole.out, "start|{\"a\":1}\nmessage|line one\nline two\ndelta|x\n y\n"
                                   "message|\nmessage|\xC3\xA9t\xC3\xA9\nmessage|last\n");
    /* Every single cut point. */
    for (size_t c = 0; c <= len; c++) {
        assert_int_equal(feed_cuts(&got, 256, rich, len, &c, 1, NULL), 0);
        assert_string_equal(got.out, whole.out);
    }
    /* Every pair of cut points. */
    for (size_t a = 0; a <= len; a++) {
        for (size_t b = a; b <= len; b++) {
            size_t cuts[2] = {a, b};
            assert_int_equal(feed_cuts(&got, 256, rich, len, cuts, 2, NULL), 0);
            assert_memory_equal(got.out, whole.out, whole.len + 1);
        }
    }
    /* Byte by byte. */
    size_t *cuts = malloc(len * sizeof(*cuts));
    assert_non_null(cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    assert_int_equal(feed_cuts(&got, 256, rich, len, cuts, len, NULL), 0);
    assert_string_equal(got.out, whole.out);
    free(cuts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_event),
        cmocka_unit_test(test_line_endings),
        cmocka_unit_test(test_crlf_split_across_chunks),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_multiline_data_and_spaces),
        cmocka_unit_test(test_event_names),
        cmocka_unit_test(test_ignored_fields),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_after_failure_and_stop),
        cmocka_unit_test(test_finish_reports_partial),
        cmocka_unit_test(test_every_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
