#include <string.h>

#include "http/cors_filter.h"
#include "http/reply.h"

typedef struct cors_filter {
    h2o_filter_t super;
    const http_cors_t *cors;
} cors_filter_t;

static h2o_iovec_t header(h2o_req_t *req, const char *name, size_t len)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, len, -1);
    return i >= 0 ? req->headers.entries[i].value : h2o_iovec_init(NULL, 0);
}

int cors_is_preflight(h2o_req_t *req)
{
    return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS")) &&
           header(req, H2O_STRLIT("origin")).base != NULL &&
           header(req, H2O_STRLIT("access-control-request-method")).base != NULL;
}

/* The values point at the request's own headers or at static strings: both
 * outlive the response headers. */
static void add_all(h2o_req_t *req, const http_cors_reply_t *h)
{
    for (size_t i = 0; i < h->n; i++)
        h2o_add_header_by_str(&req->pool, &req->res.headers, h->h[i].name, strlen(h->h[i].name), 1,
                              NULL, h->h[i].value, h->h[i].value_len);
}

static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    /* A preflight's reply carries its own set (or, refused, none). */
    if (!cors_is_preflight(req)) {
        h2o_iovec_t origin = header(req, H2O_STRLIT("origin"));
        http_cors_reply_t h;
        http_cors_simple(((cors_filter_t *)self)->cors, origin.base, origin.len, &h);
        add_all(req, &h);
    }
    h2o_setup_next_ostream(req, slot);
}

void cors_filter_register(h2o_pathconf_t *pathconf, const http_cors_t *cors)
{
    cors_filter_t *f = (cors_filter_t *)h2o_create_filter(pathconf, sizeof(*f));
    f->super.on_setup_ostream = on_setup_ostream;
    f->cors = cors;
}

void cors_answer_preflight(http_request_t *r, const http_cors_t *cors)
{
    h2o_req_t *req = r->req;
    h2o_iovec_t o = header(req, H2O_STRLIT("origin"));
    h2o_iovec_t m = header(req, H2O_STRLIT("access-control-request-method"));
    h2o_iovec_t h = header(req, H2O_STRLIT("access-control-request-headers"));
    h2o_iovec_t p = header(req, H2O_STRLIT("access-control-request-private-network"));
    http_cors_preflight_in_t in = {o.base, m.base, h.base, p.base, o.len, m.len, h.len, p.len};
    http_cors_reply_t out;
    switch (http_cors_preflight(cors, &in, &out)) {
    case HTTP_CORS_PREFLIGHT_OK:
        add_all(req, &out);
        req->res.content_length = 0;
        http_reply_empty(r, 200);
        return;
    case HTTP_CORS_PREFLIGHT_DISALLOWED:
        http_reply_error(r, 400, "CORS_ORIGIN_DISALLOWED", "Disallowed CORS origin");
        return;
    case HTTP_CORS_PREFLIGHT_INVALID:
        http_reply_error(r, 400, "CORS_PREFLIGHT_INVALID", "Disallowed CORS request headers");
        return;
    }
}
