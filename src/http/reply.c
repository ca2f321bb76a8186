#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "http/reply.h"

const char *http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 400 ? "OK" : "Error";
    }
}

void http_reply_copy(http_request_t *r, int status, const char *type, const char *body, size_t len)
{
    h2o_req_t *req = r->req;
    req->res.status = status;
    req->res.reason = http_reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
    req->res.content_length = len;
    h2o_send_inline(req, body, len);
}

static void send_bytes(http_request_t *r, int status, const char *body, size_t len)
{
    http_reply_copy(r, status, "application/json", body, len);
}

/* RFC 9110 tchar, lower case only: h2o's tokens and HTTP/2 want it so. */
static int name_ok(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("!#$%&'*+-.^_`|~", c) != NULL))
            return 0;
    }
    return 1;
}

int http_reply_header(http_request_t *r, const char *name, const char *value, size_t len)
{
    if (!name_ok(name) || value == NULL)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0')
            return -1;
    h2o_req_t *req = r->req;
    h2o_iovec_t n = h2o_strdup(&req->pool, name, strlen(name));
    h2o_iovec_t v = h2o_strdup(&req->pool, value, len);
    h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 1, NULL, v.base, v.len);
    return 0;
}

void http_reply_retry_after(http_request_t *r, int secs)
{
    char text[16];
    int n = snprintf(text, sizeof(text), "%d", secs > 0 ? secs : 1);
    http_reply_header(r, "retry-after", text, (size_t)n);
}

void http_reply_json(http_request_t *r, int status, json_t *body)
{
    char *text = NULL;
    size_t len = 0;
    int rc = http_json_render(body, 0, &text, &len);
    json_decref(body);
    if (rc != 0) {
        http_reply_error(r, 500, "INTERNAL", "could not encode the reply");
        return;
    }
    http_reply_bytes(r, status, text, len);
}

char *http_error_body(const char *code, const char *detail, size_t *len)
{
    json_t *o = json_pack("{s:s, s:s}", "detail", detail, "code", code);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text != NULL && len != NULL)
        *len = strlen(text);
    return text;
}

void http_reply_error(http_request_t *r, int status, const char *code, const char *detail)
{
    size_t len = 0;
    char *text = http_error_body(code, detail, &len);
    if (text == NULL) {
        send_bytes(r, status, "{\"detail\":\"error\",\"code\":\"INTERNAL\"}", 36);
        return;
    }
    send_bytes(r, status, text, len);
    free(text);
}

void http_reply_empty(http_request_t *r, int status)
{
    h2o_req_t *req = r->req;
    req->res.status = status;
    req->res.reason = http_reason(status);
    h2o_send_inline(req, "", 0);
}

/* ---- big bodies: rendered off the loop, sent in pieces ---- */

#define REPLY_PIECE (64 * 1024) /* one h2o_send at most */

typedef struct render {
    buf_t buf;
    buf_rc_t rc; /* the failed append that stopped the dump, if one did */
} render_t;

static int render_append(const char *s, size_t n, void *ud)
{
    render_t *rd = ud;
    rd->rc = buf_append(&rd->buf, s, n);
    return rd->rc == BUF_OK ? 0 : -1;
}

int http_json_render(const json_t *body, size_t cap, char **out, size_t *len)
{
    render_t rd = {.rc = BUF_OK};
    buf_init(&rd.buf, cap > 0 ? cap : SIZE_MAX);
    *out = NULL;
    *len = 0;
    int rc = body != NULL ? json_dump_callback(body, render_append, &rd,
                                               JSON_COMPACT | JSON_REAL_PRECISION(15))
                          : -1;
    if (rc != 0 || buf_len(&rd.buf) == 0) {
        buf_free(&rd.buf);
        return rd.rc == BUF_TOO_LARGE ? HTTP_RENDER_TOO_LARGE : -1;
    }
    *out = buf_take(&rd.buf, len);
    return 0;
}

typedef struct reply_body {
    h2o_generator_t gen; /* first: the generator pointer is the body */
    const char *buf;
    char *owned; /* buf when the reply owns it; NULL for bytes that outlive it */
    size_t len, sent;
} reply_body_t;

/* The pool outlives every piece in flight: the buffer goes with it. */
static void body_dispose(void *p)
{
    free(((reply_body_t *)p)->owned);
}

static void send_piece(reply_body_t *b, h2o_req_t *req)
{
    size_t n = b->len - b->sent < REPLY_PIECE ? b->len - b->sent : REPLY_PIECE;
    h2o_iovec_t v = h2o_iovec_init(b->buf + b->sent, n);
    b->sent += n;
    h2o_send(req, &v, 1, b->sent == b->len ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    send_piece((reply_body_t *)gen, req);
}

static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)gen;
    (void)req;
}

static void start_pieces(http_request_t *r, int status, const char *type, const char *buf,
                         char *owned, size_t len)
{
    h2o_req_t *req = r->req;
    reply_body_t *b = h2o_mem_alloc_shared(&req->pool, sizeof(*b), body_dispose);
    b->gen.proceed = on_proceed;
    b->gen.stop = on_stop;
    b->buf = buf;
    b->owned = owned;
    b->len = len;
    b->sent = 0;
    req->res.status = status;
    req->res.reason = http_reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
    req->res.content_length = len;
    h2o_start_response(req, &b->gen);
    send_piece(b, req);
}

void http_reply_bytes(http_request_t *r, int status, char *body, size_t len)
{
    if (len <= REPLY_PIECE) {
        send_bytes(r, status, body, len); /* copied */
        free(body);
        return;
    }
    start_pieces(r, status, "application/json", body, body, len);
}

void http_reply_static(http_request_t *r, int status, const char *type, const char *body,
                       size_t len)
{
    start_pieces(r, status, type, body, NULL, len);
}
