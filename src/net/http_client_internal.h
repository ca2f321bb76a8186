/* Internal to the http_client module: the structs and functions its files
 * (http_client.c, http_client_io.c, http_client_call.c) share. */
#ifndef AGENTOS_NET_HTTP_CLIENT_INTERNAL_H
#define AGENTOS_NET_HTTP_CLIENT_INTERNAL_H

#include "net/http_client.h"
#include "core/backoff.h"
#include "core/list.h"

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
    list_t link; /* in c->socks until it closes */
} http_sock_t;

struct http_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    list_t calls;        /* every call not yet destroyed, newest first */
    list_t socks;        /* the poll handles not yet closing */
    size_t active;       /* calls that still owe an on_done */
    size_t open_handles; /* uv handles not yet closed; the last frees c */
    int in_curl;         /* inside curl_multi_socket_action */
    int dirty;           /* a deferred cancel or start waits for client_settle */
    int closing;         /* http_client_free was called */
    int closed;          /* multi cleaned up, timer closing */
    backoff_rng_t rng;   /* the retries' jitter */
};

/* PENDING: not yet on the multi handle; RUNNING: on it; IDLE: off it
 * between attempts; DONE: on_done called or cancelled. */
enum call_state { CALL_PENDING, CALL_RUNNING, CALL_IDLE, CALL_DONE };

struct http_call {
    http_client_t *c;
    list_t link; /* in c->calls until it completes or is destroyed */
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

void http_client_on_timer_closed(uv_handle_t *h);
void http_client_call_link(http_call_t *call);
void http_client_call_unlink(http_call_t *call);
void http_client_call_destroy(http_call_t *call);
void http_client_sock_close(http_sock_t *sk);
int http_client_on_curl_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp);
int http_client_on_curl_timer(CURLM *m, long timeout_ms, void *userp);
int http_client_call_add(http_call_t *call);
void http_client_call_complete(http_call_t *call, http_call_result_t result, const char *err);
void http_client_call_finish(http_call_t *call, CURLcode res);
void http_client_call_unpause(http_call_t *call);
void http_client_settle(http_client_t *c);

#endif
