/* Private to the Redis client's files (redis.c: API, creation, helpers;
 * redis_conn.c: the connection life cycle; redis_cmd.c: commands in
 * flight). Not for other modules. */
#ifndef AGENTOS_CACHE_REDIS_INTERNAL_H
#define AGENTOS_CACHE_REDIS_INTERNAL_H

#include <stdint.h>

#include <hiredis/async.h>
#include <jansson.h>

#include "cache/redis.h"
#include "core/backoff.h"
#include "core/list.h"

#define ERR_MAX 256

typedef enum {
    CONN_WAIT,       /* back-off before the next attempt */
    CONN_RESOLVING,  /* host name lookup on the thread pool */
    CONN_CONNECTING, /* TCP connect in flight */
    CONN_HANDSHAKE,  /* AUTH / SELECT / PING in flight */
    CONN_READY,
    CONN_ABORTING, /* a hiredis callback asked for a drop; a timer does it */
    CONN_CLOSING,  /* redis_client_free ran; a timer finishes the teardown */
} conn_state_t;

typedef struct redis_conn redis_conn_t;

/* Owned by hiredis from submission until on_cmd_reply, which always runs
 * once (with NULL when the context goes away) and frees it. The timeout only
 * marks it done, so a late reply finds it and is dropped. */
typedef struct redis_cmd {
    list_t link; /* in conn->cmds */
    redis_conn_t *conn;
    redis_reply_cb cb;
    void *data;
    uint64_t sent_ms, deadline_ms;
    uint64_t seq;
    int done;
} redis_cmd_t;

/* A uv_getaddrinfo request outlives a connection attempt that gave up on
 * it: conn is cleared then, and the callback just frees the request. */
typedef struct resolve_req {
    uv_getaddrinfo_t req;
    redis_conn_t *conn;
} resolve_req_t;

/* One hiredis connection with its own life cycle. The client holds one for
 * commands; a pub/sub subscriber, which can send nothing but (un)subscribe,
 * would be a second one of these next to it. */
struct redis_conn {
    redis_client_t *client;
    const char *role; /* for logs */
    redisAsyncContext *ac;
    conn_state_t state;
    uv_timer_t conn_timer; /* back-off, attempt deadline, deferred drop/teardown */
    uv_timer_t cmd_timer;  /* command deadlines and dead-connection detection */
    resolve_req_t *resolve;
    /* Commands hiredis holds, in send order (= reply order). Those before
     * first_pending have timed out; from it on they wait for a reply. One
     * timeout per client keeps deadlines in the same order. */
    list_t cmds;
    redis_cmd_t *first_pending;
    uint64_t timer_due;
    uint64_t next_seq;
    uint64_t suspect_seq; /* head command suspected dead, awaiting one more poll */
    int handshake_left;
    unsigned failures; /* consecutive, for the back-off */
    int down;          /* failed since it was last ready */
    uint64_t ready_at_ms;
    char abort_reason[ERR_MAX];
    char last_error[ERR_MAX];
};

struct redis_client {
    uv_loop_t *loop;
    redis_url_t url;
    int host_is_ip;
    redis_client_options_t opt;
    redis_conn_t cmd;
    int closing;
    int open_handles;
    backoff_rng_t rng; /* the reconnects' jitter */
};

/* The command whose link node is (NULL for none), e.g. of list_first or
 * list_next on conn->cmds. */
static inline redis_cmd_t *redis_cmd_of(list_t *node)
{
    return node != NULL ? LIST_ENTRY(node, redis_cmd_t, link) : NULL;
}

/* redis.c */
/* The real clock, not uv_now: the loop time is stale after a stall. */
uint64_t redis_mono_ms(void);
uint64_t redis_backoff_ms(redis_client_t *c, unsigned failures);
/* snprintf with the URL's password masked. */
void redis_set_text(const redis_client_t *c, char *dst, size_t dstlen, const char *src);
json_t *redis_log_fields(const redis_conn_t *conn, const char *error);

/* redis_conn.c */
void redis_conn_start_attempt(redis_conn_t *conn);
void redis_on_conn_timer(uv_timer_t *t);
void redis_on_cmd_timer(uv_timer_t *t);

/* redis_cmd.c */
void redis_cmd_timer_arm(redis_conn_t *conn);
/* Completes every command still waiting, as done, with status. */
void redis_cmd_fail_pending(redis_conn_t *conn, redis_cmd_status_t status);

#endif
