/* Server-Sent Events, incrementally, after the WHATWG "event stream
 * interpretation" rules. Memory is bounded by max_event_bytes: a line, and
 * an event's joined data, may each grow to it and no further. */
#include "net/sse_parser.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

struct sse_parser {
    size_t max;
    sse_event_fn cb;
    void *ud;
    buf_t line;      /* the line being read, when it spans chunks */
    buf_t data;      /* data lines of the pending event, each followed by '\n' */
    buf_t event;     /* the pending event's name; empty means "message" */
    int after_cr;    /* the last byte was CR: a following LF ends nothing */
    size_t bom_seen; /* bytes of a leading BOM matched so far */
    int bom_done;
    int failed;
};

static const char sse_bom[3] = {'\xEF', '\xBB', '\xBF'};

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
    buf_init(&p->line, max_event_bytes);
    buf_init(&p->data, max_event_bytes);
    buf_init(&p->event, max_event_bytes);
    return p;
}

void sse_parser_free(sse_parser_t *p)
{
    if (!p)
        return;
    buf_free(&p->line);
    buf_free(&p->data);
    buf_free(&p->event);
    free(p);
}

static int sse_dispatch(sse_parser_t *p)
{
    /* An event with no data line is dropped, and its name with it. */
    if (buf_len(&p->data) == 0) {
        buf_reset(&p->event);
        return 0;
    }
    buf_truncate(&p->data, buf_len(&p->data) - 1); /* the last '\n' is not part of the data */
    const char *name = buf_len(&p->event) ? buf_ptr(&p->event) : "message";
    int rc = p->cb(p->ud, name, buf_ptr(&p->data), buf_len(&p->data));
    buf_reset(&p->data);
    buf_reset(&p->event);
    return rc ? -1 : 0;
}

static int sse_field(sse_parser_t *p, const char *name, size_t nlen, const char *val, size_t vlen)
{
    if (nlen == 4 && memcmp(name, "data", 4) == 0) {
        if (buf_append(&p->data, val, vlen) != BUF_OK)
            return -1;
        return buf_append(&p->data, "\n", 1) != BUF_OK ? -1 : 0;
    }
    if (nlen == 5 && memcmp(name, "event", 5) == 0) {
        buf_reset(&p->event);
        return buf_append(&p->event, val, vlen) != BUF_OK ? -1 : 0;
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
            return buf_append(&p->line, buf + i, len - i) != BUF_OK ? -1 : 0;
        int rc;
        if (buf_len(&p->line)) {
            rc = buf_append(&p->line, buf + i, j - i) != BUF_OK ? -1 : 0;
            if (rc == 0)
                rc = sse_line(p, buf_ptr(&p->line), buf_len(&p->line));
            buf_reset(&p->line);
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
    int partial =
        p->failed || buf_len(&p->line) || buf_len(&p->data) || (!p->bom_done && p->bom_seen);
    buf_reset(&p->line);
    buf_reset(&p->data);
    buf_reset(&p->event);
    return partial ? 1 : 0;
}
