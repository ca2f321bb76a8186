/* CORS policy: which browser origins may read our replies, and the headers
 * that say so. Pure: strings in, verdicts and header values out; the h2o
 * wiring is in http/cors_filter.c and http/server.c. */
#ifndef AGENTOS_HTTP_CORS_H
#define AGENTOS_HTTP_CORS_H

#include <stddef.h>

#define HTTP_CORS_ORIGIN_MAX 256       /* a longer Origin is not compared */
#define HTTP_CORS_REQ_HEADERS_MAX 1024 /* Access-Control-Request-Headers */
#define HTTP_CORS_METHOD_MAX 32        /* Access-Control-Request-Method */
#define HTTP_CORS_MAX_HEADERS 8

/* Read-only once built: the loops share it. */
typedef struct http_cors {
    char **origins; /* Agno's built-ins, then CORS_ORIGINS; no trailing '/' */
    size_t n;
    int any; /* CORS_ORIGINS holds "*": every well-formed origin, echoed */
} http_cors_t;

/* Agno's built-ins plus extra (comma separated, may be NULL; "*" allows
 * every origin). -1 with err filled for an entry that is not an origin. */
int http_cors_init(http_cors_t *c, const char *extra, char *err, size_t errlen);
void http_cors_free(http_cors_t *c);

/* "scheme://host[:port]" in printable ASCII, at most HTTP_CORS_ORIGIN_MAX
 * bytes; "null" and anything with a path are not origins. */
int http_cors_origin_ok(const char *v, size_t len);
/* Well-formed and in the list (ASCII case-insensitive), or the list has "*". */
int http_cors_allowed(const http_cors_t *c, const char *v, size_t len);
/* A comma-separated list of header-name tokens (spaces allowed), at most
 * max bytes: safe to echo. An empty list is fine. */
int http_cors_token_list_ok(const char *v, size_t len, size_t max);

typedef struct http_cors_header {
    const char *name; /* lower case */
    const char *value;
    size_t value_len;
} http_cors_header_t;

typedef struct http_cors_reply {
    http_cors_header_t h[HTTP_CORS_MAX_HEADERS];
    size_t n;
} http_cors_reply_t;

/* The headers for an ordinary reply: Vary: Origin always; for an allowed
 * origin also Allow-Origin (echoed), Allow-Credentials and Expose-Headers.
 * origin may be NULL (no Origin header). Values point at origin or at
 * static strings. */
void http_cors_simple(const http_cors_t *c, const char *origin, size_t origin_len,
                      http_cors_reply_t *out);

typedef struct http_cors_preflight_in {
    const char *origin, *method, *headers, *private_network; /* NULL: absent */
    size_t origin_len, method_len, headers_len, private_network_len;
} http_cors_preflight_in_t;

typedef enum {
    HTTP_CORS_PREFLIGHT_OK,         /* 200, the headers in out */
    HTTP_CORS_PREFLIGHT_DISALLOWED, /* 400 CORS_ORIGIN_DISALLOWED, no CORS headers */
    HTTP_CORS_PREFLIGHT_INVALID,    /* 400 CORS_PREFLIGHT_INVALID: a request header
                                       unsafe to echo; no CORS headers */
} http_cors_verdict_t;

/* A preflight (OPTIONS with Origin and Access-Control-Request-Method). */
http_cors_verdict_t http_cors_preflight(const http_cors_t *c, const http_cors_preflight_in_t *in,
                                        http_cors_reply_t *out);

#endif
