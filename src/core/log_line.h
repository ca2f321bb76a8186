/* JSON log lines built straight into a buffer, without a jansson tree: the
 * access log writes one per request. Strings come out ASCII only, as with
 * JSON_ENSURE_ASCII: quotes, backslashes, controls (and DEL) escaped,
 * other code points as \uXXXX (upper-case hex, as jansson), bytes that
 * are not UTF-8 as \uFFFD. */
#ifndef AGENTOS_CORE_LOG_LINE_H
#define AGENTOS_CORE_LOG_LINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* One UTF-8 sequence at s (n bytes left): its length, 0 when invalid
 * (overlong, a surrogate, past U+10FFFF or cut short). */
size_t log_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* s as a quoted JSON string; NULL as null. */
BUF_WUR buf_rc_t log_line_string(buf_t *b, const char *s, size_t n);
/* ,"key":"value" (key is a literal the caller knows needs no escape). */
BUF_WUR buf_rc_t log_line_field_str(buf_t *b, const char *key, const char *s);
BUF_WUR buf_rc_t log_line_field_int(buf_t *b, const char *key, long long v);

#endif
