/* The router mechanism: matches a method and path against a route table.
 * It knows no route: the table comes from the application. */
#ifndef AGENTOS_HTTP_ROUTER_H
#define AGENTOS_HTTP_ROUTER_H

#include <stddef.h>

#include "http/request.h"

typedef void (*http_handler_fn)(http_request_t *r);

typedef struct http_route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/sessions/{session_id}/runs": a {...} segment matches one segment */
    http_handler_fn handler;
    int access;        /* opaque here: the application's middleware reads it */
    const char *scope; /* opaque here too: the scope a scoped caller needs, or NULL */
} http_route_t;

typedef struct router_match {
    const http_route_t *route; /* NULL: see status */
    int status;                /* 200 found, 404 no such path, 405 path known, method not */
    size_t nparams;
    h2o_iovec_t params[HTTP_MAX_PARAMS];
    char allow[64]; /* for 405: the methods the path accepts, "GET, POST" */
} router_match_t;

/* A trailing slash on path is ignored. */
void router_match(const http_route_t *routes, size_t nroutes, const char *method, size_t method_len,
                  const char *path, size_t path_len, router_match_t *m);

#endif
