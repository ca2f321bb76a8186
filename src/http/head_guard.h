/* The head guard: stands between a connection's socket and h2o's HTTP/1
 * reader, so a request head is judged (http/head_check.h) before h2o sees
 * it. A head past the limits, malformed, or with ambiguous framing gets a
 * JSON error and the connection is closed: h2o 2.2 would buffer ~400 KB of
 * an unfinished head and answer a plain-text 400 of its own. */
#ifndef AGENTOS_HTTP_HEAD_GUARD_H
#define AGENTOS_HTTP_HEAD_GUARD_H

#include <h2o.h>
#include <uv.h>

#include "core/list.h"
#include "http/cors.h"
#include "http/head_check.h"

/* Per loop: the limits, h2o's reader, and the connections to wrap again. */
typedef struct http_head_guard_loop {
    http_head_limits_t limits;
    const http_cors_t *cors;  /* the server's, read-only: for the CORS headers of a refusal */
    h2o_socket_cb h2o_reader; /* h2o's HTTP/1 read callback, learnt at the first accept */
    list_t rearm;             /* the guards to wrap again, in request-end order */
    uv_prepare_t prepare;
    uv_check_t check;
} http_head_guard_loop_t;

/* Per connection; lives until the socket's libuv close callback. */
typedef struct http_head_guard {
    http_head_guard_loop_t *loop;
    h2o_socket_t *sock;
    list_t rearm_link;
    int in_request; /* h2o has the head: what follows is a body or the next head */
    int checked;    /* the guard judged this request's head */
    int closed;
    size_t req_end; /* where the request in h2o's buffer ends; SIZE_MAX: unknown */
    /* A head pipelined behind the last request and refused before h2o saw
     * it (HEAD_PARTIAL: none), with its X-Request-ID (or ""). */
    http_head_verdict_t refused;
    char refused_id[129];
    char refused_origin[HTTP_CORS_ORIGIN_MAX + 1]; /* "" when none or too long */
} http_head_guard_t;

/* lim->max_head is capped below h2o's own H2O_MAX_REQLEN (0: that cap);
 * lim->max_line at max_head (0: the same). */
void http_head_guard_loop_init(http_head_guard_loop_t *gl, uv_loop_t *loop,
                               const http_head_limits_t *lim, const http_cors_t *cors);
/* Right after h2o_accept on sock. Uses sock->on_close, which h2o leaves to
 * the owner of a server socket. */
void http_head_guard_attach(http_head_guard_t *g, http_head_guard_loop_t *gl, h2o_socket_t *sock);
/* The guard of an HTTP/1 request's connection, or NULL. */
http_head_guard_t *http_head_guard_of(h2o_req_t *req);
/* A request reached the handler. The verdict on its head: HEAD_COMPLETE
 * when the guard passed it; a pipelined head that h2o parsed before the
 * guard was back is judged now, from h2o's input buffer. */
void http_head_guard_request_begin(http_head_guard_t *g, http_head_result_t *res);
/* The request is disposed of: h2o reads the next head, and restarts its own
 * reader, which the guard wraps again before the loop polls. */
void http_head_guard_request_end(http_head_guard_t *g);

#endif
