/* The text form of a log record, for a person at a terminal: one line of
 * time, level, message and key=value fields, or a short block (the start
 * banner). Whatever a field holds, the output has no raw control byte, so
 * a value a client chose cannot start a line of its own or drive the
 * terminal: those bytes are escaped, and a value with a space, a quote or
 * an '=' is quoted. */
#ifndef AGENTOS_CORE_LOG_TEXT_H
#define AGENTOS_CORE_LOG_TEXT_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"

typedef struct log_text_style {
    int colour; /* ANSI colours: only for a terminal, never with NO_COLOR */
    int block;  /* one "  key  value" line per field under the message */
} log_text_style_t;

/* Appends the record, newline included, to out. fields may be NULL; null
 * fields are left out. level is "debug", "info", "warn" or "error". */
buf_rc_t log_text_render(buf_t *out, const char *ts, const char *level, const char *msg,
                         const json_t *fields, log_text_style_t style) BUF_WUR;
/* Appends s escaped (and quoted when quote is set and s needs it). */
buf_rc_t log_text_value(buf_t *out, const char *s, size_t n, int quote) BUF_WUR;

#endif
