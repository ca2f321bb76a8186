/* The HTTP server: N loop threads, each a libuv loop with an h2o context and
 * its own SO_REUSEPORT listener. It knows the router mechanism, not routes. */
#ifndef AGENTOS_HTTP_SERVER_H
#define AGENTOS_HTTP_SERVER_H

#include <stddef.h>
#include <uv.h>

#include "http/router.h"

enum {
    HTTP_NEXT = 0,    /* go on to the handler */
    HTTP_DONE = 1,    /* the middleware replied */
    HTTP_PENDING = 2, /* it will reply, or call http_request_continue, later */
};

/* Runs before a matched route's handler. */
typedef int (*http_middleware_fn)(http_request_t *r, const http_route_t *route);

/* How long a loop goes on after its grace period, when loop_grace_over is
 * set: the whole shutdown takes at most the grace period plus this. */
#define HTTP_SERVER_FINAL_WINDOW_MS 3000

typedef struct http_server_config {
    const char *host;
    int port;
    int workers;
    size_t max_body_bytes;
    size_t max_header_bytes; /* a request head: 431 past it (0: h2o's own ~408 KB) */
    size_t max_request_line; /* the request line: 414 past it (0: max_header_bytes) */
    int max_connections;     /* open connections, all loops together; 0: no cap */
    int listen_backlog;      /* listen(2) queue per loop socket; 0: 4096 */
    int log_flush_ms;        /* loop threads buffer log lines this long; 0: unbuffered */
    int http2;               /* cleartext HTTP/2 accepted */
    int request_timeout_ms;
    int shutdown_grace_s;
    const char *cors_origins; /* CORS_ORIGINS: extra allowed origins, comma separated; NULL */
    const http_route_t *routes;
    size_t nroutes;
    http_middleware_fn middleware;
    /* Per-loop application state, made and freed on the loop's own thread. */
    void *(*loop_init)(int worker, uv_loop_t *loop, void *arg);
    void (*loop_free)(void *loop_data);
    /* Work the loop still has beyond its connections (runs in the
     * background): the drain waits for it too. May be NULL. */
    size_t (*loop_busy)(void *loop_data);
    /* Called once when the grace period ends with work left: the loop then
     * runs for at most HTTP_SERVER_FINAL_WINDOW_MS more, for what this
     * starts (final events, rows) to finish. May be NULL. */
    void (*loop_grace_over)(void *loop_data);
    void *loop_arg;
} http_server_config_t;

typedef struct http_server http_server_t;

/* Binds every listener, then starts the loop threads. NULL on failure
 * (the reason is logged). cfg must outlive the server. */
http_server_t *http_server_start(const http_server_config_t *cfg);
/* Asks every loop to stop accepting and drain; safe from any thread. */
void http_server_stop(http_server_t *s);
/* Joins the loop threads. Returns 0 when every loop drained within the
 * grace period. The loops are stopped, not torn down: call it on the way out. */
int http_server_wait(http_server_t *s);

#endif
