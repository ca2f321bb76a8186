/* Server-Sent Events, incrementally, after the WHATWG "event stream
 * interpretation" rules. Memory is bounded by max_event_bytes: a line, and
 * an event's joined data, may each grow to it and no further. */
#include "net/sse_parser.h"

#include <stdlib.h>
#include <string.h>

typedef struct sse_buf {
    char *p;
    size_t len, cap;
} sse_buf_t;

struct sse_parser {
    size_t max;
    sse_event_fn cb;
    void *ud;
    sse_buf_t line;  /* the line being read, when it spans chunks */
    sse_buf_t data;  /* data lines of the pending event, each followed by '\n' */
    sse_buf_t event; /* the pending event's name; empty means "message" */
    int after_cr;    /* the last byte was CR: a following LF ends nothing */
    size_t bom_seen; /* bytes of a leading BOM matched so far */
    int bom_done;
    int failed;
};

static const char sse_bom[3] = {'\xEF', '\xBB', '\xBF'};

/* Grows b to hold need bytes plus a NUL, never past max plus a NUL. */
static int sse_buf_reserve(sse_buf_t *b, size_t need, size_t max)
{
    if (need > max)
        return -1;
    if (need + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need + 1)
        cap *= 2;
    if (cap > max + 1)
        cap = max + 1;
    char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int sse_buf_append(sse_buf_t *b, const char *s, size_t n, size_t max)
{
    if (n > max || b->len > max - n || sse_buf_reserve(b, b->len + n, max) != 0)
        return -1;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

sse_parser_t *sse_parser_new(size_t max_event_bytes, sse_event_fn cb, void *ud)
{
    if (!cb || max_event_bytes == 0)
        return NULL;
    sse_parser_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->max = max_event_bytes;
    p->cb = cb;
    p->ud = ud;
    return p;
}

void sse_parser_free(sse_parser_t *p)
{
    if (!p)
        return;
    free(p->line.p);
    free(p->data.p);
    free(p->event.p);
    free(p);
}

static int sse_dispatch(sse_parser_t *p)
{
    /* An event with no data line is dropped, and its name with it. */
    if (p->data.len == 0) {
        p->event.len = 0;
        return 0;
    }
    size_t n = p->data.len - 1; /* the last '\n' is not part of the data */
    p->data.p[n] = '\0';
    const char *name = p->event.len ? p->event.p : "message";
    int rc = p->cb(p->ud, name, p->data.p, n);
    p->data.len = 0;
    p->event.len = 0;
    return rc ? -1 : 0;
}

static int sse_field(sse_parser_t *p, const char *name, size_t nlen, const char *val, size_t vlen)
{
    if (nlen == 4 && memcmp(name, "data", 4) == 0) {
        if (sse_buf_append(&p->data, val, vlen, p->max) != 0)
            return -1;
        return sse_buf_append(&p->data, "\n", 1, p->max);
    }
    if (nlen == 5 && memcmp(name, "event", 5) == 0) {
        p->event.len = 0;
        return sse_buf_append(&p->event, val, vlen, p->max);
    }
    return 0; /* id, retry and unknown fields: nothing we need */
}

static int sse_line(sse_parser_t *p, const char *s, size_t n)
{
    if (n == 0)
        return sse_dispatch(p);
    if (s[0] == ':')
        return 0;
    const char *colon = memchr(s, ':', n);
    if (!colon)
        return sse_field(p, s, n, "", 0);
    size_t nlen = (size_t)(colon - s);
    const char *val = colon + 1;
    size_t vlen = n - nlen - 1;
    if (vlen && val[0] == ' ') {
        val++;
        vlen--;
    }
    return sse_field(p, s, nlen, val, vlen);
}

/* Splits bytes into lines; a line wholly inside one chunk is parsed in
 * place, one that spans chunks is gathered in p->line first. */
static int sse_scan(sse_parser_t *p, const char *buf, size_t len)
{
    size_t i = 0;
    if (p->after_cr && len && buf[0] == '\n')
        i = 1;
    p->after_cr = 0;
    while (i < len) {
        size_t j = i;
        /* Held BOM bytes come with len = bom_seen < sizeof(sse_bom); the analyzer cannot see it. */
        /* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
        while (j < len && buf[j] != '\n' && buf[j] != '\r')
            j++;
        if (j == len)
            return sse_buf_append(&p->line, buf + i, len - i, p->max);
        int rc;
        if (p->line.len) {
            rc = sse_buf_append(&p->line, buf + i, j - i, p->max);
            if (rc == 0)
                rc = sse_line(p, p->line.p, p->line.len);
            p->line.len = 0;
        } else {
            rc = (j - i > p->max) ? -1 : sse_line(p, buf + i, j - i);
        }
        if (rc != 0)
            return -1;
        if (buf[j] == '\r') {
            if (j + 1 == len)
                p->after_cr = 1;
            else if (buf[j + 1] == '\n')
                j++;
        }
        i = j + 1;
    }
    return 0;
}

/* Swallows a UTF-8 BOM at the very start, even when it comes split. */
static int sse_skip_bom(sse_parser_t *p, const char **buf, size_t *len)
{
    while (!p->bom_done && *len) {
        if (**buf == sse_bom[p->bom_seen]) {
            (*buf)++;
            (*len)--;
            if (++p->bom_seen == sizeof(sse_bom))
                p->bom_done = 1;
            continue;
        }
        p->bom_done = 1;
        /* Not a BOM after all: the bytes held back belong to the stream. */
        if (p->bom_seen && sse_scan(p, sse_bom, p->bom_seen) != 0)
            return -1;
    }
    return 0;
}

int sse_parser_feed(sse_parser_t *p, const char *buf, size_t len)
{
    if (!p || p->failed)
        return -1;
    if (len == 0)
        return 0;
    if (!buf || sse_skip_bom(p, &buf, &len) != 0 || sse_scan(p, buf, len) != 0) {
        p->failed = 1;
        return -1;
    }
    return 0;
}

int sse_parser_finish(sse_parser_t *p)
{
    if (!p)
        return 0;
    int partial = p->failed || p->line.len || p->data.len || (!p->bom_done && p->bom_seen);
    p->line.len = 0;
    p->data.len = 0;
    p->event.len = 0;
    return partial ? 1 : 0;
}
