/* The JSON line builder (core/log_line.c) and the loop threads' buffered
 * log writer (core/log.c): what a client chose (path, request id) comes out
 * as a JSON string that cannot break the line, and buffered lines reach
 * stderr whole, on a flush, when the buffer fills and when buffering ends. */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"
#include "core/log_line.h"

static void string_is(const char *in, size_t n, const char *want)
{
    buf_t b;
    buf_init(&b, 1024);
    assert_int_equal(log_line_string(&b, in, n), BUF_OK);
    assert_string_equal(buf_ptr(&b), want);
    buf_free(&b);
}

static void quotes_and_controls_are_escaped(void **state)
{
    (void)state;
    string_is("/health", 7, "\"/health\"");
    string_is("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
    string_is("\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\"");
    string_is("x\0y", 3, "\"x\\u0000y\"");
    string_is("\x01\x1f\x7f", 3, "\"\\u0001\\u001F\\u007F\"");
    string_is("", 0, "\"\"");
    string_is(NULL, 0, "null");
}

static void utf8_is_escaped_to_ascii(void **state)
{
    (void)state;
    string_is("caf\xc3\xa9", 5, "\"caf\\u00E9\"");
    string_is("\xe2\x80\xa8", 3, "\"\\u2028\"");
    string_is("\xf0\x9f\x98\x80", 4, "\"\\uD83D\\uDE00\"");
    /* Not UTF-8: a lone continuation, an overlong '/', a cut sequence. */
    string_is("\x80", 1, "\"\\uFFFD\"");
    string_is("\xc0\xaf", 2, "\"\\uFFFD\\uFFFD\"");
    string_is("a\xe2\x80", 3, "\"a\\uFFFD\\uFFFD\"");
}

/* For valid UTF-8 the line is what jansson wrote before. */
static void same_as_jansson(void **state)
{
    (void)state;
    const char *in[] = {"/v1/x?q=1&r=\"2\"", "\t\x01\xc3\xa9\xf0\x9f\x98\x80", "<script>/</"};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        json_t *s = json_string(in[i]);
        char *want = json_dumps(s, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII);
        string_is(in[i], strlen(in[i]), want);
        free(want);
        json_decref(s);
    }
}

static void integers_in_full(void **state)
{
    (void)state;
    const long long in[] = {0, 7, -1, 404, 1234567890123LL, LLONG_MIN, LLONG_MAX};
    const char *want[] = {",\"n\":0",
                          ",\"n\":7",
                          ",\"n\":-1",
                          ",\"n\":404",
                          ",\"n\":1234567890123",
                          ",\"n\":-9223372036854775808",
                          ",\"n\":9223372036854775807"};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        buf_t b;
        buf_init(&b, 64);
        assert_int_equal(log_line_field_int(&b, "n", in[i]), BUF_OK);
        assert_string_equal(buf_ptr(&b), want[i]);
        buf_free(&b);
    }
}

static void fields_follow_the_head(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 1024);
    assert_int_equal(log_line_begin(&b, LOG_LEVEL_INFO, "request"), BUF_OK);
    assert_int_equal(log_line_field_str(&b, "path", "/a\nb"), BUF_OK);
    assert_int_equal(log_line_field_int(&b, "status", 404), BUF_OK);
    assert_int_equal(log_line_field_str(&b, "user_id", NULL), BUF_OK);
    assert_int_equal(buf_append(&b, "}", 1), BUF_OK);
    json_error_t err;
    json_t *line = json_loads(buf_ptr(&b), 0, &err);
    assert_non_null(line);
    assert_string_equal(json_string_value(json_object_get(line, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(line, "msg")), "request");
    assert_string_equal(json_string_value(json_object_get(line, "path")), "/a\nb");
    assert_int_equal(json_integer_value(json_object_get(line, "status")), 404);
    assert_true(json_is_null(json_object_get(line, "user_id")));
    assert_non_null(json_object_get(line, "ts"));
    json_decref(line);
    buf_free(&b);
}

/* stderr becomes a non-blocking pipe; returns its read end. */
static int capture_stderr(int *saved)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    *saved = dup(STDERR_FILENO);
    dup2(p[1], STDERR_FILENO);
    close(p[1]);
    return p[0];
}

static size_t drain(int fd, char *out, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n < cap && (r = read(fd, out + n, cap - n)) > 0)
        n += (size_t)r;
    return n;
}

static void emit_line(int i)
{
    buf_t b;
    buf_init(&b, 1024);
    assert_int_equal(log_line_begin(&b, LOG_LEVEL_INFO, "request"), BUF_OK);
    assert_int_equal(log_line_field_int(&b, "n", i), BUF_OK);
    log_line_end(&b);
    buf_free(&b);
}

static size_t count_lines(const char *p, size_t n)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += p[i] == '\n';
    return lines;
}

static void buffered_lines_wait_for_a_flush(void **state)
{
    (void)state;
    static char got[1 << 20];
    int saved, rd = capture_stderr(&saved);
    emit_line(0); /* unbuffered: written at once */
    assert_int_equal(count_lines(got, drain(rd, got, sizeof(got))), 1);
    log_thread_buffer(1);
    emit_line(1);
    emit_line(2);
    assert_int_equal(drain(rd, got, sizeof(got)), 0);
    log_thread_flush();
    assert_int_equal(count_lines(got, drain(rd, got, sizeof(got))), 2);
    /* A full buffer is written without waiting for the timer. */
    for (int i = 0; i < 1000; i++)
        emit_line(i);
    size_t early = drain(rd, got, sizeof(got));
    assert_true(count_lines(got, early) > 0 && count_lines(got, early) < 1000);
    size_t rest = drain(rd, got + early, sizeof(got) - early);
    assert_int_equal(rest, 0);
    log_thread_buffer(0); /* ends buffering: what is held is written */
    rest = drain(rd, got + early, sizeof(got) - early);
    assert_int_equal(count_lines(got, early + rest), 1000);
    assert_true(got[early + rest - 1] == '\n');
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(rd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quotes_and_controls_are_escaped),
        cmocka_unit_test(utf8_is_escaped_to_ascii),
        cmocka_unit_test(same_as_jansson),
        cmocka_unit_test(integers_in_full),
        cmocka_unit_test(fields_follow_the_head),
        cmocka_unit_test(buffered_lines_wait_for_a_flush),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
