/* The JSON line builder (core/log_line.h). */
#include <string.h>

#include "core/log_line.h"

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

static buf_rc_t key(buf_t *b, const char *k)
{
    buf_rc_t rc = buf_append(b, ",\"", 2);
    if (rc == BUF_OK)
        rc = buf_append_str(b, k);
    return rc == BUF_OK ? buf_append(b, "\":", 2) : rc;
}

buf_rc_t log_line_field_str(buf_t *b, const char *k, const char *s)
{
    buf_rc_t rc = key(b, k);
    return rc == BUF_OK ? log_line_string(b, s, s != NULL ? strlen(s) : 0) : rc;
}

/* By hand: vsnprintf was a tenth of an access line's instructions. */
buf_rc_t log_line_field_int(buf_t *b, const char *k, long long v)
{
    buf_rc_t rc = key(b, k);
    if (rc != BUF_OK)
        return rc;
    char digits[24];
    size_t at = sizeof(digits);
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        digits[--at] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        digits[--at] = '-';
    return buf_append(b, digits + at, sizeof(digits) - at);
}
