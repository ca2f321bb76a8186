/* One HTTP request as the handlers see it: h2o's request plus what the
 * server learned about it (id, route parameters, loop state). Handlers
 * (api/) reach the request only through the functions below, never h2o's
 * struct, so h2o stays a detail of http/. */
#ifndef AGENTOS_HTTP_REQUEST_H
#define AGENTOS_HTTP_REQUEST_H

#include <h2o.h>
#include <stdint.h>
#include <uv.h>

#define HTTP_MAX_PARAMS 4
#define HTTP_REQUEST_ID_MAX 129
#define HTTP_LOG_PATH_MAX 256

/* Bytes of the request (a header value, the body): not NUL-terminated,
 * valid while the request lives; base is NULL when absent. */
typedef struct http_str {
    const char *base;
    size_t len;
} http_str_t;

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
/* Likewise, with its length in *len (0 when there is none). */
char *http_request_param_n(http_request_t *r, size_t i, size_t *len);
/* The value of header name (lower case), or {NULL, 0}. */
http_str_t http_request_header(http_request_t *r, const char *name);
/* The request body as received ({NULL, 0} or len 0 when there is none). */
http_str_t http_request_body(http_request_t *r);
/* The raw query string after '?' (not decoded), or {NULL, 0} without '?'. */
http_str_t http_request_query_string(http_request_t *r);
/* size bytes from the request's pool: freed with the request, never by
 * the caller. Never NULL (h2o aborts when memory runs out). */
void *http_request_alloc(http_request_t *r, size_t size);
/* Calls fn(arg) when the request is freed (its pool cleared), on its loop:
 * for what the request borrowed. Costs one small allocation. */
void http_request_on_free(http_request_t *r, void (*fn)(const void *arg), const void *arg);
/* The event loop the request runs on: for work that answers it later. */
uv_loop_t *http_request_loop(http_request_t *r);
/* Decodes application/x-www-form-urlencoded text into out (len + 1 bytes),
 * NUL-terminated; returns the decoded length. */
size_t http_url_decode(char *out, const char *s, size_t len);
/* The query-string value of key, decoded into the pool, or NULL. */
char *http_request_query(http_request_t *r, const char *key);
/* Likewise, with the decoded length in *len (a %00 stays in the value). */
char *http_request_query_n(http_request_t *r, const char *key, size_t *len);

#endif
