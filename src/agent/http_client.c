/* Outgoing HTTP calls: one curl multi handle per loop, driven by uv_poll
 * and uv_timer (curl's multi-uv.c). curl may not be re-entered from its own
 * callbacks, so anything a callback asks for (cancel, a new call, free) is
 * noted and done by client_settle once curl_multi_socket_action returns;
 * outside curl it happens at once. Calls and sockets own uv handles, so
 * their memory (and at the end the client's) goes in close callbacks. */
#include "agent/http_client.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "agent/http_headers.h"
#include "core/log.h"

#ifndef AGENTOS_VERSION
#define AGENTOS_VERSION "0"
#endif

#define ERR_BODY_MAX 8192
#define DEFAULT_CONNECT_MS 10000L
#define DEFAULT_STALL_S 60L
#define DEFAULT_RETRY_BASE_MS 500L
#define DEFAULT_RETRY_MAX_MS 20000L
/* A reply's head past this is hostile or broken; curl's own limit ends it
 * as "Out of memory", which says nothing true. */
#define RESPONSE_HEAD_MAX (256 * 1024)

typedef struct http_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    http_client_t *c;
    int closing;
    struct http_sock *prev, *next;
} http_sock_t;

struct http_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    http_call_t *calls; /* every call not yet destroyed */
    http_sock_t *socks;
    size_t active;       /* calls that still owe an on_done */
    size_t open_handles; /* uv handles not yet closed; the last frees c */
    int in_curl;         /* inside curl_multi_socket_action */
    int dirty;           /* a deferred cancel or start waits for client_settle */
    int closing;         /* http_client_free was called */
    int closed;          /* multi cleaned up, timer closing */
    uint64_t rng;
};

/* PENDING: not yet on the multi handle; RUNNING: on it; IDLE: off it
 * between attempts; DONE: on_done called or cancelled. */
enum call_state { CALL_PENDING, CALL_RUNNING, CALL_IDLE, CALL_DONE };

struct http_call {
    http_client_t *c;
    http_call_t *prev, *next;
    int linked;
    CURL *easy;
    /* While an attempt runs: the stall watchdog; between attempts: the
     * back-off. */
    uv_timer_t timer;
    uint64_t last_activity; /* loop ms of the last byte either way */
    curl_off_t last_ul;
    char *method, *url, *host;
    struct curl_slist *headers;
    char *body;
    size_t body_len;
    long connect_ms, stall_s, retry_base_ms, retry_max_ms, buffer_size;
    int attempted; /* easy has carried an attempt */
    int max_retries;
    uint64_t deadline; /* loop ms; 0: no total timeout */
    http_call_cbs_t cbs;
    enum call_state state;
    int cancelled, aborted, delivered, attempt;
    int paused;         /* on_data asked for a pause: curl holds the bytes */
    int resume_pending; /* resumed inside a curl callback: for client_settle */
    long status;
    long retry_after_ms; /* -1: the server said nothing */
    char *err_body;
    size_t err_len;
    size_t head_bytes; /* of this attempt's reply head(s) */
    int head_too_big;
    char errbuf[CURL_ERROR_SIZE];
};

static void client_settle(http_client_t *c);

/* ---- handle bookkeeping ---- */

static void client_handle_closed(http_client_t *c)
{
    if (--c->open_handles == 0 && c->closed)
        free(c);
}

static void on_timer_closed(uv_handle_t *h)
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

static void call_link(http_call_t *call)
{
    http_client_t *c = call->c;
    call->next = c->calls;
    if (c->calls)
        c->calls->prev = call;
    c->calls = call;
    call->linked = 1;
}

static void call_unlink(http_call_t *call)
{
    if (!call->linked)
        return;
    if (call->prev)
        call->prev->next = call->next;
    else
        call->c->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    call->prev = call->next = NULL;
    call->linked = 0;
}

/* Never from inside a curl callback: removes the easy handle. */
static void call_destroy(http_call_t *call)
{
    http_client_t *c = call->c;
    if (call->state == CALL_RUNNING)
        curl_multi_remove_handle(c->multi, call->easy);
    call->state = CALL_DONE;
    if (call->easy)
        curl_easy_cleanup(call->easy);
    call->easy = NULL;
    call_unlink(call);
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
    client_settle(c);
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

static void sock_close(http_sock_t *sk)
{
    http_client_t *c = sk->c;
    if (sk->closing)
        return;
    sk->closing = 1;
    if (sk->prev)
        sk->prev->next = sk->next;
    else
        c->socks = sk->next;
    if (sk->next)
        sk->next->prev = sk->prev;
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
    sk->next = c->socks;
    if (c->socks)
        c->socks->prev = sk;
    c->socks = sk;
    c->open_handles++;
    return sk;
}

static int on_curl_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    http_client_t *c = userp;
    http_sock_t *sk = socketp;
    (void)e;
    if (what == CURL_POLL_REMOVE) {
        if (sk != NULL) {
            sock_close(sk);
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

static int on_curl_timer(CURLM *m, long timeout_ms, void *userp)
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

/* ---- one attempt: options and the callbacks curl calls ---- */

/* Seconds, an HTTP date, or (retry-after-ms) milliseconds; -1 if unreadable. */
static long parse_retry_after(const char *v, size_t n, int is_ms)
{
    char buf[64];
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    char *end;
    double d = strtod(buf, &end);
    if (*end == '\0' && d >= 0 && d < 86400.0 * 1000)
        return (long)(is_ms ? d : d * 1000);
    if (is_ms)
        return -1;
    time_t at = curl_getdate(buf, NULL);
    if (at < 0)
        return -1;
    time_t now = time(NULL);
    return at > now ? (long)(at - now) * 1000 : 0;
}

static int header_is(const char *p, size_t len, const char *name)
{
    size_t n = strlen(name);
    return len > n && strncasecmp(p, name, n) == 0 && p[n] == ':';
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    http_call_t *call = ud;
    size_t len = size * nmemb;
    if (call->cancelled)
        return 0;
    call->last_activity = uv_now(call->c->loop);
    call->head_bytes += len;
    if (call->head_bytes > RESPONSE_HEAD_MAX) {
        call->head_too_big = 1;
        return 0; /* curl ends the transfer: CURLE_WRITE_ERROR */
    }
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* A new status line: a 100 Continue's headers are not the answer's. */
        call->status = 0;
        call->retry_after_ms = -1;
    } else if (len <= 2) {
        curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &call->status);
    } else if (header_is(p, len, "retry-after-ms")) {
        call->retry_after_ms = parse_retry_after(p + 15, len - 15, 1);
    } else if (header_is(p, len, "retry-after") && call->retry_after_ms < 0) {
        call->retry_after_ms = parse_retry_after(p + 12, len - 12, 0);
    }
    return len;
}

/* An error reply's body is kept for on_done, up to ERR_BODY_MAX; past that
 * the transfer stops: the rest would only be dropped. */
static size_t keep_error_body(http_call_t *call, const char *p, size_t len)
{
    if (call->err_body == NULL) {
        call->err_body = malloc(ERR_BODY_MAX + 1);
        if (call->err_body == NULL)
            return 0;
    }
    size_t room = ERR_BODY_MAX - call->err_len;
    size_t n = len < room ? len : room;
    memcpy(call->err_body + call->err_len, p, n);
    call->err_len += n;
    call->err_body[call->err_len] = '\0';
    return n == len ? len : 0;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    http_call_t *call = ud;
    size_t len = size * nmemb;
    if (call->cancelled)
        return 0;
    call->last_activity = uv_now(call->c->loop);
    if (call->status == 0)
        curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &call->status);
    if (call->status / 100 != 2)
        return keep_error_body(call, p, len);
    call->delivered = 1;
    int rc = call->cbs.on_data ? call->cbs.on_data(call->cbs.ud, p, len) : 0;
    /* on_data may have cancelled this call (or freed the client). */
    if (call->cancelled)
        return 0;
    if (rc == HTTP_DATA_PAUSE) {
        /* A paused reader is not a stalled server: no watchdog until resumed. */
        call->paused = 1;
        uv_timer_stop(&call->timer);
        return CURL_WRITEFUNC_PAUSE;
    }
    if (rc != 0) {
        call->aborted = 1;
        return 0;
    }
    return len;
}

/* A slow upload is activity too, for the watchdog. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    http_call_t *call = ud;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    if (ulnow != call->last_ul) {
        call->last_ul = ulnow;
        call->last_activity = uv_now(call->c->loop);
    }
    return 0;
}

static CURLcode set_method(http_call_t *call)
{
    CURL *e = call->easy;
    if (strcasecmp(call->method, "GET") == 0)
        return curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    if (strcasecmp(call->method, "HEAD") == 0)
        return curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    CURLcode rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body ? call->body : "");
    if (rc == CURLE_OK && strcasecmp(call->method, "POST") != 0)
        rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method);
    return rc;
}

static CURLcode set_options(http_call_t *call)
{
    CURL *e = call->easy;
    CURLcode rc = CURLE_OK;
    uint64_t now = uv_now(call->c->loop);
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(e, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_PRIVATE, call);
    SET(CURLOPT_URL, call->url);
    /* URLs of HTTP tools come from YAML: never file://, gopher://, ... */
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, call->connect_ms);
    SET(CURLOPT_BUFFERSIZE, call->buffer_size);
    /* No CURLOPT_LOW_SPEED_*: on_watchdog alone sees stalls. curl (>= 7.75)
     * skips paused transfers, but after a resume its speed, averaged over
     * its last few samples, still spans the pause and can fail a call that
     * flows again. */
    if (call->deadline)
        SET(CURLOPT_TIMEOUT_MS, call->deadline > now ? (long)(call->deadline - now) : 1L);
    SET(CURLOPT_HTTPHEADER, call->headers);
    SET(CURLOPT_USERAGENT, "agentos/" AGENTOS_VERSION);
    SET(CURLOPT_ERRORBUFFER, call->errbuf);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, call);
    SET(CURLOPT_WRITEFUNCTION, on_write);
    SET(CURLOPT_WRITEDATA, call);
    SET(CURLOPT_NOPROGRESS, 0L);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, call);
#undef SET
    return rc == CURLE_OK ? set_method(call) : rc;
}

static void call_finish(http_call_t *call, CURLcode res);

/* No byte either way for stall_s (curl's low-speed check would see it up
 * to 5 s late, and misjudges resumed calls). Stopped while the call is
 * paused. It runs from the loop, outside curl, so it may end the attempt
 * itself. */
static void on_watchdog(uv_timer_t *t)
{
    http_call_t *call = t->data;
    uint64_t limit = (uint64_t)call->stall_s * 1000;
    uint64_t idle = uv_now(call->c->loop) - call->last_activity;
    if (idle < limit) {
        uv_timer_start(t, on_watchdog, limit - idle, 0);
        return;
    }
    snprintf(call->errbuf, sizeof(call->errbuf), "no data for %ld s (stalled)", call->stall_s);
    call_finish(call, CURLE_OPERATION_TIMEDOUT);
}

/* Puts the call (back) on the multi handle, for its first or next attempt. */
static int call_add(http_call_t *call)
{
    call->status = 0;
    call->last_ul = 0;
    call->paused = 0;
    call->resume_pending = 0;
    call->retry_after_ms = -1;
    call->err_len = 0;
    call->head_bytes = 0;
    call->head_too_big = 0;
    call->errbuf[0] = '\0';
    /* A fresh handle for each attempt: after a transfer, curl 7.88 refuses
     * to change CURLOPT_BUFFERSIZE on a reset handle. */
    if (call->attempted) {
        curl_easy_cleanup(call->easy);
        if ((call->easy = curl_easy_init()) == NULL)
            return -1;
    }
    call->attempted = 1;
    CURLcode so = set_options(call);
    CURLMcode ma = so == CURLE_OK ? curl_multi_add_handle(call->c->multi, call->easy) : CURLM_OK;
    if (so != CURLE_OK || ma != CURLM_OK) {
        log_msg(LOG_WARN, "http call could not start: %s / %s", curl_easy_strerror(so),
                curl_multi_strerror(ma));
        return -1;
    }
    call->state = CALL_RUNNING;
    call->last_activity = uv_now(call->c->loop);
    uv_timer_start(&call->timer, on_watchdog, (uint64_t)call->stall_s * 1000, 0);
    return 0;
}

/* ---- the end of an attempt ---- */

static void call_complete(http_call_t *call, int result, const char *err)
{
    http_client_t *c = call->c;
    call_unlink(call);
    call->state = CALL_DONE;
    c->active--;
    const char *body = result == HTTP_CALL_OK ? NULL : call->err_body;
    size_t body_len = body ? call->err_len : 0;
    if (call->cbs.on_done)
        call->cbs.on_done(call->cbs.ud, result, call->status, err, body, body_len);
    call_destroy(call);
}

static uint64_t client_random(http_client_t *c)
{
    /* xorshift64: jitter needs spread, not secrecy. */
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

static long backoff_ms(http_call_t *call)
{
    long d = call->retry_base_ms;
    for (int i = 0; i < call->attempt && d < call->retry_max_ms; i++)
        d *= 2;
    if (d > call->retry_max_ms)
        d = call->retry_max_ms;
    /* Equal jitter: half fixed, half random, so that many calls refused
     * together do not come back together. */
    return d / 2 + (long)(client_random(call->c) % (uint64_t)(d / 2 + 1));
}

static void on_retry(uv_timer_t *t)
{
    http_call_t *call = t->data;
    if (call_add(call) != 0)
        call_complete(call, HTTP_CALL_FAILED, "could not restart the call");
}

/* 1 when another attempt is scheduled. */
static int call_retry(http_call_t *call, CURLcode res)
{
    if (call->delivered || call->attempt >= call->max_retries)
        return 0;
    long delay = backoff_ms(call);
    if (call->retry_after_ms >= 0)
        delay =
            call->retry_after_ms < call->retry_max_ms ? call->retry_after_ms : call->retry_max_ms;
    uint64_t now = uv_now(call->c->loop);
    if (call->deadline && now + (uint64_t)delay >= call->deadline)
        return 0;
    call->attempt++;
    json_t *f =
        json_pack("{s:s?,s:i,s:i,s:i,s:I}", "host", call->host, "attempt", call->attempt, "status",
                  (int)call->status, "curl_code", (int)res, "delay_ms", (json_int_t)delay);
    log_json(LOG_INFO, "http call retry", f);
    call->state = CALL_IDLE;
    uv_timer_start(&call->timer, on_retry, (uint64_t)delay, 0);
    return 1;
}

/* Failures before any answer: the request most likely never reached the
 * server, or it stayed silent. */
static int retryable_curl(CURLcode res)
{
    switch (res) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

static void call_finish(http_call_t *call, CURLcode res)
{
    uv_timer_stop(&call->timer);
    curl_multi_remove_handle(call->c->multi, call->easy);
    call->state = CALL_IDLE;
    call->paused = 0;
    call->resume_pending = 0;
    if (call->aborted) {
        call_complete(call, HTTP_CALL_ABORTED, "aborted by the receiver");
        return;
    }
    if (call->status >= 300) {
        if ((call->status == 429 || call->status >= 500) && call_retry(call, res))
            return;
        char err[32];
        snprintf(err, sizeof(err), "HTTP %ld", call->status);
        call_complete(call, HTTP_CALL_HTTP_ERROR, err);
        return;
    }
    if (res == CURLE_OK) {
        call_complete(call, HTTP_CALL_OK, NULL);
        return;
    }
    if (call->status < 200 && retryable_curl(res) && call_retry(call, res))
        return;
    char err[CURL_ERROR_SIZE + 64];
    /* curl refuses one header line over 100 KiB as "out of memory": with
     * a head begun and not ended, that is what it means. */
    int too_big = call->head_too_big ||
                  (res == CURLE_OUT_OF_MEMORY && call->head_bytes > 0 && call->status == 0);
    snprintf(err, sizeof(err), "%s",
             too_big           ? "response headers too large"
             : call->errbuf[0] ? call->errbuf
                               : curl_easy_strerror(res));
    call_complete(call, HTTP_CALL_FAILED, err);
}

/* Never from inside a curl callback. curl_easy_pause hands the held bytes
 * to on_write before it returns, so on_data runs in here: it may pause
 * again, cancel, abort, start a call or free the client, all deferred by
 * in_curl. curl does not end the transfer when that write fails (it only
 * returns the error), so an abort is finished here. A bad argument means
 * no connection: curl already ended the transfer, its message will come. */
static void call_unpause(http_call_t *call)
{
    http_client_t *c = call->c;
    call->paused = 0;
    call->resume_pending = 0;
    call->last_activity = uv_now(c->loop);
    /* Before curl_easy_pause: a new pause inside it stops the watchdog. */
    uv_timer_start(&call->timer, on_watchdog, (uint64_t)call->stall_s * 1000, 0);
    c->in_curl++;
    CURLcode rc = curl_easy_pause(call->easy, CURLPAUSE_CONT);
    c->in_curl--;
    if (rc != CURLE_OK && rc != CURLE_BAD_FUNCTION_ARGUMENT && !call->cancelled && !c->closing)
        call_finish(call, rc);
}

/* ---- deferred work ---- */

static void client_shutdown(http_client_t *c)
{
    c->closed = 1;
    /* Our poll handles go first: curl closes its sockets in cleanup. */
    while (c->socks)
        sock_close(c->socks);
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

/* One pass over the calls; 1 when user code ran (the list may have changed
 * under us, so the caller starts again). */
static int settle_pass(http_client_t *c)
{
    http_call_t *next;
    for (http_call_t *call = c->calls; call; call = next) {
        next = call->next;
        if (call->cancelled) {
            call_destroy(call);
        } else if (call->resume_pending) {
            call_unpause(call);
            return 1;
        } else if (call->state == CALL_PENDING && call_add(call) != 0) {
            call_complete(call, HTTP_CALL_FAILED, "could not start the call");
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
        call_finish((http_call_t *)priv, msg->data.result);
    }
}

/* Runs outside curl, after each socket action: deferred cancels and starts,
 * a deferred free, then the finished transfers. on_done runs here, and may
 * cancel, start, or free the client. */
static void client_settle(http_client_t *c)
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
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->open_handles = 1;
    c->rng = (uv_hrtime() ^ (uint64_t)(uintptr_t)c) | 1;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return c;
}

void http_client_free(http_client_t *c)
{
    if (c == NULL || c->closing)
        return;
    c->closing = 1;
    for (http_call_t *call = c->calls; call; call = call->next)
        call->cancelled = 1;
    c->active = 0;
    c->dirty = 1;
    client_settle(c);
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
    call_link(call);
    call->method = strdup(o->method ? o->method : "POST");
    call->url = strdup(o->url);
    call->host = url_host(o->url);
    call->easy = curl_easy_init();
    if (!call->method || !call->url || !call->host || !call->easy || add_no_expect(call) != 0) {
        call_destroy(call);
        return NULL;
    }
    return call;
}

/* A call whose headers failed the check ends on the next loop turn, as a
 * failure that says why, never on the wire. */
static void on_refused(uv_timer_t *t)
{
    http_call_t *call = t->data;
    call_complete(call, HTTP_CALL_FAILED, call->errbuf);
}

static int refuse_bad_headers(http_call_t *call)
{
    char name[64];
    if (http_headers_check(call->headers, name, sizeof(name)) == 0)
        return 0;
    snprintf(call->errbuf, sizeof(call->errbuf), "refused to send: header %s holds CR, LF or NUL",
             name);
    log_json(LOG_WARN, "outgoing header refused",
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
    } else if (call_add(call) != 0) {
        call_destroy(call);
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
        call_destroy(call);
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
    call_unpause(call);
    /* What on_data asked for inside the resume, and an abort's on_done. */
    client_settle(c);
}

int http_call_paused(const http_call_t *call)
{
    return call && call->paused && !call->cancelled && call->state == CALL_RUNNING;
}

size_t http_client_active(const http_client_t *c)
{
    return c ? c->active : 0;
}
