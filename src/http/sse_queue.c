#include <stdlib.h>
#include <string.h>

#include "http/sse_queue.h"

#define SSE_QUEUE_MIN_CAP 4096

void http_sse_queue_init(http_sse_queue_t *q, size_t max)
{
    memset(q, 0, sizeof(*q));
    q->max = max;
}

void http_sse_queue_free(http_sse_queue_t *q)
{
    free(q->pending);
    free(q->inflight);
    memset(q, 0, sizeof(*q));
}

size_t http_sse_queue_len(const http_sse_queue_t *q)
{
    return q->pending_len + q->inflight_len;
}

static int reserve(http_sse_queue_t *q, size_t need)
{
    if (need <= q->pending_cap)
        return 0;
    size_t cap = q->pending_cap ? q->pending_cap : SSE_QUEUE_MIN_CAP;
    while (cap < need)
        cap *= 2;
    char *p = realloc(q->pending, cap);
    if (p == NULL)
        return -1;
    q->pending = p;
    q->pending_cap = cap;
    return 0;
}

http_sse_q_rc_t http_sse_queue_append(http_sse_queue_t *q, const char *const *parts,
                                      const size_t *lens, size_t n)
{
    size_t add = 0;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] > q->max - add)
            return HTTP_SSE_Q_TOO_LARGE;
        add += lens[i];
    }
    if (add > q->max - http_sse_queue_len(q))
        return HTTP_SSE_Q_FULL;
    if (reserve(q, q->pending_len + add) != 0)
        return HTTP_SSE_Q_NOMEM;
    for (size_t i = 0; i < n; i++) {
        memcpy(q->pending + q->pending_len, parts[i], lens[i]);
        q->pending_len += lens[i];
    }
    return HTTP_SSE_Q_OK;
}

int http_sse_queue_take(http_sse_queue_t *q, int force, const char **buf, size_t *len)
{
    if (q->sending || (q->pending_len == 0 && !force))
        return 0;
    char *tmp = q->inflight;
    size_t tmp_cap = q->inflight_cap;
    q->inflight = q->pending;
    q->inflight_cap = q->pending_cap;
    q->inflight_len = q->pending_len;
    q->pending = tmp;
    q->pending_cap = tmp_cap;
    q->pending_len = 0;
    q->sending = 1;
    *buf = q->inflight;
    *len = q->inflight_len;
    return 1;
}

void http_sse_queue_done(http_sse_queue_t *q)
{
    q->sending = 0;
    q->inflight_len = 0;
}
