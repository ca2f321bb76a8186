/* A handle on a request for work that finishes later (a store call, a
 * model run). h2o may dispose the request first (an HTTP/2 stream reset, a
 * drain): the handle then answers NULL instead of a dangling pointer. The
 * request and the holder each own a reference. */
#ifndef AGENTOS_HTTP_PENDING_H
#define AGENTOS_HTTP_PENDING_H

#include "http/request.h"

typedef struct http_pending http_pending_t;

http_pending_t *http_pending_new(http_request_t *r);
/* The request, or NULL once h2o has disposed of it. Loop thread only. */
http_request_t *http_pending_request(const http_pending_t *p);
/* Drops the holder's reference. */
void http_pending_release(http_pending_t *p);

#endif
