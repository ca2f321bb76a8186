/* Outgoing HTTP calls on a loop: one curl multi handle per loop thread,
 * driven by uv_poll and uv_timer (as curl's multi-uv example). Used for
 * model calls and HTTP tools. Not thread-safe: one per loop. */
#ifndef AGENTOS_NET_HTTP_CLIENT_H
#define AGENTOS_NET_HTTP_CLIENT_H

#include <curl/curl.h>
#include <stddef.h>
#include <uv.h>

typedef struct http_client http_client_t;
typedef struct http_call http_call_t;

typedef struct http_call_opts {
    const char *method; /* "POST" (default), "GET", ... */
    const char *url;
    struct curl_slist *headers; /* taken over by the call */
    char *body;                 /* taken over by the call (malloc'd), may be NULL */
    size_t body_len;
    long connect_timeout_ms; /* 0: 10000 */
    long stall_timeout_s;    /* no byte for this long -> fail; 0: 60 */
    long total_timeout_ms;   /* 0: none */
    /* Retries on 429 / 5xx / a failed connect, only while no body byte has
     * been handed to on_data: back-off from retry_base_ms doubling, or the
     * server's Retry-After (seconds), capped at retry_max_ms. */
    int max_retries;
    long retry_base_ms; /* 0: 500 */
    long retry_max_ms;  /* 0: 20000 */
    /* The most body bytes one on_data call gets (curl's receive buffer,
     * 1024 to 16384): a consumer that pauses sees bursts no larger. 0: 16384. */
    long buffer_size;
} http_call_opts_t;

/* How a call ended, for on_done. */
typedef enum http_call_result {
    HTTP_CALL_OK = 0,     /* 2xx, body complete */
    HTTP_CALL_HTTP_ERROR, /* a non-2xx status after the retries */
    HTTP_CALL_FAILED,     /* connect, TLS, reset, stall or timeout */
    HTTP_CALL_ABORTED,    /* on_data asked to stop */
} http_call_result_t;

typedef struct http_call_cbs {
    /* Body bytes of a 2xx reply. Return 0 to go on, HTTP_DATA_PAUSE to
     * pause the call, any other value to abort it (on_done then gets
     * HTTP_CALL_ABORTED). A pause does not consume buf: after
     * http_call_resume the same bytes come again, maybe followed by more in
     * the same call. */
    int (*on_data)(void *ud, const char *buf, size_t len);
    /* Exactly once, unless the call was cancelled. status: the last HTTP
     * status (0 when none); err: a curl or HTTP error text, NULL on success;
     * body: the first bytes (<= 8 KiB) of a non-2xx reply's body. */
    void (*on_done)(void *ud, http_call_result_t result, long status, const char *err,
                    const char *body, size_t body_len);
    void *ud;
} http_call_cbs_t;

/* on_data's answer for back-pressure: stop reading until resumed. */
enum { HTTP_DATA_PAUSE = 2 };

http_client_t *http_client_new(uv_loop_t *loop);
/* Cancels every call (no on_done) and closes the handles; the memory goes
 * in the close callbacks, so keep the loop running after. */
void http_client_free(http_client_t *c);
/* Starts a call. NULL when it could not start (out of memory, bad URL):
 * opts' headers and body are freed either way. */
http_call_t *http_client_start(http_client_t *c, const http_call_opts_t *opts,
                               const http_call_cbs_t *cbs);
/* Stops a call: its curl handle is removed (not from inside a curl
 * callback: deferred to the loop), and on_done is never called. */
void http_call_cancel(http_call_t *call);
/* Resumes a call paused by on_data, e.g. once a slow reader caught up. The
 * held bytes may reach on_data before this returns (which may pause
 * again, cancel or abort). Inside a curl callback it is deferred to the
 * loop. A no-op on a call that is not paused. While paused the stall
 * timeout does not run (it starts afresh on resume); the total timeout
 * does. */
void http_call_resume(http_call_t *call);
int http_call_paused(const http_call_t *call);
size_t http_client_active(const http_client_t *c);

#endif
