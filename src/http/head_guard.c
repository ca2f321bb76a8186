#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/ids.h"
#include "core/log.h"
#include "http/head_guard.h"
#include "http/reply.h"

/* Bytes of a rejected head's tail drained before the close, so the kernel
 * is less likely to answer the client with a reset that drops our reply. */
#define DRAIN_MAX (64 << 10)

static void on_sock_close(void *data)
{
    http_head_guard_t *g = data;
    g->closed = 1;
    if (list_is_linked(&g->rearm_link))
        list_remove(&g->rearm_link);
}

http_head_guard_t *http_head_guard_of(h2o_req_t *req)
{
    if (req->version >= 0x200 || req->conn->callbacks->get_socket == NULL)
        return NULL;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    if (sock == NULL || sock->on_close.cb != on_sock_close)
        return NULL;
    return sock->on_close.data;
}

/* The CORS header lines for a refusal, as on every other reply: the
 * browser then shows the page the error rather than a CORS failure. The
 * policy validates the origin (no CR/LF ever reaches the head). */
static size_t cors_lines(const http_cors_t *cors, const http_head_result_t *res, char *out,
                         size_t cap)
{
    http_cors_reply_t h;
    size_t used = 0;
    if (cors == NULL)
        return 0;
    http_cors_simple(cors, res->origin, res->origin_len, &h);
    for (size_t i = 0; i < h.n; i++) {
        int n = snprintf(out + used, cap - used, "%s: %.*s\r\n", h.h[i].name, (int)h.h[i].value_len,
                         h.h[i].value);
        if (n < 0 || (size_t)n >= cap - used)
            return 0; /* all or none */
        used += (size_t)n;
    }
    return used;
}

/* The reply goes out with one non-blocking send: a fresh head means no
 * response of ours is being written, and it is about a kilobyte. */
static void send_error(int fd, const http_head_error_t *e, const http_head_result_t *res,
                       const http_cors_t *cors)
{
    char id[HTTP_REQUEST_ID_MAX];
    if (res->request_id != NULL && res->request_id_len < sizeof(id)) {
        memcpy(id, res->request_id, res->request_id_len);
        id[res->request_id_len] = '\0';
    } else {
        ids_uuid4(id);
    }
    size_t blen = 0;
    char *body = http_error_body(e->code, e->detail, &blen);
    char extra[768];
    size_t elen = cors_lines(cors, res, extra, sizeof(extra));
    char head[1024];
    int hlen = snprintf(head, sizeof(head),
                        "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                        "Content-Length: %zu\r\nConnection: close\r\nX-Request-ID: %s\r\n"
                        "%.*s\r\n",
                        e->status, e->reason, body != NULL ? blen : 0, id, (int)elen, extra);
    struct iovec iov[2] = {{head, (size_t)hlen}, {body, body != NULL ? blen : 0}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    if (fd >= 0 && sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        log_msg(LOG_LEVEL_DEBUG, "head guard: reply not sent");
    free(body);
    log_json(LOG_LEVEL_INFO, "request head rejected",
             json_pack("{s:s, s:i, s:s}", "request_id", id, "status", e->status, "code", e->code));
}

static void drain(int fd)
{
    char buf[4096];
    for (size_t n = 0; fd >= 0 && n < DRAIN_MAX;) {
        ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
}

static void reject(http_head_guard_t *g, const http_head_result_t *res)
{
    http_head_error_t e;
    http_head_error(res->verdict, &e);
    int fd = h2o_socket_get_fd(g->sock);
    send_error(fd, &e, res, g->loop->cors);
    shutdown(fd, SHUT_WR);
    drain(fd);
    /* h2o closes its connection (and the socket) as on any read error. */
    g->loop->h2o_reader(g->sock, h2o_socket_error_closed);
}

static size_t end_of_request(const http_head_result_t *res)
{
    return res->body_len == SIZE_MAX || res->body_len > SIZE_MAX - res->head_len
               ? SIZE_MAX
               : res->head_len + res->body_len;
}

/* In place of h2o's HTTP/1 reader. h2o sees a head only once it is whole
 * and judged; the bytes of a request's body, and anything after the head
 * guard stepped aside, go straight through. */
static void on_read(h2o_socket_t *sock, const char *err)
{
    http_head_guard_t *g = sock->on_close.data;
    if (err == NULL && !g->in_request) {
        http_head_result_t res;
        http_head_check(sock->input->bytes, sock->input->size, &g->loop->limits, &res);
        if (res.verdict == HEAD_PARTIAL)
            return;
        if (res.verdict == HEAD_COMPLETE) {
            g->in_request = 1;
            g->checked = 1;
            g->req_end = end_of_request(&res);
        } else if (res.verdict != HEAD_PASS) {
            reject(g, &res);
            return;
        }
    }
    g->loop->h2o_reader(sock, err);
}

static void wrap(http_head_guard_t *g)
{
    if (!g->closed && g->sock->_cb.read == g->loop->h2o_reader)
        g->sock->_cb.read = on_read;
}

/* Bytes pipelined behind the last request that h2o holds as an unfinished
 * head: judged now, or an oversized one would wait for the next read. */
static void judge_buffered(http_head_guard_t *g)
{
    if (g->closed || g->in_request || g->sock->_cb.read != on_read || g->sock->input->size == 0)
        return;
    http_head_result_t res;
    http_head_error_t e;
    http_head_check(g->sock->input->bytes, g->sock->input->size, &g->loop->limits, &res);
    if (http_head_error(res.verdict, &e) == 0)
        reject(g, &res);
}

static void reject_refused(http_head_guard_t *g)
{
    http_head_result_t res = {.verdict = g->refused};
    if (g->refused_id[0] != '\0') {
        res.request_id = g->refused_id;
        res.request_id_len = strlen(g->refused_id);
    }
    if (g->refused_origin[0] != '\0') {
        res.origin = g->refused_origin;
        res.origin_len = strlen(g->refused_origin);
    }
    g->refused = HEAD_PARTIAL;
    if (!g->closed && g->sock->_cb.read == on_read)
        reject(g, &res);
}

static void rearm_all(http_head_guard_loop_t *gl)
{
    while (!list_is_empty(&gl->rearm)) {
        http_head_guard_t *g = LIST_ENTRY(list_first(&gl->rearm), http_head_guard_t, rearm_link);
        list_remove(&g->rearm_link);
        wrap(g);
        if (g->refused != HEAD_PARTIAL)
            reject_refused(g);
        else
            judge_buffered(g);
    }
    uv_prepare_stop(&gl->prepare);
    uv_check_stop(&gl->check);
}

static void on_prepare(uv_prepare_t *p)
{
    rearm_all(p->data);
}

static void on_check(uv_check_t *c)
{
    rearm_all(c->data);
}

void http_head_guard_loop_init(http_head_guard_loop_t *gl, uv_loop_t *loop,
                               const http_head_limits_t *lim, const http_cors_t *cors)
{
    memset(gl, 0, sizeof(*gl));
    gl->limits = *lim;
    gl->cors = cors;
    /* h2o answers a plain 400 of its own for a head that reaches H2O_MAX_REQLEN. */
    if (gl->limits.max_head == 0 || gl->limits.max_head >= H2O_MAX_REQLEN)
        gl->limits.max_head = H2O_MAX_REQLEN - 1;
    if (gl->limits.max_line == 0 || gl->limits.max_line > gl->limits.max_head)
        gl->limits.max_line = gl->limits.max_head;
    list_init(&gl->rearm);
    uv_prepare_init(loop, &gl->prepare);
    uv_check_init(loop, &gl->check);
    gl->prepare.data = gl;
    gl->check.data = gl;
}

void http_head_guard_attach(http_head_guard_t *g, http_head_guard_loop_t *gl, h2o_socket_t *sock)
{
    memset(g, 0, sizeof(*g));
    g->loop = gl;
    g->sock = sock;
    g->req_end = SIZE_MAX;
    sock->on_close.cb = on_sock_close;
    sock->on_close.data = g;
    if (gl->h2o_reader == NULL)
        gl->h2o_reader = sock->_cb.read;
    wrap(g);
}

void http_head_guard_request_begin(http_head_guard_t *g, http_head_result_t *res)
{
    int checked = g->checked;
    g->in_request = 1;
    g->checked = 0;
    if (checked) {
        memset(res, 0, sizeof(*res));
        res->verdict = HEAD_COMPLETE;
        return;
    }
    http_head_check(g->sock->input->bytes, g->sock->input->size, &g->loop->limits, res);
    g->req_end = res->verdict == HEAD_COMPLETE ? end_of_request(res) : SIZE_MAX;
}

/* Bytes after the request that ends at req_end, which h2o would parse the
 * moment it has consumed the request (before the guard is back): a head
 * refused there is cut off h2o's buffer, to be answered by the guard. */
static void take_pipelined(http_head_guard_t *g)
{
    h2o_buffer_t *in = g->sock->input;
    size_t end = g->req_end;
    g->req_end = SIZE_MAX;
    if (end == SIZE_MAX || in->size <= end)
        return;
    http_head_result_t res;
    http_head_error_t e;
    http_head_check(in->bytes + end, in->size - end, &g->loop->limits, &res);
    if (http_head_error(res.verdict, &e) != 0)
        return;
    g->refused = res.verdict;
    g->refused_id[0] = '\0';
    if (res.request_id != NULL && res.request_id_len < sizeof(g->refused_id)) {
        memcpy(g->refused_id, res.request_id, res.request_id_len);
        g->refused_id[res.request_id_len] = '\0';
    }
    g->refused_origin[0] = '\0';
    if (res.origin != NULL && res.origin_len < sizeof(g->refused_origin) &&
        memchr(res.origin, '\0', res.origin_len) == NULL) {
        memcpy(g->refused_origin, res.origin, res.origin_len);
        g->refused_origin[res.origin_len] = '\0';
    }
    in->size = end;
}

/* h2o calls its reqread_start right after disposing of the request, which
 * puts its own reader back; the prepare (before the loop polls) or check
 * (after a poll) callback wraps it again before more bytes are read. */
void http_head_guard_request_end(http_head_guard_t *g)
{
    g->in_request = 0;
    g->checked = 0;
    if (g->closed || list_is_linked(&g->rearm_link))
        return;
    take_pipelined(g);
    list_insert_tail(&g->loop->rearm, &g->rearm_link);
    uv_prepare_start(&g->loop->prepare, on_prepare);
    uv_check_start(&g->loop->check, on_check);
}
