/* The lexer of the fast path (model_scan.h): JSON's tokens checked the
 * way jansson's load.c checks them, so that what passes here would have
 * passed json_loadb with the same values. The event shapes are in
 * model_scan_shapes.c. */
#include <stdint.h>
#include <string.h>

#include "agent/model_scan_internal.h"
#include "core/utf8.h"

void scan_ws(scan_cur_t *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

int scan_eat(scan_cur_t *c, char ch)
{
    scan_ws(c);
    if (c->p < c->end && *c->p == (unsigned char)ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int hex4(const unsigned char *p, const unsigned char *end, uint32_t *out)
{
    if (end - p < 4)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned ch = p[i];
        unsigned d = ch >= '0' && ch <= '9'   ? ch - '0'
                     : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                     : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                              : 16;
        if (d == 16)
            return -1;
        v = (v << 4) | d;
    }
    *out = v;
    return 0;
}

/* One escape at *pp (the backslash): its code point, and *pp past it. As
 * jansson: \u0000 is refused (no JSON_ALLOW_NUL), a high surrogate must be
 * followed by an escaped low one, a lone low one is refused. */
static int escape_at(const unsigned char **pp, const unsigned char *end, uint32_t *cp)
{
    const unsigned char *p = *pp + 1;
    if (p >= end)
        return -1;
    static const char simple[] = "\"\\/bfnrt";
    static const char value[] = "\"\\/\b\f\n\r\t";
    const char *at = *p != 'u' ? memchr(simple, *p, sizeof(simple) - 1) : NULL;
    if (at != NULL) {
        *cp = (unsigned char)value[at - simple];
        *pp = p + 1;
        return 0;
    }
    uint32_t v, lo;
    if (*p != 'u' || hex4(p + 1, end, &v) != 0 || v == 0 || (v >= 0xDC00 && v <= 0xDFFF))
        return -1;
    p += 5;
    if (v >= 0xD800 && v <= 0xDBFF) {
        if (end - p < 2 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &lo) != 0 ||
            lo < 0xDC00 || lo > 0xDFFF)
            return -1;
        v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
    }
    *cp = v;
    *pp = p;
    return 0;
}

/* Bytes a string holds as they are: printable ASCII but '"' and '\\'. */
static int plain_byte(unsigned ch)
{
    return ch >= 0x20 && ch < 0x80 && ch != '"' && ch != '\\';
}

int scan_str(scan_cur_t *c, scan_str_t *out)
{
    scan_ws(c);
    if (c->p >= c->end || *c->p != '"')
        return -1;
    const unsigned char *start = ++c->p;
    out->esc = 0;
    while (c->p < c->end) {
        while (c->p < c->end && plain_byte(*c->p)) /* most of any string: a tight loop */
            c->p++;
        if (c->p >= c->end)
            break;
        unsigned ch = *c->p;
        uint32_t cp;
        if (ch == '"') {
            out->s = (const char *)start;
            out->len = (size_t)(c->p - start);
            c->p++;
            return 0;
        }
        if (ch < 0x20)
            return -1; /* a raw control character: jansson refuses it */
        if (ch == '\\') {
            out->esc = 1;
            if (escape_at(&c->p, c->end, &cp) != 0)
                return -1;
        } else if (ch >= 0x80) {
            size_t n = utf8_seq_len(c->p, (size_t)(c->end - c->p));
            if (n == 0)
                return -1;
            c->p += n;
        } else {
            c->p++;
        }
    }
    return -1;
}

static int put_utf8(buf_t *b, uint32_t v)
{
    unsigned char u[4];
    size_t n;
    if (v < 0x80) {
        u[0] = (unsigned char)v;
        n = 1;
    } else if (v < 0x800) {
        u[0] = (unsigned char)(0xC0 | (v >> 6));
        u[1] = (unsigned char)(0x80 | (v & 0x3F));
        n = 2;
    } else if (v < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (v >> 12));
        u[1] = (unsigned char)(0x80 | ((v >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (v & 0x3F));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | (v >> 18));
        u[1] = (unsigned char)(0x80 | ((v >> 12) & 0x3F));
        u[2] = (unsigned char)(0x80 | ((v >> 6) & 0x3F));
        u[3] = (unsigned char)(0x80 | (v & 0x3F));
        n = 4;
    }
    return buf_append(b, u, n) == BUF_OK ? 0 : -1;
}

int scan_unescape(const scan_str_t *s, buf_t *out)
{
    buf_reset(out);
    const unsigned char *p = (const unsigned char *)s->s, *end = p + s->len;
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && *p != '\\')
            p++;
        if (p > run && buf_append(out, run, (size_t)(p - run)) != BUF_OK)
            return -1;
        uint32_t cp;
        /* scan_str checked every escape already: this cannot fail */
        if (p < end && (escape_at(&p, end, &cp) != 0 || put_utf8(out, cp) != 0))
            return -1;
    }
    return 0;
}

static int scan_lit(scan_cur_t *c, const char *lit, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return -1;
    c->p += n;
    return 0;
}

int scan_null(scan_cur_t *c)
{
    scan_ws(c);
    return scan_lit(c, "null", 4) == 0;
}

int scan_int(scan_cur_t *c, long long *out)
{
    scan_ws(c);
    int neg = c->p < c->end && *c->p == '-';
    c->p += neg;
    const unsigned char *digits = c->p;
    long long v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && c->p - digits < 18)
        v = v * 10 + (*c->p++ - '0');
    size_t n = (size_t)(c->p - digits);
    /* No leading zero (jansson refuses one), no fraction or exponent (a
     * real: left to jansson), and 18 digits at most, so never out of range. */
    if (n == 0 || n > 18 || (digits[0] == '0' && n > 1))
        return -1;
    if (c->p < c->end &&
        ((*c->p >= '0' && *c->p <= '9') || *c->p == '.' || *c->p == 'e' || *c->p == 'E'))
        return -1;
    if (out != NULL)
        *out = neg ? -v : v;
    return 0;
}

int scan_skip_scalar(scan_cur_t *c)
{
    scan_ws(c);
    if (c->p >= c->end)
        return -1;
    scan_str_t s;
    switch (*c->p) {
    case '"':
        return scan_str(c, &s);
    case 'n':
        return scan_lit(c, "null", 4);
    case 't':
        return scan_lit(c, "true", 4);
    case 'f':
        return scan_lit(c, "false", 5);
    default:
        return scan_int(c, NULL); /* objects and arrays: not ours */
    }
}

int scan_object(scan_cur_t *c, scan_member_fn fn, void *ctx)
{
    if (!scan_eat(c, '{'))
        return -1;
    if (scan_eat(c, '}'))
        return 0;
    for (;;) {
        scan_str_t key;
        /* An escaped key may spell one we read: jansson's job. */
        if (scan_str(c, &key) != 0 || key.esc || !scan_eat(c, ':') || fn(c, &key, ctx) != 0)
            return -1;
        if (scan_eat(c, ','))
            continue;
        return scan_eat(c, '}') ? 0 : -1;
    }
}

int scan_end(scan_cur_t *c)
{
    scan_ws(c);
    return c->p == c->end ? 0 : -1;
}
