/* Logging. Each line (or text block) is built whole and written with one
 * write(2), so records from different loop threads never interleave. The
 * format is set once at start, before any loop thread runs. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/log_line.h"
#include "core/log_text.h"
#include "core/timeutil.h"

/* A text record past this is cut to a note: no field makes one unbounded. */
#define LOG_TEXT_MAX (256u * 1024u)

static log_level_t min_level = LOG_LEVEL_INFO;
static log_format_t format = LOG_FORMAT_JSON;
static int colour;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_set_level_name(const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            min_level = (log_level_t)i;
            return 0;
        }
    }
    if (strcmp(name, "warning") == 0) {
        min_level = LOG_LEVEL_WARN;
        return 0;
    }
    return -1;
}

void log_set_level(log_level_t level)
{
    min_level = level;
}

int log_enabled(log_level_t level)
{
    return level >= min_level;
}

int log_set_format_name(const char *name, int no_color)
{
    int tty = isatty(STDERR_FILENO);
    if (name == NULL || name[0] == '\0' || strcmp(name, "auto") == 0)
        format = tty ? LOG_FORMAT_TEXT : LOG_FORMAT_JSON;
    else if (strcmp(name, "text") == 0)
        format = LOG_FORMAT_TEXT;
    else if (strcmp(name, "json") == 0)
        format = LOG_FORMAT_JSON;
    else
        return -1;
    colour = format == LOG_FORMAT_TEXT && tty && !no_color;
    return 0;
}

log_format_t log_format(void)
{
    return format;
}

static void write_all(const char *p, size_t n)
{
    ssize_t rc = write(STDERR_FILENO, p, n);
    (void)rc; /* nowhere to report a failing stderr */
}

/* A loop thread's buffered lines (log_thread_buffer): written when this
 * much is held, on the loop's flush timer and when the loop ends. */
#define LOG_THREAD_FLUSH_AT (16u * 1024u)
#define LOG_THREAD_MAX (64u * 1024u)
static _Thread_local buf_t thread_buf;
static _Thread_local int thread_buffered;
/* A line longer than this (a path escaped at 6 bytes a byte) is dropped. */
#define LOG_LINE_MAX (8u << 20)
static _Thread_local buf_t line_buf; /* log_line_buffer's, kept between lines */
static _Thread_local log_ts_cache_t ts_cache = LOG_TS_CACHE_INIT;
/* stderr was a regular file when this thread began buffering. */
static _Thread_local int stderr_is_file;

static void timestamp(char ts[TIMEUTIL_ISO_LEN])
{
    log_ts_format(&ts_cache, timeutil_wall_us(), ts);
}

/* Writes of at most PIPE_BUF bytes to a pipe are atomic: each write ends at
 * a line's end so that other threads' lines never land inside one. A write
 * to a regular file is atomic whatever its size (the file position is
 * locked for it): the whole buffer goes in one. */
static void write_lines(const char *p, size_t n)
{
    while (n > 0) {
        size_t take = n;
        if (take > PIPE_BUF && !stderr_is_file) {
            const char *nl = memrchr(p, '\n', PIPE_BUF);
            take = nl != NULL ? (size_t)(nl - p) + 1 : n;
        }
        write_all(p, take);
        p += take;
        n -= take;
    }
}

void log_thread_buffer(int on)
{
    if (!on) {
        log_thread_flush();
        buf_free(&line_buf);
    }
    if (!on && thread_buffered)
        buf_free(&thread_buf);
    else if (on && !thread_buffered)
        buf_init(&thread_buf, LOG_THREAD_MAX);
    if (on) {
        struct stat st;
        stderr_is_file = fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode);
    }
    thread_buffered = on;
}

void log_thread_flush(void)
{
    if (!thread_buffered || buf_len(&thread_buf) == 0)
        return;
    write_lines(buf_ptr(&thread_buf), buf_len(&thread_buf));
    buf_reset(&thread_buf);
}

buf_t *log_line_buffer(void)
{
    if (line_buf.max == 0)
        buf_init(&line_buf, LOG_LINE_MAX);
    buf_reset(&line_buf);
    return &line_buf;
}

buf_rc_t log_line_begin(buf_t *b, log_level_t level, const char *msg)
{
    /* {"ts":"<the timestamp>" in one append: it holds nothing to escape. */
    char head[TIMEUTIL_ISO_LEN + 8] = "{\"ts\":\"";
    timestamp(head + 7);
    size_t n = strlen(head);
    head[n++] = '"';
    buf_rc_t rc = buf_append(b, head, n);
    if (rc == BUF_OK)
        rc = log_line_field_str(b, "level", level_names[level]);
    return rc == BUF_OK ? log_line_field_str(b, "msg", msg) : rc;
}

void log_line_end(buf_t *b)
{
    if (buf_append(b, "}\n", 2) != BUF_OK)
        return; /* a line cut short is not written */
    if (thread_buffered && buf_append(&thread_buf, buf_ptr(b), buf_len(b)) == BUF_OK) {
        if (buf_len(&thread_buf) >= LOG_THREAD_FLUSH_AT)
            log_thread_flush();
        return;
    }
    log_thread_flush(); /* keeps this thread's lines in order */
    write_all(buf_ptr(b), buf_len(b));
}

static void emit_json(const char *ts, log_level_t level, const char *msg, json_t *fields)
{
    json_t *line = json_object();
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "level", json_string(level_names[level]));
    if (msg != NULL)
        json_object_set_new(line, "msg", json_string(msg));
    if (fields != NULL)
        json_object_update(line, fields);
    char *text = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(line);
    if (text == NULL)
        return;
    size_t n = strlen(text);
    text[n] = '\n'; /* json_dumps' terminator becomes the newline */
    write_all(text, n + 1);
    free(text);
}

static void emit_text(const char *ts, log_level_t level, const char *msg, const json_t *fields,
                      int block)
{
    buf_t out;
    buf_init(&out, LOG_TEXT_MAX);
    log_text_style_t st = {.colour = colour, .block = block};
    if (log_text_render(&out, ts, level_names[level], msg, fields, st) != BUF_OK &&
        log_text_render(&out, ts, level_names[level], msg, NULL, st) != BUF_OK) {
        buf_free(&out);
        return;
    }
    write_all(buf_ptr(&out), buf_len(&out));
    buf_free(&out);
}

static void emit(log_level_t level, const char *msg, json_t *fields, int block)
{
    if (!log_enabled(level)) {
        json_decref(fields);
        return;
    }
    char ts[TIMEUTIL_ISO_LEN];
    timestamp(ts);
    if (format == LOG_FORMAT_TEXT)
        emit_text(ts, level, msg, fields, block);
    else
        emit_json(ts, level, msg, fields);
    json_decref(fields);
}

void log_json(log_level_t level, const char *msg, json_t *fields)
{
    emit(level, msg, fields, 0);
}

void log_block(log_level_t level, const char *msg, json_t *fields)
{
    emit(level, msg, fields, 1);
}

void log_msg(log_level_t level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_json(level, buf, NULL);
}
