/* Logs on stderr, one record per line: JSON objects (the default when
 * stderr is not a terminal) or text for a person (core/log_text.h). Never
 * pass a token, a secret or a prompt body to these functions at info level. */
#ifndef AGENTOS_CORE_LOG_H
#define AGENTOS_CORE_LOG_H

#include <jansson.h>

#include "core/buf.h"

typedef enum { LOG_LEVEL_DEBUG = 0, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR } log_level_t;
typedef enum { LOG_FORMAT_JSON = 0, LOG_FORMAT_TEXT } log_format_t;

/* Returns -1 for an unknown level name. */
int log_set_level_name(const char *name);
void log_set_level(log_level_t level);
int log_enabled(log_level_t level);

/* LOG_FORMAT: "text", "json", or "auto" (also NULL/"") for text when stderr is a terminal
 * and JSON otherwise. Colour only for text on a terminal, and never when
 * no_color (NO_COLOR set and not empty). Returns -1 for an unknown name. */
int log_set_format_name(const char *name, int no_color);
log_format_t log_format(void);

/* Writes {"ts","level","msg", ...fields}; takes ownership of fields (may be NULL). */
void log_json(log_level_t level, const char *msg, json_t *fields);
/* The same record; as text, a short block with one field per line (the
 * start banner). */
void log_block(log_level_t level, const char *msg, json_t *fields);
/* printf-style message without extra fields. */
void log_msg(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* JSON lines built without jansson (core/log_line.h), for the access log:
 * begin writes {"ts","level","msg" into b (the caller adds fields), end
 * closes the line and writes it, or holds it when the thread buffers. */
BUF_WUR buf_rc_t log_line_begin(buf_t *b, log_level_t level, const char *msg);
/* A loop thread's buffer for building such a line, emptied: kept between
 * lines, so a line allocates nothing once it has grown. log_thread_buffer(0)
 * frees it; only threads that call that (the loop threads) may use it. */
buf_t *log_line_buffer(void);
void log_line_end(buf_t *b);
/* A loop thread holds its log_line_end lines and writes them in a few
 * writes: it must call log_thread_flush on a timer, and
 * log_thread_buffer(0) (which flushes) before it ends. */
void log_thread_buffer(int on);
void log_thread_flush(void);

#endif
