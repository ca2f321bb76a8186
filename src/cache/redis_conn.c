/* The Redis client's connection life cycle. The hiredis 0.14 facts this
 * file is built on (read from its async.c):
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
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/adapters/libuv.h>

#include "cache/redis_internal.h"
#include "core/counters.h"
#include "core/log.h"

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
    uint64_t now = redis_mono_ms();
    int was_ready = conn->state == CONN_READY;
    /* A connection that drops right after it came up (maxclients, a server
     * that closes us at once) must not reset the back-off and flap. */
    if (was_ready && now - conn->ready_at_ms >= (uint64_t)c->opt.backoff_max_ms)
        conn->failures = 0;
    conn->failures++;
    uint64_t delay = redis_backoff_ms(c, conn->failures);
    redis_set_text(c, conn->last_error, sizeof conn->last_error, reason);
    conn->state = CONN_WAIT;
    json_t *f = redis_log_fields(conn, conn->last_error);
    if (f)
        json_object_set_new(f, "retry_in_ms", json_integer((json_int_t)delay));
    /* One warning per outage, not one per retry. */
    log_json(conn->down ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN,
             was_ready ? "redis connection lost" : "redis unavailable", f);
    conn->down = 1;
    uv_timer_start(&conn->conn_timer, redis_on_conn_timer, delay, 0);
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
    redis_set_text(conn->client, conn->abort_reason, sizeof conn->abort_reason, reason);
    conn->state = CONN_ABORTING;
    uv_timer_start(&conn->conn_timer, redis_on_conn_timer, 0, 0);
}

static void conn_ready(redis_conn_t *conn)
{
    uv_timer_stop(&conn->conn_timer);
    conn->state = CONN_READY;
    conn->ready_at_ms = redis_mono_ms();
    /* After an outage this is news; a first connect only at debug level. */
    log_json(conn->down ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG, "redis connected",
             redis_log_fields(conn, NULL));
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
    redisEnableKeepAlive(&conn->ac->c);
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

void redis_conn_start_attempt(redis_conn_t *conn)
{
    redis_client_t *c = conn->client;
    conn->state = CONN_RESOLVING;
    uv_timer_start(&conn->conn_timer, redis_on_conn_timer, (uint64_t)c->opt.connect_timeout_ms, 0);
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

void redis_on_conn_timer(uv_timer_t *t)
{
    redis_conn_t *conn = t->data;
    char why[ERR_MAX];
    if (conn->client->closing) {
        conn_close(conn);
        return;
    }
    switch (conn->state) {
    case CONN_WAIT:
        redis_conn_start_attempt(conn);
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

void redis_on_cmd_timer(uv_timer_t *t)
{
    redis_conn_t *conn = t->data;
    redis_client_t *c = conn->client;
    uint64_t now = redis_mono_ms();
    redis_cmd_t *cmd;
    conn->timer_due = 0;
    while (!c->closing && (cmd = conn->first_pending) != NULL && cmd->deadline_ms <= now) {
        conn->first_pending = redis_cmd_of(list_next(&conn->cmds, &cmd->link));
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
    redis_cmd_t *oldest = redis_cmd_of(list_first(&conn->cmds));
    if (conn->state == CONN_READY && oldest &&
        oldest->sent_ms + (uint64_t)c->opt.dead_after_ms <= now) {
        if (conn->suspect_seq != oldest->seq) {
            conn->suspect_seq = oldest->seq;
            uv_timer_start(&conn->cmd_timer, redis_on_cmd_timer, 1, 0);
            return;
        }
        char why[ERR_MAX];
        snprintf(why, sizeof why, "no reply for %d ms", c->opt.dead_after_ms);
        conn_abort(conn, why);
        return;
    }
    redis_cmd_timer_arm(conn);
}
