/* The JSON line builder (core/log_line.h). */
#include <string.h>
#include <time.h>

#include "core/log_line.h"

/* gmtime_r and strftime were a quarter of an access line's instructions. */
void log_ts_format(log_ts_cache_t *c, uint64_t wall_us, char out[TIMEUTIL_ISO_LEN])
{
    int64_t secs = (int64_t)(wall_us / 1000000u);
    if (secs != c->secs) {
        time_t t = (time_t)secs;
        struct tm tm;
        size_t n = gmtime_r(&t, &tm) != NULL
                       ? strftime(c->head, sizeof(c->head), "%Y-%m-%dT%H:%M:%S", &tm)
                       : 0;
        c->formats++;
        c->secs = n == 19 ? secs : -1; /* a year past 9999: not cached */
        if (n != 19) {
            timeutil_iso8601(wall_us, out);
            return;
        }
    }
    unsigned ms = (unsigned)(wall_us % 1000000u / 1000u);
    memcpy(out, c->head, 19);
    out[19] = '.';
    out[20] = (char)('0' + ms / 100);
    out[21] = (char)('0' + ms / 10 % 10);
    out[22] = (char)('0' + ms % 10);
    out[23] = 'Z';
    out[24] = '\0';
}

size_t log_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
    if (len == 0 || s[0] > 0xf4 || len > n)
        return 0;
    uint32_t c = s[0] & (0x7fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3fu);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

static buf_rc_t put_u(buf_t *b, uint32_t c)
{
    if (c < 0x10000)
        return buf_printf(b, "\\u%04X", (unsigned)c);
    c -= 0x10000;
    return buf_printf(b, "\\u%04X\\u%04X", (unsigned)(0xd800 | (c >> 10)),
                      (unsigned)(0xdc00 | (c & 0x3ff)));
}

/* The escape for an ASCII byte, or NULL when it goes as it is. */
static const char *short_escape(unsigned char c)
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    default:
        return NULL;
    }
}

static int plain(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* The byte at s is not plain: its escape; returns the bytes consumed. */
static size_t escape_one(buf_t *b, const unsigned char *s, size_t n, buf_rc_t *rc)
{
    const char *e = short_escape(s[0]);
    if (e != NULL) {
        *rc = buf_append_str(b, e);
        return 1;
    }
    if (s[0] < 0x80) {
        *rc = put_u(b, s[0]);
        return 1;
    }
    uint32_t cp;
    size_t len = log_utf8_decode(s, n, &cp);
    *rc = put_u(b, len != 0 ? cp : 0xfffd);
    return len != 0 ? len : 1;
}

buf_rc_t log_line_string(buf_t *b, const char *s, size_t n)
{
    if (s == NULL)
        return buf_append(b, "null", 4);
    const unsigned char *u = (const unsigned char *)s;
    buf_rc_t rc = buf_append(b, "\"", 1);
    size_t i = 0;
    while (rc == BUF_OK && i < n) {
        size_t run = i;
        while (run < n && plain(u[run]))
            run++;
        if (run > i)
            rc = buf_append(b, s + i, run - i);
        i = run;
        if (rc == BUF_OK && i < n)
            i += escape_one(b, u + i, n - i, &rc);
    }
    return rc == BUF_OK ? buf_append(b, "\"", 1) : rc;
}

/* A field is put together here and appended once: one buf_append per
 * field rather than five or more. Longer keys and values, and values that
 * need an escape, take the general path. */
#define FIELD_FAST_KEY 32
#define FIELD_FAST_VALUE 256

/* ,"k": into out (room for FIELD_FAST_KEY + 4); its length, 0 when k is long. */
static size_t put_key(char *out, const char *k)
{
    size_t klen = strlen(k);
    if (klen > FIELD_FAST_KEY)
        return 0;
    out[0] = ',';
    out[1] = '"';
    /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): sent by length */
    memcpy(out + 2, k, klen);
    out[2 + klen] = '"';
    out[3 + klen] = ':';
    return klen + 4;
}

static buf_rc_t key(buf_t *b, const char *k)
{
    buf_rc_t rc = buf_append(b, ",\"", 2);
    if (rc == BUF_OK)
        rc = buf_append_str(b, k);
    return rc == BUF_OK ? buf_append(b, "\":", 2) : rc;
}

static int all_plain(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) /* no early exit: the loop stays branch-free */
        bad |= !plain(u[i]);
    return !bad;
}

buf_rc_t log_line_field_str(buf_t *b, const char *k, const char *s)
{
    char field[FIELD_FAST_KEY + FIELD_FAST_VALUE + 8];
    size_t n = s != NULL ? strnlen(s, FIELD_FAST_VALUE + 1) : 0;
    size_t at = n <= FIELD_FAST_VALUE ? put_key(field, k) : 0;
    if (at != 0 && s == NULL) {
        /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): sent by length */
        memcpy(field + at, "null", 4);
        return buf_append(b, field, at + 4);
    }
    if (at != 0 && all_plain(s, n)) {
        field[at++] = '"';
        memcpy(field + at, s, n);
        at += n;
        field[at++] = '"';
        return buf_append(b, field, at);
    }
    buf_rc_t rc = key(b, k);
    return rc == BUF_OK ? log_line_string(b, s, s != NULL ? strlen(s) : 0) : rc;
}

/* By hand: vsnprintf was a tenth of an access line's instructions. */
buf_rc_t log_line_field_int(buf_t *b, const char *k, long long v)
{
    char field[FIELD_FAST_KEY + 32];
    size_t at = put_key(field, k);
    if (at == 0) {
        buf_rc_t rc = key(b, k);
        if (rc != BUF_OK)
            return rc;
    }
    char digits[24];
    size_t d = sizeof(digits);
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        digits[--d] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        digits[--d] = '-';
    memcpy(field + at, digits + d, sizeof(digits) - d);
    return buf_append(b, field, at + sizeof(digits) - d);
}
