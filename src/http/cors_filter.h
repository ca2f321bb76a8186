/* The CORS policy (http/cors.h) on the wire: an h2o filter that puts the
 * headers on every reply that leaves through h2o (ours, h2o's own errors,
 * SSE streams, store-job bytes), and the preflight answer, given before
 * routing, auth and the rate limit. */
#ifndef AGENTOS_HTTP_CORS_FILTER_H
#define AGENTOS_HTTP_CORS_FILTER_H

#include <h2o.h>

#include "http/cors.h"
#include "http/request.h"

/* cors must outlive the path configuration. */
void cors_filter_register(h2o_pathconf_t *pathconf, const http_cors_t *cors);
/* OPTIONS with Origin and Access-Control-Request-Method, on any path. */
int cors_is_preflight(h2o_req_t *req);
/* Answers a preflight: 200 with no body and the CORS headers, or 400
 * CORS_ORIGIN_DISALLOWED / CORS_PREFLIGHT_INVALID with none. */
void cors_answer_preflight(http_request_t *r, const http_cors_t *cors);

#endif
