#include <string.h>

#include "http/request.h"

#include "core/url.h"
#include "http/router.h"

void http_request_continue(http_request_t *r)
{
    r->route->handler(r);
}

char *http_request_param(http_request_t *r, size_t i)
{
    size_t len;
    return http_request_param_n(r, i, &len);
}

char *http_request_param_n(http_request_t *r, size_t i, size_t *len)
{
    *len = i < r->nparams ? r->params[i].len : 0;
    /* h2o's normalised path has %00 decoded: a NUL would make the C string
     * name another id. */
    if (i >= r->nparams || memchr(r->params[i].base, '\0', r->params[i].len) != NULL)
        return NULL;
    h2o_iovec_t v = h2o_strdup(&r->req->pool, r->params[i].base, r->params[i].len);
    return v.base;
}

static http_str_t str_of(h2o_iovec_t v)
{
    return (http_str_t){.base = v.base, .len = v.base != NULL ? v.len : 0};
}

http_str_t http_request_header(http_request_t *r, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&r->req->headers, name, strlen(name), -1);
    if (i < 0)
        return (http_str_t){NULL, 0};
    return str_of(r->req->headers.entries[i].value);
}

http_str_t http_request_body(http_request_t *r)
{
    return str_of(r->req->entity);
}

http_str_t http_request_query_string(http_request_t *r)
{
    const h2o_req_t *req = r->req;
    if (req->query_at == SIZE_MAX)
        return (http_str_t){NULL, 0};
    size_t from = req->query_at + 1;
    return (http_str_t){.base = req->path.base + from, .len = req->path.len - from};
}

void *http_request_alloc(http_request_t *r, size_t size)
{
    return h2o_mem_alloc_pool(&r->req->pool, size);
}

typedef struct {
    void (*fn)(const void *arg);
    const void *arg;
} request_on_free_t;

static void request_on_free_run(void *p)
{
    request_on_free_t *f = p;
    f->fn(f->arg);
}

void http_request_on_free(http_request_t *r, void (*fn)(const void *arg), const void *arg)
{
    request_on_free_t *f = h2o_mem_alloc_shared(&r->req->pool, sizeof *f, request_on_free_run);
    f->fn = fn;
    f->arg = arg;
}

uv_loop_t *http_request_loop(http_request_t *r)
{
    return r->req->conn->ctx->loop;
}

size_t http_url_decode(char *out, const char *s, size_t len)
{
    /* Lenient, so it cannot fail: out holds len + 1 bytes. */
    return (size_t)url_decode(out, len + 1, s, len, URL_DECODE_PLUS);
}

char *http_request_query(http_request_t *r, const char *key)
{
    size_t len;
    return http_request_query_n(r, key, &len);
}

char *http_request_query_n(http_request_t *r, const char *key, size_t *len)
{
    *len = 0;
    http_str_t qs = http_request_query_string(r);
    if (qs.base == NULL)
        return NULL;
    const char *q = qs.base;
    const char *end = qs.base + qs.len;
    size_t klen = strlen(key);
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *pend = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(pend - q));
        const char *kend = eq ? eq : pend;
        if ((size_t)(kend - q) == klen && memcmp(q, key, klen) == 0) {
            const char *v = eq ? eq + 1 : pend;
            char *out = http_request_alloc(r, (size_t)(pend - v) + 1);
            *len = http_url_decode(out, v, (size_t)(pend - v));
            return out;
        }
        q = pend + 1;
    }
    return NULL;
}
