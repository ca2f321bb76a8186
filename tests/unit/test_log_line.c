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
#include <stdio.h>
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

/* A field put together in one piece is what the general path writes:
 * values around the fast path's bound, with and without an escape. */
static void fields_fast_and_general_agree(void **state)
{
    (void)state;
    static char v[300];
    for (size_t n = 250; n < 260; n++) {
        for (int esc = 0; esc < 2; esc++) {
            memset(v, 'a', n);
            v[n] = '\0';
            if (esc)
                v[n - 1] = '"';
            buf_t got, want;
            buf_init(&got, 4096);
            buf_init(&want, 4096);
            assert_int_equal(log_line_field_str(&got, "path", v), BUF_OK);
            assert_int_equal(buf_append(&want, ",\"path\":", 8), BUF_OK);
            assert_int_equal(log_line_string(&want, v, n), BUF_OK);
            assert_string_equal(buf_ptr(&got), buf_ptr(&want));
            buf_free(&got);
            buf_free(&want);
        }
    }
    buf_t b;
    buf_init(&b, 4096);
    assert_int_equal(log_line_field_str(&b, "a_key_longer_than_thirty_two_bytes", "x"), BUF_OK);
    assert_int_equal(log_line_field_int(&b, "a_key_longer_than_thirty_two_bytes", -5), BUF_OK);
    assert_string_equal(buf_ptr(&b), ",\"a_key_longer_than_thirty_two_bytes\":\"x\""
                                     ",\"a_key_longer_than_thirty_two_bytes\":-5");
    buf_free(&b);
}

/* The cache writes what timeutil_iso8601 writes, and formats the date and
 * time of day once a second. */
static void timestamps_as_timeutil_writes(void **state)
{
    (void)state;
    log_ts_cache_t c = LOG_TS_CACHE_INIT;
    const uint64_t base = 1764633599000000ull; /* 2025-12-01T23:59:59Z */
    const uint64_t steps[] = {0, 1, 999, 1000, 999999, 1000000, 1000001, 1999999, 86400000000ull};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        char got[TIMEUTIL_ISO_LEN], want[TIMEUTIL_ISO_LEN];
        log_ts_format(&c, base + steps[i], got);
        timeutil_iso8601(base + steps[i], want);
        assert_string_equal(got, want);
    }
    /* Past year 9999 the head is longer: not cached, still right. */
    char got[TIMEUTIL_ISO_LEN], want[TIMEUTIL_ISO_LEN];
    log_ts_format(&c, 253402300800000000ull, got);
    timeutil_iso8601(253402300800000000ull, want);
    assert_string_equal(got, want);
}

static void timestamps_formatted_once_a_second(void **state)
{
    (void)state;
    log_ts_cache_t c = LOG_TS_CACHE_INIT;
    char ts[TIMEUTIL_ISO_LEN];
    const uint64_t base = 1764633599000000ull;
    for (uint64_t us = 0; us < 1000000; us += 997)
        log_ts_format(&c, base + us, ts);
    assert_int_equal(c.formats, 1);
    log_ts_format(&c, base + 1000000, ts);
    log_ts_format(&c, base + 1000001, ts);
    assert_int_equal(c.formats, 2);
}

/* The thread's line buffer is reused: a line of the same size allocates
 * nothing once the first has grown it. */
static void line_buffer_is_kept(void **state)
{
    (void)state;
    int saved = dup(STDERR_FILENO);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, STDERR_FILENO);
    close(devnull);
    const char *first = NULL;
    for (int i = 0; i < 100; i++) {
        buf_t *b = log_line_buffer();
        assert_int_equal(buf_len(b), 0);
        assert_int_equal(log_line_begin(b, LOG_LEVEL_INFO, "request"), BUF_OK);
        assert_int_equal(log_line_field_str(b, "path", "/health"), BUF_OK);
        assert_int_equal(log_line_field_int(b, "n", 100 + i), BUF_OK);
        if (first == NULL)
            first = buf_ptr(b);
        assert_ptr_equal(buf_ptr(b), first);
        log_line_end(b);
    }
    log_thread_buffer(0); /* frees it */
    dup2(saved, STDERR_FILENO);
    close(saved);
}

/* write(2) and writev(2) calls of this process (/proc/self/io). */
static long syscalls_written(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    assert_non_null(f);
    char line[128];
    long n = -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "syscw: %ld", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* To a regular file, a flush is one write however much it holds (to a
 * pipe, writes of PIPE_BUF at most: the test above). */
static void one_write_per_flush_to_a_file(void **state)
{
    (void)state;
    char path[] = "/tmp/agentos-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    log_thread_buffer(1);
    for (int i = 0; i < 300; i++) /* about 12 KiB: past PIPE_BUF, short of a flush */
        emit_line(i);
    long before = syscalls_written();
    log_thread_flush();
    assert_int_equal(syscalls_written() - before, 1);
    log_thread_buffer(0);
    dup2(saved, STDERR_FILENO);
    close(saved);
    static char got[1 << 16];
    ssize_t n = pread(fd, got, sizeof(got), 0);
    assert_true(n > PIPE_BUF);
    assert_int_equal(count_lines(got, (size_t)n), 300);
    close(fd);
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
        cmocka_unit_test(fields_fast_and_general_agree),
        cmocka_unit_test(timestamps_as_timeutil_writes),
        cmocka_unit_test(timestamps_formatted_once_a_second),
        cmocka_unit_test(line_buffer_is_kept),
        cmocka_unit_test(one_write_per_flush_to_a_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
