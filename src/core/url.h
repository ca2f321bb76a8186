/* Percent-decoding, once, for the query string and form bodies (lenient:
 * '+' is a space, a bad escape stays as it is) and for REDIS_URL's user
 * and password (strict: a bad escape or %00 is an error). */
#ifndef AGENTOS_CORE_URL_H
#define AGENTOS_CORE_URL_H

#include <stddef.h>
#include <sys/types.h>

enum {
    URL_DECODE_PLUS = 1u << 0,   /* '+' decodes to a space (form encoding) */
    URL_DECODE_STRICT = 1u << 1, /* a '%' without two hex digits fails */
    URL_DECODE_NO_NUL = 1u << 2, /* %00 fails: the result goes on as a C string */
};

/* Decodes [s, s + len) into out, which holds outsize bytes, and
 * NUL-terminates it. Returns the decoded length (a %00 allowed by the flags
 * stays in it), or -1 when the flags refuse the input or out is too small.
 * The decoded text is never longer than len, so len + 1 bytes always fit. */
ssize_t url_decode(char *out, size_t outsize, const char *s, size_t len, unsigned flags);

#endif
