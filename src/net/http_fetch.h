/* One blocking HTTP GET with curl's easy interface, for a thread of its own
 * (never a loop thread): small documents fetched now and then, such as a
 * JWKS. Bounded in size and time; no redirect is followed and only http and
 * https are spoken, so a URL in a reply cannot lead the fetch elsewhere. */
#ifndef AGENTOS_NET_HTTP_FETCH_H
#define AGENTOS_NET_HTTP_FETCH_H

#include <stddef.h>

#include "core/buf.h"

typedef struct http_fetch_opts {
    const char *url;
    size_t max_bytes;        /* the body's bound: past it the fetch fails */
    long connect_timeout_ms; /* 0: 5000 */
    long total_timeout_ms;   /* 0: 10000 */
} http_fetch_opts_t;

/* Thread-safe: libcurl is initialised as it loads (core/lazy_lib.h).
 * Returns 0 with the body in *out (a 2xx reply), or -1 with a one-line
 * reason in err (curl's error, "HTTP 503", "larger than N bytes"). *out is
 * initialised with the bound here and emptied on failure. */
int http_fetch_get(const http_fetch_opts_t *o, buf_t *out, char *err, size_t errlen);

#endif
