/* Outgoing HTTP calls: one curl multi handle per loop, driven by uv_poll
 * and uv_timer (curl's multi-uv.c). curl may not be re-entered from its own
 * callbacks, so anything a callback asks for (cancel, a new call, free) is
 * noted and done by http_client_settle once curl_multi_socket_action returns;
 * outside curl it happens at once. Calls and sockets own uv handles, so
 * their memory (and at the end the client's) goes in close callbacks. */
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

/* ---- deferred work ---- */

static void client_shutdown(http_client_t *c)
{
    assert(c->in_curl == 0 && !c->closed);
    c->closed = 1;
    /* Our poll handles go first: curl closes its sockets in cleanup. */
    while (!list_is_empty(&c->socks))
        http_client_sock_close(LIST_ENTRY(list_first(&c->socks), http_sock_t, link));
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, http_client_on_timer_closed);
}

/* One pass over the calls; 1 when user code ran (the list may have changed
 * under us, so the caller starts again). */
static int settle_pass(http_client_t *c)
{
    list_t *node, *tmp;
    LIST_FOREACH_SAFE(node, tmp, &c->calls) {
        http_call_t *call = LIST_ENTRY(node, http_call_t, link);
        if (call->cancelled) {
            http_client_call_destroy(call);
        } else if (call->resume_pending) {
            http_client_call_unpause(call);
            return 1;
        } else if (call->state == CALL_PENDING && http_client_call_add(call) != 0) {
            http_client_call_complete(call, HTTP_CALL_FAILED, "could not start the call");
            return 1;
        }
    }
    return 0;
}

static void read_completions(http_client_t *c)
{
    CURLMsg *msg;
    int left;
    while (!c->closing && (msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        http_client_call_finish((http_call_t *)priv, msg->data.result);
    }
}

/* Runs outside curl, after each socket action: deferred cancels and starts,
 * a deferred free, then the finished transfers. on_done runs here, and may
 * cancel, start, or free the client. */
void http_client_settle(http_client_t *c)
{
    if (c->in_curl || c->closed)
        return;
    while (c->dirty && !c->closed) {
        c->dirty = 0;
        if (settle_pass(c))
            c->dirty = 1;
    }
    /* on_done may have freed the client and settled it already. */
    if (c->closed)
        return;
    if (c->closing) {
        client_shutdown(c);
        return;
    }
    read_completions(c);
}

/* ---- the API ---- */

http_client_t *http_client_new(uv_loop_t *loop)
{
    http_client_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->multi = curl_multi_init();
    if (c->multi == NULL) {
        free(c);
        return NULL;
    }
    c->loop = loop;
    list_init(&c->calls);
    list_init(&c->socks);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->open_handles = 1;
    backoff_rng_seed(&c->rng, c);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, http_client_on_curl_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, http_client_on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return c;
}

void http_client_free(http_client_t *c)
{
    if (c == NULL || c->closing)
        return;
    c->closing = 1;
    list_t *node;
    LIST_FOREACH(node, &c->calls)
        LIST_ENTRY(node, http_call_t, link)->cancelled = 1;
    c->active = 0;
    c->dirty = 1;
    http_client_settle(c);
}

/* The host, for logs (a URL may carry a key in its query). NULL when the
 * URL is not an absolute http(s) URL. */
static char *url_host(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *out = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0))
        out = strdup(host);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return out;
}

/* curl adds "Expect: 100-continue" to big POSTs and then waits for an
 * answer model servers never send; an empty "Expect:" turns that off. */
static int add_no_expect(http_call_t *call)
{
    for (struct curl_slist *h = call->headers; h; h = h->next)
        if (strncasecmp(h->data, "expect:", 7) == 0)
            return 0;
    struct curl_slist *h = curl_slist_append(call->headers, "Expect:");
    if (h == NULL)
        return -1;
    call->headers = h;
    return 0;
}

static void call_take_opts(http_call_t *call, const http_call_opts_t *o)
{
    call->headers = o->headers;
    call->body = o->body;
    call->body_len = o->body ? o->body_len : 0;
    call->connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_MS;
    call->buffer_size = o->buffer_size <= 0      ? 16384
                        : o->buffer_size < 1024  ? 1024
                        : o->buffer_size > 16384 ? 16384
                                                 : o->buffer_size;
    call->stall_s = o->stall_timeout_s > 0 ? o->stall_timeout_s : DEFAULT_STALL_S;
    call->max_retries = o->max_retries > 0 ? o->max_retries : 0;
    call->retry_base_ms = o->retry_base_ms > 0 ? o->retry_base_ms : DEFAULT_RETRY_BASE_MS;
    call->retry_max_ms = o->retry_max_ms > 0 ? o->retry_max_ms : DEFAULT_RETRY_MAX_MS;
    if (call->retry_base_ms < 2)
        call->retry_base_ms = 2;
    if (o->total_timeout_ms > 0)
        call->deadline = uv_now(call->c->loop) + (uint64_t)o->total_timeout_ms;
}

static http_call_t *call_new(http_client_t *c, const http_call_opts_t *o,
                             const http_call_cbs_t *cbs)
{
    http_call_t *call = calloc(1, sizeof(*call));
    if (call == NULL) {
        curl_slist_free_all(o->headers);
        free(o->body);
        return NULL;
    }
    call->c = c;
    call->cbs = *cbs;
    call->retry_after_ms = -1;
    call_take_opts(call, o);
    uv_timer_init(c->loop, &call->timer);
    call->timer.data = call;
    c->open_handles++;
    call->state = CALL_PENDING;
    http_client_call_link(call);
    call->method = strdup(o->method ? o->method : "POST");
    call->url = strdup(o->url);
    call->host = url_host(o->url);
    call->easy = curl_easy_init();
    if (!call->method || !call->url || !call->host || !call->easy || add_no_expect(call) != 0) {
        http_client_call_destroy(call);
        return NULL;
    }
    return call;
}

/* A call whose headers failed the check ends on the next loop turn, as a
 * failure that says why, never on the wire. */
static void on_refused(uv_timer_t *t)
{
    http_call_t *call = t->data;
    http_client_call_complete(call, HTTP_CALL_FAILED, call->errbuf);
}

static int refuse_bad_headers(http_call_t *call)
{
    char name[64];
    if (http_headers_check(call->headers, name, sizeof(name)) == 0)
        return 0;
    snprintf(call->errbuf, sizeof(call->errbuf), "refused to send: header %s holds CR, LF or NUL",
             name);
    log_json(LOG_LEVEL_WARN, "outgoing header refused",
             json_pack("{s:s?, s:s}", "host", call->host, "header", name));
    call->state = CALL_IDLE;
    uv_timer_start(&call->timer, on_refused, 0, 0);
    return 1;
}

http_call_t *http_client_start(http_client_t *c, const http_call_opts_t *opts,
                               const http_call_cbs_t *cbs)
{
    if (c == NULL || opts == NULL || opts->url == NULL || cbs == NULL || c->closing) {
        if (opts) {
            curl_slist_free_all(opts->headers);
            free(opts->body);
        }
        return NULL;
    }
    /* From here the call owns the headers and body, failed or not. */
    http_call_t *call = call_new(c, opts, cbs);
    if (call == NULL)
        return NULL;
    if (refuse_bad_headers(call)) {
        /* not sent: on_done reports it */
    } else if (c->in_curl) {
        /* curl refuses new handles from inside its callbacks. */
        c->dirty = 1;
    } else if (http_client_call_add(call) != 0) {
        http_client_call_destroy(call);
        return NULL;
    }
    c->active++;
    return call;
}

void http_call_cancel(http_call_t *call)
{
    if (call == NULL || call->cancelled || call->state == CALL_DONE)
        return;
    http_client_t *c = call->c;
    call->cancelled = 1;
    c->active--;
    if (c->in_curl)
        c->dirty = 1;
    else
        http_client_call_destroy(call);
}

void http_call_resume(http_call_t *call)
{
    if (!http_call_paused(call) || call->resume_pending)
        return;
    http_client_t *c = call->c;
    if (c->in_curl) {
        call->resume_pending = 1;
        c->dirty = 1;
        return;
    }
    http_client_call_unpause(call);
    /* What on_data asked for inside the resume, and an abort's on_done. */
    http_client_settle(c);
}

int http_call_paused(const http_call_t *call)
{
    return call && call->paused && !call->cancelled && call->state == CALL_RUNNING;
}

size_t http_client_active(const http_client_t *c)
{
    return c ? c->active : 0;
}
