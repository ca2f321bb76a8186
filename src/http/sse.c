#include <stdlib.h>
#include <string.h>

#include "http/sse.h"
#include "http/sse_queue.h"

struct http_sse {
    h2o_generator_t gen;
    h2o_req_t *req; /* NULL once h2o disposed of the request */
    uv_timer_t ping;
    int refs; /* the producer, the request, the timer handle */
    http_sse_queue_t q;
    size_t max_buffer;
    int ping_ms, stall_ms;
    int ended, closed, backlogged;
    uint64_t last_write_ms; /* a write started */
    uint64_t last_done_ms;  /* a write completed: the client is reading */
    void (*on_close)(void *ud, http_sse_close_t why);
    void (*on_drain)(void *ud);
    void *ud;
};

#define SSE_TICK_MS 500

static void sse_release(http_sse_t *s)
{
    if (--s->refs > 0)
        return;
    http_sse_queue_free(&s->q);
    free(s);
}

static void close_early(http_sse_t *s, http_sse_close_t why)
{
    if (s->closed)
        return;
    s->closed = 1;
    uv_timer_stop(&s->ping);
    if (!s->ended && s->on_close != NULL)
        s->on_close(s->ud, why);
}

static void flush(http_sse_t *s)
{
    if (s->req == NULL)
        return;
    int final = s->ended || s->closed;
    const char *bytes;
    size_t len;
    if (!http_sse_queue_take(&s->q, final, &bytes, &len))
        return;
    h2o_iovec_t buf = h2o_iovec_init(bytes, len);
    s->last_write_ms = uv_now(s->ping.loop);
    h2o_send_state_t state = !final                   ? H2O_SEND_STATE_IN_PROGRESS
                             : s->closed && !s->ended ? H2O_SEND_STATE_ERROR
                                                      : H2O_SEND_STATE_FINAL;
    h2o_send(s->req, &buf, buf.len > 0 ? 1 : 0, state);
}

static size_t queued(const http_sse_t *s)
{
    return http_sse_queue_len(&s->q);
}

int http_sse_backlogged(const http_sse_t *s)
{
    return queued(s) >= s->max_buffer / 4;
}

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    http_sse_t *s = (http_sse_t *)gen;
    http_sse_queue_done(&s->q);
    s->last_done_ms = uv_now(s->ping.loop);
    flush(s);
    /* Once ended, ud may be gone (the run's end frees it). */
    if (s->backlogged && queued(s) < s->max_buffer / 8 && !s->closed && !s->ended) {
        s->backlogged = 0;
        if (s->on_drain != NULL)
            s->on_drain(s->ud);
    }
}

static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    close_early((http_sse_t *)gen, HTTP_SSE_CLIENT_GONE);
}

static void on_request_disposed(void *slot)
{
    http_sse_t *s = *(http_sse_t **)slot;
    s->req = NULL;
    close_early(s, HTTP_SSE_CLIENT_GONE);
    sse_release(s);
}

static void on_timer_closed(uv_handle_t *h)
{
    sse_release(h->data);
}

/* A reader that takes nothing for stall_ms while bytes wait is cut off;
 * a silent stream gets a ping. */
static void on_tick(uv_timer_t *t)
{
    http_sse_t *s = t->data;
    uint64_t now = uv_now(t->loop);
    if (s->stall_ms > 0 && s->q.sending && now - s->last_done_ms >= (uint64_t)s->stall_ms) {
        close_early(s, HTTP_SSE_TOO_SLOW);
        return;
    }
    if (s->ping_ms > 0 && now - s->last_write_ms >= (uint64_t)s->ping_ms)
        http_sse_comment(s, "ping");
}

http_sse_t *http_sse_start(http_request_t *r, const http_sse_opts_t *opts)
{
    http_sse_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    h2o_req_t *req = r->req;
    s->gen.proceed = on_proceed;
    s->gen.stop = on_stop;
    s->req = req;
    s->refs = 3;
    s->max_buffer = opts->max_buffer;
    http_sse_queue_init(&s->q, opts->max_buffer);
    s->ping_ms = opts->ping_ms;
    s->stall_ms = opts->stall_ms;
    s->on_close = opts->on_close;
    s->on_drain = opts->on_drain;
    s->ud = opts->ud;
    uv_timer_init(req->conn->ctx->loop, &s->ping);
    s->ping.data = s;
    s->last_write_ms = s->last_done_ms = uv_now(s->ping.loop);
    if (s->ping_ms > 0 || s->stall_ms > 0)
        uv_timer_start(&s->ping, on_tick, SSE_TICK_MS, SSE_TICK_MS);
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): the pool holds a pointer to s, not s */
    http_sse_t **slot = h2o_mem_alloc_shared(&req->pool, sizeof(*slot), on_request_disposed);
    *slot = s;
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/event-stream"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-cache"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-accel-buffering"), 0, NULL,
                          H2O_STRLIT("no"));
    h2o_start_response(req, &s->gen);
    /* The headers go out now, so a client sees the stream open at once. */
    h2o_iovec_t none = h2o_iovec_init(NULL, 0);
    s->q.sending = 1; /* until proceed: nothing of ours is in flight */
    h2o_send(req, &none, 0, H2O_SEND_STATE_IN_PROGRESS);
    return s;
}

static int append(http_sse_t *s, const char *const *parts, const size_t *lens, size_t n)
{
    if (s->closed || s->ended)
        return HTTP_SSE_ERR_CLOSED;
    switch (http_sse_queue_append(&s->q, parts, lens, n)) {
    case HTTP_SSE_Q_OK:
        break;
    case HTTP_SSE_Q_TOO_LARGE: /* the producer may split it or report it */
        return HTTP_SSE_ERR_TOO_LARGE;
    case HTTP_SSE_Q_FULL:
        close_early(s, HTTP_SSE_TOO_SLOW);
        flush(s);
        return HTTP_SSE_ERR_CLOSED;
    case HTTP_SSE_Q_NOMEM:
        close_early(s, HTTP_SSE_FAILED);
        flush(s);
        return HTTP_SSE_ERR_CLOSED;
    }
    flush(s);
    if (http_sse_backlogged(s))
        s->backlogged = 1;
    return 0;
}

int http_sse_event(http_sse_t *s, const char *name, const char *data, size_t len)
{
    const char *parts[] = {"event: ", name, "\ndata: ", data, "\n\n"};
    size_t lens[] = {7, strlen(name), 7, len, 2};
    return append(s, parts, lens, 5);
}

int http_sse_comment(http_sse_t *s, const char *text)
{
    const char *parts[] = {": ", text, "\n\n"};
    size_t lens[] = {2, strlen(text), 2};
    return append(s, parts, lens, 3);
}

void http_sse_end(http_sse_t *s)
{
    s->ended = 1;
    uv_timer_stop(&s->ping);
    flush(s);
    uv_close((uv_handle_t *)&s->ping, on_timer_closed);
    sse_release(s);
}

size_t http_sse_max_frame(const http_sse_t *s)
{
    return s->max_buffer;
}

size_t http_sse_room(const http_sse_t *s)
{
    size_t q = queued(s);
    return q < s->max_buffer ? s->max_buffer - q : 0;
}
