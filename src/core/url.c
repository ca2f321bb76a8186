#include "core/url.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The byte of the escape at s[i] ('%'), or -1 when two hex digits do not
 * follow inside the input. */
static int escape_at(const char *s, size_t len, size_t i)
{
    if (len - i < 3)
        return -1;
    int h = hex_value(s[i + 1]), l = hex_value(s[i + 2]);
    return h < 0 || l < 0 ? -1 : h * 16 + l;
}

ssize_t url_decode(char *out, size_t outsize, const char *s, size_t len, unsigned flags)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (o + 1 >= outsize)
            return -1;
        int b = s[i] == '%' ? escape_at(s, len, i) : -1;
        if (b >= 0) {
            if (b == 0 && (flags & URL_DECODE_NO_NUL))
                return -1;
            out[o++] = (char)b;
            i += 2;
        } else if (s[i] == '%' && (flags & URL_DECODE_STRICT)) {
            return -1;
        } else if (s[i] == '+' && (flags & URL_DECODE_PLUS)) {
            out[o++] = ' ';
        } else {
            out[o++] = s[i];
        }
    }
    if (outsize == 0)
        return -1;
    out[o] = '\0';
    return (ssize_t)o;
}
