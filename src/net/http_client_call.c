/* One http_client call attempt: curl options and the callbacks curl calls,
 * then the end of an attempt (complete, retry with backoff, or finish),
 * kept apart from the loop plumbing and the public API. */
#include "net/http_client.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "net/http_headers.h"
#include "net/http_retry.h"
#include "core/log.h"
#include "net/http_client_internal.h"

/* ---- one attempt: options and the callbacks curl calls ---- */

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
        call->retry_after_ms = http_retry_parse_after(p + 15, len - 15, 1, time(NULL));
    } else if (header_is(p, len, "retry-after") && call->retry_after_ms < 0) {
        call->retry_after_ms = http_retry_parse_after(p + 12, len - 12, 0, time(NULL));
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
    http_client_call_finish(call, CURLE_OPERATION_TIMEDOUT);
}

/* Puts the call (back) on the multi handle, for its first or next attempt. */
int http_client_call_add(http_call_t *call)
{
    /* curl refuses new handles from inside its callbacks. */
    assert(call->c->in_curl == 0);
    assert(call->state != CALL_RUNNING && call->state != CALL_DONE && !call->cancelled);
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
        log_msg(LOG_LEVEL_WARN, "http call could not start: %s / %s", curl_easy_strerror(so),
                curl_multi_strerror(ma));
        return -1;
    }
    call->state = CALL_RUNNING;
    call->last_activity = uv_now(call->c->loop);
    uv_timer_start(&call->timer, on_watchdog, (uint64_t)call->stall_s * 1000, 0);
    return 0;
}

/* ---- the end of an attempt ---- */

void http_client_call_complete(http_call_t *call, http_call_result_t result, const char *err)
{
    http_client_t *c = call->c;
    /* on_done exactly once, and never for a cancelled call. */
    assert(call->state != CALL_DONE && !call->cancelled);
    assert(c->active > 0);
    http_client_call_unlink(call);
    call->state = CALL_DONE;
    c->active--;
    const char *body = result == HTTP_CALL_OK ? NULL : call->err_body;
    size_t body_len = body ? call->err_len : 0;
    if (call->cbs.on_done)
        call->cbs.on_done(call->cbs.ud, result, call->status, err, body, body_len);
    http_client_call_destroy(call);
}

static void on_retry(uv_timer_t *t)
{
    http_call_t *call = t->data;
    if (http_client_call_add(call) != 0)
        http_client_call_complete(call, HTTP_CALL_FAILED, "could not restart the call");
}

/* 1 when another attempt is scheduled. */
static int call_retry(http_call_t *call, CURLcode res)
{
    if (call->delivered || call->attempt >= call->max_retries)
        return 0;
    long delay = http_retry_delay_ms(&call->c->rng, call->retry_base_ms, call->retry_max_ms,
                                     call->attempt, call->retry_after_ms);
    if (!http_retry_fits(uv_now(call->c->loop), call->deadline, delay))
        return 0;
    call->attempt++;
    json_t *f =
        json_pack("{s:s?,s:i,s:i,s:i,s:I}", "host", call->host, "attempt", call->attempt, "status",
                  (int)call->status, "curl_code", (int)res, "delay_ms", (json_int_t)delay);
    log_json(LOG_LEVEL_INFO, "http call retry", f);
    call->state = CALL_IDLE;
    uv_timer_start(&call->timer, on_retry, (uint64_t)delay, 0);
    return 1;
}

void http_client_call_finish(http_call_t *call, CURLcode res)
{
    assert(call->c->in_curl == 0 && call->state == CALL_RUNNING);
    uv_timer_stop(&call->timer);
    curl_multi_remove_handle(call->c->multi, call->easy);
    call->state = CALL_IDLE;
    call->paused = 0;
    call->resume_pending = 0;
    if (call->aborted) {
        http_client_call_complete(call, HTTP_CALL_ABORTED, "aborted by the receiver");
        return;
    }
    if (call->status >= 300) {
        if (http_retry_status_retryable(call->status) && call_retry(call, res))
            return;
        char err[32];
        snprintf(err, sizeof(err), "HTTP %ld", call->status);
        http_client_call_complete(call, HTTP_CALL_HTTP_ERROR, err);
        return;
    }
    if (res == CURLE_OK) {
        http_client_call_complete(call, HTTP_CALL_OK, NULL);
        return;
    }
    if (call->status < 200 && http_retry_curl_retryable(res) && call_retry(call, res))
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
    http_client_call_complete(call, HTTP_CALL_FAILED, err);
}

/* Never from inside a curl callback. curl_easy_pause hands the held bytes
 * to on_write before it returns, so on_data runs in here: it may pause
 * again, cancel, abort, start a call or free the client, all deferred by
 * in_curl. curl does not end the transfer when that write fails (it only
 * returns the error), so an abort is finished here. A bad argument means
 * no connection: curl already ended the transfer, its message will come. */
void http_client_call_unpause(http_call_t *call)
{
    http_client_t *c = call->c;
    assert(c->in_curl == 0 && call->state == CALL_RUNNING);
    call->paused = 0;
    call->resume_pending = 0;
    call->last_activity = uv_now(c->loop);
    /* Before curl_easy_pause: a new pause inside it stops the watchdog. */
    uv_timer_start(&call->timer, on_watchdog, (uint64_t)call->stall_s * 1000, 0);
    c->in_curl++;
    CURLcode rc = curl_easy_pause(call->easy, CURLPAUSE_CONT);
    c->in_curl--;
    if (rc != CURLE_OK && rc != CURLE_BAD_FUNCTION_ARGUMENT && !call->cancelled && !c->closing)
        http_client_call_finish(call, rc);
}
