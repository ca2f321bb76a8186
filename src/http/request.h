/* One HTTP request as the handlers see it: h2o's request plus what the
 * server learned about it (id, route parameters, loop state). */
#ifndef AGENTOS_HTTP_REQUEST_H
#define AGENTOS_HTTP_REQUEST_H

#include <h2o.h>
#include <stdint.h>

#define HTTP_MAX_PARAMS 4
#define HTTP_REQUEST_ID_MAX 129
#define HTTP_LOG_PATH_MAX 256

typedef struct http_request {
    h2o_req_t *req;
    void *loop_data; /* the per-loop state made by the server's loop_init */
    uint64_t start_us;
    char request_id[HTTP_REQUEST_ID_MAX];
    char method[16];
    char path[HTTP_LOG_PATH_MAX];
    size_t nparams;
    h2o_iovec_t params[HTTP_MAX_PARAMS]; /* the {name} parts of the route, in order */
    void *app;                           /* set by the application's middleware */
    /* Tags for the access log line; the middleware points them at request state. */
    const char *log_workspace_id;
    const char *log_user_id;
    const struct http_route *route; /* the matched route */
    void *_worker;                  /* the server's, for its own bookkeeping */
} http_request_t;

/* Runs the matched route's handler: for a middleware that answered
 * HTTP_PENDING and has finished its asynchronous check. */
void http_request_continue(http_request_t *r);

/* A NUL-terminated copy of route parameter i (as h2o decoded it) in the
 * request's pool; NULL when there is none or it holds a NUL. */
char *http_request_param(http_request_t *r, size_t i);
/* The value of header name (lower case), or {NULL, 0}. */
h2o_iovec_t http_request_header(http_request_t *r, const char *name);
/* Decodes application/x-www-form-urlencoded text into out (len + 1 bytes),
 * NUL-terminated; returns the decoded length. */
size_t http_url_decode(char *out, const char *s, size_t len);
/* The query-string value of key, decoded into the pool, or NULL. */
char *http_request_query(http_request_t *r, const char *key);
/* Likewise, with the decoded length in *len (a %00 stays in the value). */
char *http_request_query_n(http_request_t *r, const char *key, size_t *len);

#endif
