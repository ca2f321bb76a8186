/* A Server-Sent Events reply: events are queued and written as the client
 * reads (h2o's generator proceed), with the queue bounded: a reader that
 * falls too far behind is cut off rather than buffered without end. A
 * comment line keeps a silent stream alive and lets h2o notice a client
 * that left (it only learns that when a write fails). */
#ifndef AGENTOS_HTTP_SSE_H
#define AGENTOS_HTTP_SSE_H

#include <stddef.h>

#include "http/request.h"

typedef struct http_sse http_sse_t;

typedef enum {
    HTTP_SSE_CLIENT_GONE = 1, /* the request ended before the stream did */
    HTTP_SSE_TOO_SLOW,        /* the reader fell more than max_buffer behind */
    HTTP_SSE_FAILED,          /* out of memory */
} http_sse_close_t;

#define HTTP_SSE_ERR_CLOSED (-1)    /* the stream is over */
#define HTTP_SSE_ERR_TOO_LARGE (-2) /* one frame over max_buffer: refused, stream open */

typedef struct http_sse_opts {
    size_t max_buffer; /* bytes queued before a reader counts as too slow */
    int ping_ms;       /* a ": ping" after this long without a write; 0: never */
    int stall_ms;      /* queued bytes and no write done this long: too slow */
    /* Called once when the stream is over early (never after http_sse_end). */
    void (*on_close)(void *ud, http_sse_close_t why);
    /* Called when the queue, once backlogged, has drained below half of
     * the high-water mark: the producer may go on. May be NULL. */
    void (*on_drain)(void *ud);
    void *ud;
} http_sse_opts_t;

/* Sends 200 with text/event-stream and starts the stream. */
http_sse_t *http_sse_start(http_request_t *r, const http_sse_opts_t *opts);
/* Queues "event: <name>\ndata: <data>\n\n"; data must be one line (compact
 * JSON). HTTP_SSE_ERR_CLOSED once the stream is closed (a queue over
 * max_buffer closes it: the reader is too slow); HTTP_SSE_ERR_TOO_LARGE for
 * one frame that alone exceeds max_buffer, which is refused and leaves the
 * stream open, so the producer can split it or report it. */
int http_sse_event(http_sse_t *s, const char *name, const char *data, size_t len);
/* Queues a ": <text>" comment line. */
int http_sse_comment(http_sse_t *s, const char *text);
/* 1 while a quarter of max_buffer or more waits for the client: a producer
 * that can wait should (and hear on_drain), so the cap is for those that
 * cannot. */
int http_sse_backlogged(const http_sse_t *s);
/* The largest frame the stream takes (name, data and framing). */
size_t http_sse_max_frame(const http_sse_t *s);
/* What may be queued now before the reader counts as too slow. */
size_t http_sse_room(const http_sse_t *s);
/* Ends the stream after what is queued, and lets go of s. */
void http_sse_end(http_sse_t *s);

#endif
