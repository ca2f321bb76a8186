#include "core/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Small enough for the many short strings, large enough that a growing
 * one is not reallocated byte by byte. */
#define BUF_FIRST_ALLOC 64

void buf_init(buf_t *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    /* max + 1 (the NUL) must not wrap. */
    b->max = max < SIZE_MAX ? max : SIZE_MAX - 1;
}

void buf_free(buf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_reset(buf_t *b)
{
    b->len = 0;
    if (b->p != NULL)
        b->p[0] = '\0';
}

/* The capacity for need bytes (NUL included): doubled from what b has, and
 * never more than the limit allows, so that no doubling can wrap. */
static size_t buf_grown_cap(const buf_t *b, size_t need)
{
    size_t limit = b->max + 1;
    size_t cap = b->cap ? b->cap : BUF_FIRST_ALLOC;
    while (cap < need)
        cap = cap > limit / 2 ? limit : cap * 2;
    return cap < limit ? cap : limit;
}

/* Room for n more bytes and the NUL; on failure b is freed, as curl does. */
static buf_rc_t buf_room(buf_t *b, size_t n)
{
    if (n > b->max - b->len) {
        buf_free(b);
        return BUF_TOO_LARGE;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return BUF_OK;
    size_t cap = buf_grown_cap(b, need);
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        buf_free(b);
        return BUF_NOMEM;
    }
    b->p = p;
    b->cap = cap;
    return BUF_OK;
}

buf_rc_t buf_append(buf_t *b, const void *s, size_t n)
{
    buf_rc_t rc = buf_room(b, n);
    if (rc != BUF_OK)
        return rc;
    if (n > 0)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return BUF_OK;
}

buf_rc_t buf_append_str(buf_t *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

buf_rc_t buf_vprintf(buf_t *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n < 0)
        buf_free(b);
    buf_rc_t rc = n < 0 ? BUF_FORMAT : buf_room(b, (size_t)n);
    if (rc != BUF_OK) {
        va_end(again);
        return rc;
    }
    int m = vsnprintf(b->p + b->len, (size_t)n + 1, fmt, again);
    va_end(again);
    if (m != n) { /* cannot happen with the same arguments; never keep half a text */
        buf_free(b);
        return BUF_FORMAT;
    }
    b->len += (size_t)n;
    return BUF_OK;
}

buf_rc_t buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_rc_t rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void buf_truncate(buf_t *b, size_t len)
{
    if (len >= b->len)
        return;
    b->len = len;
    b->p[len] = '\0';
}

void buf_swap(buf_t *a, buf_t *b)
{
    buf_t t = *a;
    *a = *b;
    *b = t;
}

const char *buf_ptr(const buf_t *b)
{
    return b->p != NULL ? b->p : "";
}

size_t buf_len(const buf_t *b)
{
    return b->len;
}

char *buf_take(buf_t *b, size_t *len)
{
    char *s = b->p != NULL ? b->p : strdup("");
    if (len != NULL)
        *len = s != NULL ? b->len : 0;
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return s;
}
