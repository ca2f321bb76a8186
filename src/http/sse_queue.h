/* The byte queue behind an SSE reply: frames wait in `pending` while h2o
 * owns `inflight` (between h2o_send and proceed); on take the two core/buf
 * buffers swap, each with its own capacity. Kept apart from h2o so every
 * interleaving of append, take and done can be driven by a unit test. */
#ifndef AGENTOS_HTTP_SSE_QUEUE_H
#define AGENTOS_HTTP_SSE_QUEUE_H

#include <stddef.h>

#include "core/buf.h"

/* A sent buffer larger than this is freed, not kept for the next frame. */
#define HTTP_SSE_QUEUE_KEEP 1024

typedef struct http_sse_queue {
    buf_t pending;
    buf_t inflight; /* h2o's while sending */
    size_t max;     /* pending + inflight at most */
    int sending;
} http_sse_queue_t;

typedef enum {
    HTTP_SSE_Q_OK = 0,
    HTTP_SSE_Q_FULL = -1,      /* the reader is too far behind */
    HTTP_SSE_Q_TOO_LARGE = -2, /* one frame larger than max: never fits */
    HTTP_SSE_Q_NOMEM = -3,     /* what waited is dropped too (core/buf frees on failure) */
} http_sse_q_rc_t;

void http_sse_queue_init(http_sse_queue_t *q, size_t max);
void http_sse_queue_free(http_sse_queue_t *q);
/* Appends the concatenation of parts as one frame, all or nothing. */
http_sse_q_rc_t http_sse_queue_append(http_sse_queue_t *q, const char *const *parts,
                                      const size_t *lens, size_t n);
/* When nothing is in flight: moves what waits to inflight (*buf, *len),
 * marks it sending and returns 1; otherwise 0. With force, takes even an
 * empty queue (a final send). */
int http_sse_queue_take(http_sse_queue_t *q, int force, const char **buf, size_t *len);
/* The send of inflight completed; its buffer is kept if at most
 * HTTP_SSE_QUEUE_KEEP, else freed. */
void http_sse_queue_done(http_sse_queue_t *q);
size_t http_sse_queue_len(const http_sse_queue_t *q);

#endif
