/* The http_client's uv side: handle bookkeeping and the uv_poll/uv_timer
 * glue curl's multi drives sockets and its timer through, kept apart from
 * the per-call logic so the loop plumbing reads on its own. */
#include "net/http_client.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "net/http_headers.h"
#include "core/log.h"
#include "net/http_client_internal.h"

/* ---- handle bookkeeping ---- */

static void client_handle_closed(http_client_t *c)
{
    assert(c->open_handles > 0);
    if (--c->open_handles == 0 && c->closed)
        free(c);
}

void http_client_on_timer_closed(uv_handle_t *h)
{
    client_handle_closed(h->data);
}

static void on_sock_closed(uv_handle_t *h)
{
    http_sock_t *sk = h->data;
    http_client_t *c = sk->c;
    free(sk);
    client_handle_closed(c);
}

static void on_call_closed(uv_handle_t *h)
{
    http_call_t *call = h->data;
    http_client_t *c = call->c;
    curl_slist_free_all(call->headers);
    free(call->body);
    free(call->method);
    free(call->url);
    free(call->host);
    free(call->err_body);
    free(call);
    client_handle_closed(c);
}

void http_client_call_link(http_call_t *call)
{
    list_insert_head(&call->c->calls, &call->link);
}

void http_client_call_unlink(http_call_t *call)
{
    if (list_is_linked(&call->link))
        list_remove(&call->link);
}

/* Never from inside a curl callback: removes the easy handle. */
void http_client_call_destroy(http_call_t *call)
{
    http_client_t *c = call->c;
    /* Freed once: a second destroy would close the timer twice. */
    assert(!uv_is_closing((uv_handle_t *)&call->timer));
    /* A call that never reached the multi handle (a start that failed
     * inside a callback) may go at once; a running one may not. */
    assert(call->state != CALL_RUNNING || c->in_curl == 0);
    if (call->state == CALL_RUNNING)
        curl_multi_remove_handle(c->multi, call->easy);
    call->state = CALL_DONE;
    if (call->easy)
        curl_easy_cleanup(call->easy);
    call->easy = NULL;
    http_client_call_unlink(call);
    uv_timer_stop(&call->timer);
    uv_close((uv_handle_t *)&call->timer, on_call_closed);
}

/* ---- sockets and the curl timer ---- */

static void client_drive(http_client_t *c, curl_socket_t fd, int flags)
{
    int running = 0;
    c->in_curl++;
    curl_multi_socket_action(c->multi, fd, flags, &running);
    c->in_curl--;
    http_client_settle(c);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    http_sock_t *sk = h->data;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    client_drive(sk->c, sk->fd, flags);
}

static void on_timeout(uv_timer_t *t)
{
    client_drive(t->data, CURL_SOCKET_TIMEOUT, 0);
}

void http_client_sock_close(http_sock_t *sk)
{
    if (sk->closing)
        return;
    sk->closing = 1;
    list_remove(&sk->link);
    uv_close((uv_handle_t *)&sk->poll, on_sock_closed);
}

static http_sock_t *sock_open(http_client_t *c, curl_socket_t fd)
{
    http_sock_t *sk = calloc(1, sizeof(*sk));
    if (sk == NULL)
        return NULL;
    if (uv_poll_init_socket(c->loop, &sk->poll, fd) != 0) {
        free(sk);
        return NULL;
    }
    sk->fd = fd;
    sk->c = c;
    sk->poll.data = sk;
    list_insert_head(&c->socks, &sk->link);
    c->open_handles++;
    return sk;
}

int http_client_on_curl_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    http_client_t *c = userp;
    http_sock_t *sk = socketp;
    (void)e;
    if (what == CURL_POLL_REMOVE) {
        if (sk != NULL) {
            http_client_sock_close(sk);
            if (!c->closed)
                curl_multi_assign(c->multi, fd, NULL);
        }
        return 0;
    }
    if (c->closed)
        return 0; /* cleanup in progress: no new poll handles */
    if (sk == NULL) {
        sk = sock_open(c, fd);
        if (sk == NULL)
            return -1;
        curl_multi_assign(c->multi, fd, sk);
    }
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    return uv_poll_start(&sk->poll, events, on_poll) == 0 ? 0 : -1;
}

int http_client_on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
    http_client_t *c = userp;
    (void)m;
    if (c->closed)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}
