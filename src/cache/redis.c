/* The per-loop Redis client. hiredis 0.14 facts this file is built on (read
 * from its async.c):
 *  - a failed connect calls onConnect(ERR) and then frees the context itself;
 *    onDisconnect runs only for a context that had connected;
 *  - freeing a context (ours or hiredis' own on an error) first runs every
 *    pending reply callback with a NULL reply, then onDisconnect;
 *  - redisAsyncFree inside a hiredis callback is deferred by hiredis, and
 *    freeing from the libuv adapter's own callbacks is unsafe, so we only ever
 *    free a context from our own uv timer callbacks;
 *  - redisAsyncConnect resolves names with a blocking getaddrinfo, so names
 *    are looked up first with uv_getaddrinfo on the thread pool;
 *  - the 0.14 libuv adapter drops poll errors (see adapter_fix_hooks). */
#include "cache/redis.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hiredis/async.h>
#include <hiredis/adapters/libuv.h>

#include "core/counters.h"
#include "core/log.h"

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
    struct redis_cmd *prev, *next;
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
    redis_cmd_t *head, *tail, *first_pending;
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
    uint64_t rng;
};

static void conn_start_attempt(redis_conn_t *conn);
static void on_conn_timer(uv_timer_t *t);
static void on_cmd_timer(uv_timer_t *t);

/* ---- small helpers ---- */

void redis_client_options_init(redis_client_options_t *o)
{
    o->command_timeout_ms = 250;
    o->connect_timeout_ms = 2000;
    o->backoff_min_ms = 100;
    o->backoff_max_ms = 5000;
    o->dead_after_ms = 3000;
}

const char *redis_status_name(redis_status_t s)
{
    switch (s) {
    case REDIS_STATUS_CONNECTED:
        return "connected";
    case REDIS_STATUS_DOWN:
        return "down";
    default:
        return "connecting";
    }
}

const char *redis_cmd_status_name(redis_cmd_status_t s)
{
    switch (s) {
    case REDIS_CMD_OK:
        return "ok";
    case REDIS_CMD_TIMEOUT:
        return "timeout";
    case REDIS_CMD_DISCONNECTED:
        return "disconnected";
    default:
        return "closed";
    }
}

/* The real clock, not uv_now: the loop's cached time is stale after a
 * stall, and a command stamped with it would be timed out at once. */
static uint64_t mono_ms(void)
{
    return uv_hrtime() / 1000000u;
}

static uint64_t rng_next(redis_client_t *c)
{
    /* xorshift64*: jitter only, no need for more. */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 2685821657736338717ULL;
}

/* Doubling from backoff_min to backoff_max, with equal jitter so that loops
 * and replicas that lost Redis together do not retry in lock step. */
static uint64_t backoff_ms(redis_client_t *c, unsigned failures)
{
    uint64_t base = (uint64_t)c->opt.backoff_min_ms;
    for (unsigned i = 1; i < failures && base < (uint64_t)c->opt.backoff_max_ms; i++)
        base *= 2;
    if (base > (uint64_t)c->opt.backoff_max_ms)
        base = (uint64_t)c->opt.backoff_max_ms;
    return base / 2 + rng_next(c) % (base / 2 + 1);
}

/* Server and socket errors do not echo the password today; make sure a
 * future message that does never reaches a log or /ready. */
static void set_text(const redis_client_t *c, char *dst, size_t dstlen, const char *src)
{
    snprintf(dst, dstlen, "%s", src);
    const char *pw = c->url.password;
    size_t n = pw ? strlen(pw) : 0;
    char *hit;
    while (n >= 4 && (hit = strstr(dst, pw)) != NULL)
        memset(hit, '*', n);
}

static json_t *log_fields(const redis_conn_t *conn, const char *error)
{
    const redis_client_t *c = conn->client;
    json_t *f = json_pack("{s:s,s:i,s:i,s:s}", "host", c->url.host, "port", c->url.port, "db",
                          c->url.db, "conn", conn->role);
    if (f && error)
        json_object_set_new(f, "error", json_string(error));
    return f;
}

/* ---- the list of commands in flight ---- */

static void cmd_append(redis_conn_t *conn, redis_cmd_t *cmd)
{
    cmd->prev = conn->tail;
    if (conn->tail)
        conn->tail->next = cmd;
    else
        conn->head = cmd;
    conn->tail = cmd;
    if (!conn->first_pending)
        conn->first_pending = cmd;
}

static void cmd_unlink(redis_conn_t *conn, redis_cmd_t *cmd)
{
    if (conn->first_pending == cmd)
        conn->first_pending = cmd->next;
    if (cmd->prev)
        cmd->prev->next = cmd->next;
    else
        conn->head = cmd->next;
    if (cmd->next)
        cmd->next->prev = cmd->prev;
    else
        conn->tail = cmd->prev;
    cmd->prev = cmd->next = NULL;
}

/* The timer is due at the earliest command deadline, or when the oldest
 * unanswered command would prove the connection dead. */
static void cmd_timer_arm(redis_conn_t *conn)
{
    redis_client_t *c = conn->client;
    uint64_t due = UINT64_MAX;
    if (c->closing)
        return;
    if (conn->first_pending)
        due = conn->first_pending->deadline_ms;
    if (conn->head && conn->head->sent_ms + (uint64_t)c->opt.dead_after_ms < due)
        due = conn->head->sent_ms + (uint64_t)c->opt.dead_after_ms;
    if (due == UINT64_MAX) {
        uv_timer_stop(&conn->cmd_timer);
        conn->timer_due = 0;
        return;
    }
    if (due == conn->timer_due && uv_is_active((uv_handle_t *)&conn->cmd_timer))
        return;
    uint64_t now = mono_ms();
    /* At least 1 ms: libuv 1.44 would run a 0 ms timer started from a timer
     * callback again in the same pass, before reading any socket. */
    uv_timer_start(&conn->cmd_timer, on_cmd_timer, due > now ? due - now : 1, 0);
    conn->timer_due = due;
}

/* Completes every command still waiting, as done, with status. */
static void cmd_fail_pending(redis_conn_t *conn, redis_cmd_status_t status)
{
    redis_cmd_t *cmd;
    while ((cmd = conn->first_pending) != NULL) {
        conn->first_pending = cmd->next;
        cmd->done = 1;
        if (status != REDIS_CMD_CLOSED)
            counters_redis_error();
        cmd->cb(status, NULL, cmd->data);
    }
}

/* ---- libuv adapter fix ---- */

/* libuv reports a socket error (a refused connect, a reset) as a poll status
 * < 0 and stops the handle; hiredis 0.14's adapter returns on any status, so
 * the error went unseen until a timeout. As upstream hiredis does since
 * commit 9ce15c4: let hiredis read or write, and it finds the error itself. */
static void adapter_on_poll(uv_poll_t *handle, int status, int events)
{
    redisLibuvEvents *p = handle->data;
    int ev = status ? p->events : events;
    if (p->context && (ev & UV_READABLE))
        redisAsyncHandleRead(p->context);
    if (p->context && (ev & UV_WRITABLE))
        redisAsyncHandleWrite(p->context);
}

static void adapter_update(redisLibuvEvents *p)
{
    if (p->events)
        uv_poll_start(&p->handle, p->events, adapter_on_poll);
    else
        uv_poll_stop(&p->handle);
}

static void adapter_add_read(void *privdata)
{
    redisLibuvEvents *p = privdata;
    p->events |= UV_READABLE;
    adapter_update(p);
}

static void adapter_del_read(void *privdata)
{
    redisLibuvEvents *p = privdata;
    p->events &= ~UV_READABLE;
    adapter_update(p);
}

static void adapter_add_write(void *privdata)
{
    redisLibuvEvents *p = privdata;
    p->events |= UV_WRITABLE;
    adapter_update(p);
}

static void adapter_del_write(void *privdata)
{
    redisLibuvEvents *p = privdata;
    p->events &= ~UV_WRITABLE;
    adapter_update(p);
}

/* Keeps the adapter's state and cleanup; replaces only its event hooks. */
static void adapter_fix_hooks(redisAsyncContext *ac)
{
    ac->ev.addRead = adapter_add_read;
    ac->ev.delRead = adapter_del_read;
    ac->ev.addWrite = adapter_add_write;
    ac->ev.delWrite = adapter_del_write;
}

/* ---- connection life cycle ---- */

/* The attempt failed or the connection was lost; the context is already gone
 * (hiredis frees it after its callback, or we freed it). */
static void conn_retry_later(redis_conn_t *conn, const char *reason)
{
    redis_client_t *c = conn->client;
    if (c->closing)
        return;
    counters_redis_error();
    uint64_t now = mono_ms();
    int was_ready = conn->state == CONN_READY;
    /* A connection that drops right after it came up (maxclients, a server
     * that closes us at once) must not reset the back-off and flap. */
    if (was_ready && now - conn->ready_at_ms >= (uint64_t)c->opt.backoff_max_ms)
        conn->failures = 0;
    conn->failures++;
    uint64_t delay = backoff_ms(c, conn->failures);
    set_text(c, conn->last_error, sizeof conn->last_error, reason);
    conn->state = CONN_WAIT;
    json_t *f = log_fields(conn, conn->last_error);
    if (f)
        json_object_set_new(f, "retry_in_ms", json_integer((json_int_t)delay));
    /* One warning per outage, not one per retry. */
    log_json(conn->down ? LOG_DEBUG : LOG_WARN,
             was_ready ? "redis connection lost" : "redis unavailable", f);
    conn->down = 1;
    uv_timer_start(&conn->conn_timer, on_conn_timer, delay, 0);
}

static void conn_detach_resolve(redis_conn_t *conn)
{
    if (!conn->resolve)
        return;
    conn->resolve->conn = NULL;
    /* Fails harmlessly when the lookup already runs; its callback frees it. */
    uv_cancel((uv_req_t *)&conn->resolve->req);
    conn->resolve = NULL;
}

/* Drops the context from a uv timer callback (never inside hiredis). Its
 * pending replies run now with NULL, which completes user commands with
 * REDIS_CMD_DISCONNECTED; our callbacks ignore a context that is no longer
 * conn->ac. */
static void conn_drop_context(redis_conn_t *conn)
{
    redisAsyncContext *ac = conn->ac;
    conn->ac = NULL;
    conn_detach_resolve(conn);
    if (ac)
        redisAsyncFree(ac);
}

static void conn_abort(redis_conn_t *conn, const char *reason)
{
    char why[ERR_MAX];
    snprintf(why, sizeof why, "%s", reason); /* reason may live in conn */
    conn_drop_context(conn);
    conn_retry_later(conn, why);
}

/* From inside a hiredis callback: a timer at 0 ms does the drop. */
static void conn_abort_soon(redis_conn_t *conn, const char *reason)
{
    set_text(conn->client, conn->abort_reason, sizeof conn->abort_reason, reason);
    conn->state = CONN_ABORTING;
    uv_timer_start(&conn->conn_timer, on_conn_timer, 0, 0);
}

static void conn_ready(redis_conn_t *conn)
{
    uv_timer_stop(&conn->conn_timer);
    conn->state = CONN_READY;
    conn->ready_at_ms = mono_ms();
    /* After an outage this is news; a first connect only at debug level. */
    log_json(conn->down ? LOG_INFO : LOG_DEBUG, "redis connected", log_fields(conn, NULL));
    conn->down = 0;
    conn->last_error[0] = '\0';
}

static void on_handshake_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redis_conn_t *conn = privdata;
    redisReply *reply = r;
    if (conn->client->closing || conn->ac != ac || conn->state != CONN_HANDSHAKE || !reply)
        return; /* dropped; onDisconnect or our drop deals with it */
    if (reply->type == REDIS_REPLY_ERROR) {
        char why[ERR_MAX];
        snprintf(why, sizeof why, "handshake: %s", reply->str);
        conn_abort_soon(conn, why);
        return;
    }
    if (--conn->handshake_left == 0)
        conn_ready(conn);
}

/* AUTH and SELECT as the URL says, then PING: a server that is loading, full
 * (maxclients) or wants a password says so here, not on a user command.
 * Queued before the connect completes: hiredis 0.14 watches the socket only
 * once it has something to write, and notices the connect (or its failure)
 * on that first write event. */
static int conn_queue_handshake(redis_conn_t *conn)
{
    redis_client_t *c = conn->client;
    redisAsyncContext *ac = conn->ac;
    int rc = REDIS_OK;
    conn->handshake_left = 1;
    if (c->url.password) {
        const char *argv[3] = {"AUTH", c->url.user, c->url.password};
        int argc = c->url.user ? 3 : 2;
        if (!c->url.user)
            argv[1] = c->url.password;
        rc |= redisAsyncCommandArgv(ac, on_handshake_reply, conn, argc, argv, NULL);
        conn->handshake_left++;
    }
    if (c->url.db != 0) {
        rc |= redisAsyncCommand(ac, on_handshake_reply, conn, "SELECT %d", c->url.db);
        conn->handshake_left++;
    }
    rc |= redisAsyncCommand(ac, on_handshake_reply, conn, "PING");
    return rc == REDIS_OK ? 0 : -1;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    redis_conn_t *conn = ac->data;
    if (conn->ac != ac)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees it when we return: forget it even while closing. */
        conn->ac = NULL;
        char why[ERR_MAX];
        snprintf(why, sizeof why, "connect: %s", ac->errstr ? ac->errstr : "failed");
        conn_retry_later(conn, why);
        return;
    }
    if (conn->client->closing)
        return;
    /* Finds a peer that vanished while the connection sat idle. */
    redisEnableKeepAlive((redisContext *)&ac->c);
    conn->state = CONN_HANDSHAKE;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    redis_conn_t *conn = ac->data;
    if (conn->ac != ac)
        return; /* our own drop */
    conn->ac = NULL;
    char why[ERR_MAX];
    if (conn->state == CONN_ABORTING)
        snprintf(why, sizeof why, "%s", conn->abort_reason);
    else
        snprintf(why, sizeof why, "connection lost: %s",
                 ac->errstr && ac->errstr[0] ? ac->errstr : "closed");
    if (conn->state == CONN_ABORTING)
        conn->state = CONN_HANDSHAKE;
    conn_retry_later(conn, why);
}

static void conn_connect(redis_conn_t *conn, const char *ip)
{
    redis_client_t *c = conn->client;
    char why[ERR_MAX];
    conn->state = CONN_CONNECTING;
    redisAsyncContext *ac = redisAsyncConnect(ip, c->url.port);
    if (!ac) {
        conn_retry_later(conn, "connect: out of memory");
        return;
    }
    if (ac->err) {
        snprintf(why, sizeof why, "connect: %s", ac->errstr);
        redisAsyncFree(ac);
        conn_retry_later(conn, why);
        return;
    }
    ac->data = conn;
    if (redisLibuvAttach(ac, c->loop) != REDIS_OK) {
        /* The adapter sets its hooks before it can fail, with no data for
         * them: unset them so the free below does not call them. */
        memset(&ac->ev, 0, sizeof ac->ev);
        redisAsyncFree(ac);
        conn_retry_later(conn, "connect: cannot watch the socket");
        return;
    }
    adapter_fix_hooks(ac);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    conn->ac = ac;
    if (conn_queue_handshake(conn) != 0)
        conn_abort_soon(conn, "handshake: cannot queue commands");
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    resolve_req_t *r = req->data;
    redis_conn_t *conn = r->conn;
    free(r);
    char ip[INET6_ADDRSTRLEN] = "";
    int ok = status == 0 && res;
    if (ok && res->ai_family == AF_INET6)
        ok = uv_ip6_name((struct sockaddr_in6 *)res->ai_addr, ip, sizeof ip) == 0;
    else if (ok)
        ok = uv_ip4_name((struct sockaddr_in *)res->ai_addr, ip, sizeof ip) == 0;
    if (res)
        uv_freeaddrinfo(res);
    if (!conn)
        return; /* the attempt gave up on this lookup */
    /* r is freed: forget it even while closing, or the teardown touches it. */
    conn->resolve = NULL;
    if (conn->client->closing)
        return;
    if (!ok) {
        char why[ERR_MAX];
        snprintf(why, sizeof why, "resolve %.200s: %s", conn->client->url.host,
                 status ? uv_strerror(status) : "no address");
        conn_retry_later(conn, why);
        return;
    }
    conn_connect(conn, ip);
}

static void conn_start_attempt(redis_conn_t *conn)
{
    redis_client_t *c = conn->client;
    conn->state = CONN_RESOLVING;
    uv_timer_start(&conn->conn_timer, on_conn_timer, (uint64_t)c->opt.connect_timeout_ms, 0);
    if (c->host_is_ip) {
        conn_connect(conn, c->url.host);
        return;
    }
    resolve_req_t *r = calloc(1, sizeof *r);
    if (!r) {
        conn_retry_later(conn, "resolve: out of memory");
        return;
    }
    r->conn = conn;
    r->req.data = r;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = uv_getaddrinfo(c->loop, &r->req, on_resolved, c->url.host, NULL, &hints);
    if (rc != 0) {
        free(r);
        char why[ERR_MAX];
        snprintf(why, sizeof why, "resolve %.200s: %s", c->url.host, uv_strerror(rc));
        conn_retry_later(conn, why);
        return;
    }
    conn->resolve = r;
}

/* ---- teardown ---- */

static void client_destroy(redis_client_t *c)
{
    redis_url_free(&c->url);
    free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    redis_conn_t *conn = h->data;
    redis_client_t *c = conn->client;
    if (--c->open_handles == 0)
        client_destroy(c);
}

static void conn_close(redis_conn_t *conn)
{
    conn_drop_context(conn);
    uv_close((uv_handle_t *)&conn->conn_timer, on_handle_closed);
    uv_close((uv_handle_t *)&conn->cmd_timer, on_handle_closed);
}

static void on_conn_timer(uv_timer_t *t)
{
    redis_conn_t *conn = t->data;
    char why[ERR_MAX];
    if (conn->client->closing) {
        conn_close(conn);
        return;
    }
    switch (conn->state) {
    case CONN_WAIT:
        conn_start_attempt(conn);
        break;
    case CONN_RESOLVING:
    case CONN_CONNECTING:
    case CONN_HANDSHAKE:
        snprintf(why, sizeof why, "timeout: not connected within %d ms",
                 conn->client->opt.connect_timeout_ms);
        conn_abort(conn, why);
        break;
    case CONN_ABORTING:
        conn->state = CONN_HANDSHAKE;
        conn_abort(conn, conn->abort_reason);
        break;
    case CONN_READY:
    case CONN_CLOSING:
        break;
    }
}

static void on_cmd_timer(uv_timer_t *t)
{
    redis_conn_t *conn = t->data;
    redis_client_t *c = conn->client;
    uint64_t now = mono_ms();
    redis_cmd_t *cmd;
    conn->timer_due = 0;
    while (!c->closing && (cmd = conn->first_pending) != NULL && cmd->deadline_ms <= now) {
        conn->first_pending = cmd->next;
        cmd->done = 1;
        counters_redis_error();
        cmd->cb(REDIS_CMD_TIMEOUT, NULL, cmd->data);
    }
    if (c->closing)
        return;
    /* Replies come in order, so an old unanswered head means nothing at all
     * came back for dead_after_ms: a hung server or a half-open link. After
     * a loop stall, timers run before sockets are read, so the verdict waits
     * for one more poll phase in case the reply is already there. */
    if (conn->state == CONN_READY && conn->head &&
        conn->head->sent_ms + (uint64_t)c->opt.dead_after_ms <= now) {
        if (conn->suspect_seq != conn->head->seq) {
            conn->suspect_seq = conn->head->seq;
            uv_timer_start(&conn->cmd_timer, on_cmd_timer, 1, 0);
            return;
        }
        char why[ERR_MAX];
        snprintf(why, sizeof why, "no reply for %d ms", c->opt.dead_after_ms);
        conn_abort(conn, why);
        return;
    }
    cmd_timer_arm(conn);
}

void redis_client_free(redis_client_t *c)
{
    if (!c)
        return;
    redis_conn_t *conn = &c->cmd;
    c->closing = 1;
    conn->state = CONN_CLOSING;
    uv_timer_stop(&conn->cmd_timer);
    cmd_fail_pending(conn, REDIS_CMD_CLOSED);
    uv_timer_start(&conn->conn_timer, on_conn_timer, 0, 0);
}

/* ---- creation ---- */

static int options_valid(const redis_client_options_t *o)
{
    return o->command_timeout_ms > 0 && o->connect_timeout_ms > 0 && o->backoff_min_ms > 0 &&
           o->backoff_max_ms >= o->backoff_min_ms && o->dead_after_ms > o->command_timeout_ms;
}

static int host_is_ip(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static void conn_init(redis_client_t *c, redis_conn_t *conn, const char *role)
{
    conn->client = c;
    conn->role = role;
    conn->state = CONN_WAIT;
    uv_timer_init(c->loop, &conn->conn_timer);
    uv_timer_init(c->loop, &conn->cmd_timer);
    conn->conn_timer.data = conn;
    conn->cmd_timer.data = conn;
    c->open_handles += 2;
}

redis_client_t *redis_client_new(uv_loop_t *loop, const char *url,
                                 const redis_client_options_t *opts, char *err, size_t errlen)
{
    redis_client_options_t defaults;
    redis_client_options_init(&defaults);
    if (!opts)
        opts = &defaults;
    if (!options_valid(opts)) {
        snprintf(err, errlen, "bad Redis client options");
        return NULL;
    }
    redis_client_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (redis_url_parse(url, &c->url, err, errlen) != 0) {
        free(c);
        return NULL;
    }
    c->loop = loop;
    c->opt = *opts;
    c->host_is_ip = host_is_ip(c->url.host);
    c->rng = (uv_hrtime() ^ (uint64_t)(uintptr_t)c) | 1;
    conn_init(c, &c->cmd, "commands");
    /* The loop may not have run since it was made (start-up can take
     * seconds); a stale loop time would fire the connect timeout early. */
    uv_update_time(loop);
    conn_start_attempt(&c->cmd);
    return c;
}

/* ---- status ---- */

redis_status_t redis_client_status(const redis_client_t *c, char *err, size_t errlen)
{
    const redis_conn_t *conn = &c->cmd;
    redis_status_t s = conn->state == CONN_READY ? REDIS_STATUS_CONNECTED
                       : conn->down              ? REDIS_STATUS_DOWN
                                                 : REDIS_STATUS_CONNECTING;
    if (err && errlen)
        snprintf(err, errlen, "%s", s == REDIS_STATUS_CONNECTED ? "" : conn->last_error);
    return s;
}

int redis_client_connected(const redis_client_t *c)
{
    return c->cmd.state == CONN_READY && c->cmd.ac != NULL && !c->closing;
}

/* ---- commands ---- */

static void on_cmd_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    redis_cmd_t *cmd = privdata;
    redis_conn_t *conn = cmd->conn;
    cmd_unlink(conn, cmd);
    /* With a NULL reply the context is going away; hiredis already refuses
     * new commands on it (DISCONNECTING or FREEING), so the callback below
     * gets -1 if it tries. */
    if (!cmd->done) {
        cmd->done = 1;
        if (r == NULL || ((redisReply *)r)->type == REDIS_REPLY_ERROR)
            counters_redis_error();
        cmd->cb(r ? REDIS_CMD_OK : REDIS_CMD_DISCONNECTED, r, cmd->data);
    }
    free(cmd);
    cmd_timer_arm(conn);
}

/* The connection is shared: commands that switch it into another mode, and
 * whose replies are not one per command, would break every other user. */
static int is_mode_command(const char *name, size_t len)
{
    static const char *const names[] = {"subscribe",    "psubscribe",   "ssubscribe", "unsubscribe",
                                        "punsubscribe", "sunsubscribe", "monitor"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == len && strncasecmp(names[i], name, len) == 0)
            return 1;
    return 0;
}

/* The first argument of a RESP command "*N\r\n$L\r\nNAME\r\n..."; 1 when it
 * is a mode command or unreadable. */
static int formatted_is_mode_command(const char *cmd, size_t len)
{
    const char *p = memchr(cmd, '$', len);
    if (!p)
        return 1;
    char *end;
    long n = strtol(p + 1, &end, 10);
    size_t at = (size_t)(end - cmd) + 2;
    if (n < 0 || at + (size_t)n > len || end[0] != '\r')
        return 1;
    return is_mode_command(end + 2, (size_t)n);
}

static int submit_formatted(redis_client_t *c, redis_reply_cb cb, void *data, const char *buf,
                            size_t len)
{
    redis_conn_t *conn = &c->cmd;
    if (formatted_is_mode_command(buf, len))
        return -1;
    redis_cmd_t *cmd = calloc(1, sizeof *cmd);
    if (!cmd)
        return -1;
    cmd->conn = conn;
    cmd->cb = cb;
    cmd->data = data;
    cmd->sent_ms = mono_ms();
    cmd->seq = ++conn->next_seq;
    cmd->deadline_ms = cmd->sent_ms + (uint64_t)c->opt.command_timeout_ms;
    if (redisAsyncFormattedCommand(conn->ac, on_cmd_reply, cmd, buf, len) != REDIS_OK) {
        free(cmd);
        return -1;
    }
    cmd_append(conn, cmd);
    cmd_timer_arm(conn);
    return 0;
}

int redis_client_command(redis_client_t *c, redis_reply_cb cb, void *data, const char *fmt, ...)
{
    if (!cb || !fmt || !redis_client_connected(c))
        return -1;
    char *buf = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&buf, fmt, ap);
    va_end(ap);
    if (len < 0)
        return -1;
    int rc = submit_formatted(c, cb, data, buf, (size_t)len);
    redisFreeCommand(buf);
    return rc;
}

int redis_client_command_argv(redis_client_t *c, redis_reply_cb cb, void *data, int argc,
                              const char **argv, const size_t *argvlen)
{
    if (!cb || argc < 1 || !argv || !redis_client_connected(c))
        return -1;
    char *buf = NULL;
    int len = redisFormatCommandArgv(&buf, argc, argv, argvlen);
    if (len < 0)
        return -1;
    int rc = submit_formatted(c, cb, data, buf, (size_t)len);
    redisFreeCommand(buf);
    return rc;
}
