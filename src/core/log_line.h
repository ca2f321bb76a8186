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
#include "core/timeutil.h"

/* A thread's ISO-8601 timestamps: the date and time of day are formatted
 * once a second, the milliseconds on every call. */
typedef struct log_ts_cache {
    int64_t secs;          /* the second in head; -1 before the first call */
    char head[24];         /* "YYYY-MM-DDTHH:MM:SS", NUL-terminated */
    unsigned long formats; /* gmtime_r/strftime runs (the tests count them) */
} log_ts_cache_t;

#define LOG_TS_CACHE_INIT                                                                          \
    {                                                                                              \
        .secs = -1                                                                                 \
    }

/* What timeutil_iso8601(wall_us, out) writes. */
void log_ts_format(log_ts_cache_t *c, uint64_t wall_us, char out[TIMEUTIL_ISO_LEN]);

/* One UTF-8 sequence at s (n bytes left): its length, 0 when invalid
 * (overlong, a surrogate, past U+10FFFF or cut short). */
size_t log_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* s as a quoted JSON string; NULL as null. */
BUF_WUR buf_rc_t log_line_string(buf_t *b, const char *s, size_t n);
/* ,"key":"value" (key is a literal the caller knows needs no escape). */
BUF_WUR buf_rc_t log_line_field_str(buf_t *b, const char *key, const char *s);
BUF_WUR buf_rc_t log_line_field_int(buf_t *b, const char *key, long long v);

#endif
