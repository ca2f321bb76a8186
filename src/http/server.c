/* Loop threads: each owns a libuv loop, an h2o context and a SO_REUSEPORT
 * listener, and shares nothing with the others but read-only config. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/list.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/counters.h"
#include "http/access_log.h"
#include "http/conn_limit.h"
#include "http/cors_filter.h"
#include "http/error_filter.h"
#include "http/head_guard.h"
#include "http/listen_socket.h"
#include "http/reply.h"
#include "http/server.h"
#include "http/socket_buffers.h"

#include <h2o/socket/uv-binding.h>

#define DRAIN_TICK_MS 50
#define BUSY_LOG_EVERY_US 1000000u

typedef struct worker worker_t;

typedef struct conn {
    uv_tcp_t tcp; /* first: the close callback gets this pointer */
    h2o_socket_t *sock;
    list_t link; /* in worker->conns once accepted */
    worker_t *worker;
    int counted; /* holds a place in the process's connection count */
    http_head_guard_t guard;
} conn_t;

struct worker {
    http_server_t *server;
    int index;
    int fd;
    pthread_t thread;
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_timer_t log_flush_timer;
    uv_async_t stop_async;
    uv_timer_t drain_timer;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    http_head_guard_loop_t guard;
    uint64_t busy_logged_us;
    void *loop_data;
    list_t conns;
    size_t open_conns;
    size_t in_flight;
    uint64_t drain_started_us;
    uint64_t grace_over_us; /* 0 until the grace period ended with work left */
    int drained;
};

typedef struct server_handler {
    h2o_handler_t super;
    http_server_t *server;
} server_handler_t;

struct http_server {
    const http_server_config_t *cfg;
    h2o_globalconf_t globalconf;
    http_conn_limit_t conns;
    http_cors_t cors; /* read-only once the loops start */
    worker_t *workers;
    int nworkers;
};

/* ---- requests ---- */

static void on_request_done(void *p)
{
    http_request_t *r = p;
    worker_t *w = r->_worker;
    http_head_guard_t *g = http_head_guard_of(r->req);
    if (g != NULL)
        http_head_guard_request_end(g);
    w->in_flight--;
    uint64_t duration_us = timeutil_mono_us() - r->start_us; /* one clock read for both */
    counters_request(r->route ? (int)(r->route - w->server->cfg->routes) : -1, r->req->res.status,
                     duration_us);
    access_log_write(r, duration_us);
}

static void set_request_id(http_request_t *r)
{
    http_str_t v = http_request_header(r, "x-request-id");
    if (v.base != NULL && ids_request_id_ok(v.base, v.len)) {
        memcpy(r->request_id, v.base, v.len);
        r->request_id[v.len] = '\0';
    } else {
        ids_uuid4(r->request_id);
    }
    h2o_add_header_by_str(&r->req->pool, &r->req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL,
                          r->request_id, strlen(r->request_id));
}

static void copy_iovec(char *dst, size_t cap, h2o_iovec_t v)
{
    size_t n = v.len < cap - 1 ? v.len : cap - 1;
    memcpy(dst, v.base, n);
    dst[n] = '\0';
}

static http_request_t *request_new(worker_t *w, h2o_req_t *req)
{
    http_request_t *r = h2o_mem_alloc_shared(&req->pool, sizeof(*r), on_request_done);
    memset(r, 0, sizeof(*r));
    r->req = req;
    r->_worker = w;
    r->loop_data = w->loop_data;
    r->start_us = timeutil_mono_us();
    copy_iovec(r->method, sizeof(r->method), req->method);
    copy_iovec(r->path, sizeof(r->path), req->path_normalized);
    w->in_flight++;
    return r;
}

/* A head the guard could not see first (pipelined behind the last
 * request): the same verdict, through h2o, and the connection closes. */
static int head_refused(http_request_t *r)
{
    http_head_guard_t *g = http_head_guard_of(r->req);
    http_head_result_t res;
    http_head_error_t e;
    if (g == NULL)
        return 0;
    http_head_guard_request_begin(g, &res);
    if (http_head_error(res.verdict, &e) != 0)
        return 0;
    h2o_req_t *req = r->req;
    size_t len = 0;
    char *body = http_error_body(e.code, e.detail, &len);
    req->http1_is_persistent = 0;
    req->res.status = e.status;
    req->res.reason = e.reason;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    req->res.content_length = body != NULL ? len : 0;
    h2o_send_inline(req, body, body != NULL ? len : 0);
    free(body);
    return 1;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    const http_server_config_t *cfg = ((server_handler_t *)self)->server->cfg;
    worker_t *w = H2O_STRUCT_FROM_MEMBER(worker_t, ctx, req->conn->ctx);
    http_request_t *r = request_new(w, req);
    set_request_id(r);
    if (head_refused(r))
        return 0;
    /* Before routing, auth and the rate limit: a browser sends no
     * credentials with a preflight, on any path. */
    if (cors_is_preflight(req)) {
        cors_answer_preflight(r, &((server_handler_t *)self)->server->cors);
        return 0;
    }

    router_match_t m;
    router_match(cfg->routes, cfg->nroutes, req->method.base, req->method.len,
                 req->path_normalized.base, req->path_normalized.len, &m);
    if (m.status == 404) {
        http_reply_error(r, 404, "NOT_FOUND", "Not Found");
        return 0;
    }
    if (m.status == 405) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, m.allow,
                       strlen(m.allow));
        http_reply_error(r, 405, "METHOD_NOT_ALLOWED", "Method Not Allowed");
        return 0;
    }
    r->nparams = m.nparams;
    memcpy(r->params, m.params, sizeof(m.params));
    r->route = m.route;
    if (cfg->middleware == NULL || cfg->middleware(r, m.route) == HTTP_NEXT)
        http_request_continue(r);
    return 0;
}

/* ---- connections ---- */

static void on_conn_closed(uv_handle_t *h)
{
    conn_t *c = (conn_t *)h;
    if (list_is_linked(&c->link)) {
        list_remove(&c->link);
        c->worker->open_conns--;
    }
    if (c->counted)
        http_conn_limit_release(&c->worker->server->conns);
    free(c);
}

/* At MAX_CONNECTIONS: one short reply, sent without waiting, then close. */
static void refuse_busy(worker_t *w, conn_t *c)
{
    static const char reply[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                "Content-Type: application/json\r\n"
                                "Content-Length: 54\r\nConnection: close\r\n\r\n"
                                "{\"detail\":\"too many connections\",\"code\":\"SERVER_BUSY\"}";
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 &&
        send(fd, reply, sizeof(reply) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        log_msg(LOG_LEVEL_DEBUG, "busy reply not sent");
    uint64_t now = timeutil_mono_us();
    if (now - w->busy_logged_us >= BUSY_LOG_EVERY_US) {
        w->busy_logged_us = now;
        log_json(LOG_LEVEL_WARN, "connection refused: MAX_CONNECTIONS reached",
                 json_pack("{s:i}", "max_connections", w->server->conns.max));
    }
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_connection(uv_stream_t *listener, int status)
{
    worker_t *w = listener->loop->data;
    if (status != 0)
        return;
    conn_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->worker = w;
    uv_tcp_init(listener->loop, &c->tcp);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    if (!(c->counted = http_conn_limit_acquire(&w->server->conns))) {
        refuse_busy(w, c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, on_conn_closed);
    list_insert_tail(&w->conns, &c->link);
    w->open_conns++;
    h2o_accept(&w->accept_ctx, c->sock);
    http_head_guard_attach(&c->guard, &w->guard, c->sock);
}

/* ---- drain ---- */

/* h2o 2.2 leaves idle keep-alive connections open on shutdown; once no
 * request runs on this loop, a read shutdown on a connection with nothing
 * buffered makes h2o see EOF and close it itself. */
static void close_idle_conns(worker_t *w)
{
    if (w->in_flight != 0)
        return;
    list_t *node;
    LIST_FOREACH(node, &w->conns) {
        conn_t *c = LIST_ENTRY(node, conn_t, link);
        uv_os_fd_t fd;
        if (uv_is_closing((uv_handle_t *)&c->tcp) || c->sock->input->size != 0)
            continue;
        if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            shutdown(fd, SHUT_RD);
    }
}

/* h2o 2.2 cannot dispose a context whose timeouts still hold entries, and
 * its own server never does: the loop is stopped, not torn down, and the
 * process exits right after. */
static void on_stop_timer(uv_timer_t *t)
{
    uv_stop(t->loop);
}

static void finish_loop(worker_t *w)
{
    uv_timer_stop(&w->drain_timer);
    log_thread_flush();
    if (!w->drained)
        log_json(LOG_LEVEL_WARN, "shutdown grace period over",
                 json_pack("{s:i, s:I, s:I}", "worker", w->index, "open_connections",
                           (json_int_t)w->open_conns, "requests_in_flight",
                           (json_int_t)w->in_flight));
    if (w->server->cfg->loop_free != NULL)
        w->server->cfg->loop_free(w->loop_data);
    w->loop_data = NULL;
    /* One more turn of the loop lets the state's handles run their close
     * callbacks before the loop stops. */
    uv_timer_start(&w->drain_timer, on_stop_timer, 20, 0);
}

static void on_drain_tick(uv_timer_t *t)
{
    worker_t *w = t->data;
    size_t (*busy)(void *) = w->server->cfg->loop_busy;
    if (w->open_conns == 0 && (busy == NULL || busy(w->loop_data) == 0)) {
        w->drained = w->grace_over_us == 0;
        finish_loop(w);
        return;
    }
    close_idle_conns(w);
    const http_server_config_t *cfg = w->server->cfg;
    uint64_t now = timeutil_mono_us();
    if (w->grace_over_us != 0) {
        /* The final window is for what the hook ended (their last bytes,
         * their rows), not for other requests that outlast the grace. */
        int ended = (busy == NULL || busy(w->loop_data) == 0) && w->in_flight == 0;
        if (ended || now - w->grace_over_us >= (uint64_t)HTTP_SERVER_FINAL_WINDOW_MS * 1000u)
            finish_loop(w);
        return;
    }
    if (now - w->drain_started_us < (uint64_t)cfg->shutdown_grace_s * 1000000u)
        return;
    if (cfg->loop_grace_over == NULL) {
        finish_loop(w);
        return;
    }
    if (busy == NULL || busy(w->loop_data) == 0) {
        finish_loop(w); /* nothing for the hook to end */
        return;
    }
    w->grace_over_us = now;
    cfg->loop_grace_over(w->loop_data);
}

static void on_stop(uv_async_t *a)
{
    worker_t *w = a->data;
    if (w->drain_started_us != 0)
        return;
    w->drain_started_us = timeutil_mono_us();
    uv_close((uv_handle_t *)&w->listener, NULL);
    h2o_context_request_shutdown(&w->ctx);
    w->drain_timer.data = w;
    uv_timer_start(&w->drain_timer, on_drain_tick, 0, DRAIN_TICK_MS);
}

/* ---- threads ---- */

static void on_log_flush(uv_timer_t *t)
{
    (void)t;
    log_thread_flush();
}

/* Unreferenced: the timer never keeps a stopping loop alive; what it holds
 * is written when the loop ends. */
static void start_log_flush(worker_t *w, int ms)
{
    uv_timer_init(&w->loop, &w->log_flush_timer);
    if (ms <= 0)
        return;
    log_thread_buffer(1);
    uv_timer_start(&w->log_flush_timer, on_log_flush, (uint64_t)ms, (uint64_t)ms);
    uv_unref((uv_handle_t *)&w->log_flush_timer);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    const http_server_config_t *cfg = w->server->cfg;
    h2o_context_init(&w->ctx, &w->loop, &w->server->globalconf);
    w->accept_ctx.ctx = &w->ctx;
    w->accept_ctx.hosts = w->server->globalconf.hosts;
    http_head_limits_t lim = {
        .max_head = cfg->max_header_bytes, .max_line = cfg->max_request_line, .http2 = cfg->http2};
    http_head_guard_loop_init(&w->guard, &w->loop, &lim, &w->server->cors);
    counters_attach(w->index);
    http_socket_buffers_init(); /* before this loop reads a socket */
    if (cfg->loop_init != NULL)
        w->loop_data = cfg->loop_init(w->index, &w->loop, cfg->loop_arg);
    start_log_flush(w, cfg->log_flush_ms);
    uv_tcp_init(&w->loop, &w->listener);
    int rc = uv_tcp_open(&w->listener, w->fd);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&w->listener, http_listen_backlog(cfg->listen_backlog),
                       on_connection);
    if (rc != 0)
        log_msg(LOG_LEVEL_ERROR, "worker %d: listen: %s", w->index, uv_strerror(rc));
    uv_run(&w->loop, UV_RUN_DEFAULT);
    log_thread_buffer(0);
    return NULL;
}

static void init_globalconf(http_server_t *s)
{
    const http_server_config_t *cfg = s->cfg;
    h2o_config_init(&s->globalconf);
    s->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("agentos"));
    s->globalconf.max_request_entity_size = cfg->max_body_bytes;
    s->globalconf.http1.req_timeout = (uint64_t)cfg->request_timeout_ms;
    s->globalconf.http2.idle_timeout = (uint64_t)cfg->request_timeout_ms;
    /* Cleartext HTTP/2 (prior knowledge and Upgrade: h2c) only when asked:
     * h2o 2.2.5 has no fix for HTTP/2 rapid reset (CVE-2023-44487). */
    s->globalconf.http1.upgrade_to_http2 = cfg->http2 ? 1 : 0;
    h2o_hostconf_t *host =
        h2o_config_register_host(&s->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *paths[] = {h2o_config_register_path(host, "/", 0), &host->fallback_path};
    /* The fallback path too: every request h2o processes reaches on_req,
     * which the head guard counts on to know when the next head begins. */
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        server_handler_t *h = (server_handler_t *)h2o_create_handler(paths[i], sizeof(*h));
        h->super.on_req = on_req;
        h->server = s;
        error_filter_register(paths[i]);
        cors_filter_register(paths[i], &s->cors);
    }
}

static void server_free(http_server_t *s)
{
    for (int i = 0; i < s->nworkers; i++)
        if (s->workers[i].fd >= 0)
            close(s->workers[i].fd);
    h2o_config_dispose(&s->globalconf);
    http_cors_free(&s->cors);
    free(s->workers);
    free(s);
}

http_server_t *http_server_start(const http_server_config_t *cfg)
{
    http_server_t *s = calloc(1, sizeof(*s));
    s->cfg = cfg;
    s->nworkers = cfg->workers;
    s->workers = calloc((size_t)cfg->workers, sizeof(worker_t));
    http_conn_limit_init(&s->conns, cfg->max_connections > 0 ? cfg->max_connections : INT_MAX);
    char err[160];
    if (http_cors_init(&s->cors, cfg->cors_origins, err, sizeof(err)) != 0) {
        log_msg(LOG_LEVEL_ERROR, "%s", err);
        free(s->workers);
        free(s);
        return NULL;
    }
    init_globalconf(s);
    for (int i = 0; i < s->nworkers; i++)
        s->workers[i].fd = -1;
    for (int i = 0; i < s->nworkers; i++) {
        if ((s->workers[i].fd = http_listen_socket(cfg->host, cfg->port,
                                                   http_listen_backlog(cfg->listen_backlog))) < 0) {
            server_free(s);
            return NULL;
        }
    }
    for (int i = 0; i < s->nworkers; i++) {
        worker_t *w = &s->workers[i];
        w->server = s;
        w->index = i;
        list_init(&w->conns);
        uv_loop_init(&w->loop);
        w->loop.data = w;
        uv_async_init(&w->loop, &w->stop_async, on_stop);
        w->stop_async.data = w;
        uv_timer_init(&w->loop, &w->drain_timer);
        pthread_create(&w->thread, NULL, worker_main, w);
    }
    return s;
}

void http_server_stop(http_server_t *s)
{
    for (int i = 0; i < s->nworkers; i++)
        uv_async_send(&s->workers[i].stop_async);
}

int http_server_wait(http_server_t *s)
{
    int all_drained = 1;
    for (int i = 0; i < s->nworkers; i++) {
        pthread_join(s->workers[i].thread, NULL);
        all_drained &= s->workers[i].drained;
    }
    return all_drained ? 0 : -1;
}
