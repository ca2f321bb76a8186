#include "http/sse_queue.h"

void http_sse_queue_init(http_sse_queue_t *q, size_t max)
{
    /* A frame never passes max, so each buffer may hold all of it. */
    buf_init(&q->pending, max);
    buf_init(&q->inflight, max);
    q->max = max;
    q->sending = 0;
}

void http_sse_queue_free(http_sse_queue_t *q)
{
    buf_free(&q->pending);
    buf_free(&q->inflight);
    http_sse_queue_init(q, 0);
}

size_t http_sse_queue_len(const http_sse_queue_t *q)
{
    return buf_len(&q->pending) + buf_len(&q->inflight);
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
    /* Within max now, so only memory can fail, and then pending is empty:
     * the frame goes in whole or not at all. */
    for (size_t i = 0; i < n; i++)
        if (buf_append(&q->pending, parts[i], lens[i]) != BUF_OK)
            return HTTP_SSE_Q_NOMEM;
    return HTTP_SSE_Q_OK;
}

int http_sse_queue_take(http_sse_queue_t *q, int force, const char **buf, size_t *len)
{
    if (q->sending || (buf_len(&q->pending) == 0 && !force))
        return 0;
    buf_swap(&q->pending, &q->inflight);
    buf_reset(&q->pending);
    q->sending = 1;
    *buf = buf_ptr(&q->inflight);
    *len = buf_len(&q->inflight);
    return 1;
}

void http_sse_queue_done(http_sse_queue_t *q)
{
    q->sending = 0;
    /* A delta's frame is a few hundred bytes and its buffer is kept for the
     * next; one a large frame grew (RunCompleted with the answer, a tool's
     * result) goes: a finished run's reply stays open until its row lands,
     * behind thousands of others under load. */
    if (q->inflight.cap > HTTP_SSE_QUEUE_KEEP)
        buf_free(&q->inflight);
    else
        buf_reset(&q->inflight);
}
