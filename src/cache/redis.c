/* The per-loop Redis client: its API, creation and small helpers. How the
 * connection lives is in redis_conn.c, commands in flight in redis_cmd.c. */
#include "cache/redis.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/redis_internal.h"

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
uint64_t redis_mono_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/* Doubling from backoff_min to backoff_max, with equal jitter so that loops
 * and replicas that lost Redis together do not retry in lock step. The
 * first failure waits up to backoff_min. */
uint64_t redis_backoff_ms(redis_client_t *c, unsigned failures)
{
    return backoff_delay_ms(&c->rng, (uint64_t)c->opt.backoff_min_ms,
                            (uint64_t)c->opt.backoff_max_ms, failures > 0 ? failures - 1 : 0);
}

/* Server and socket errors do not echo the password today; make sure a
 * future message that does never reaches a log or /ready. */
void redis_set_text(const redis_client_t *c, char *dst, size_t dstlen, const char *src)
{
    snprintf(dst, dstlen, "%s", src);
    const char *pw = c->url.password;
    size_t n = pw ? strlen(pw) : 0;
    char *hit;
    while (n >= 4 && (hit = strstr(dst, pw)) != NULL)
        memset(hit, '*', n);
}

json_t *redis_log_fields(const redis_conn_t *conn, const char *error)
{
    const redis_client_t *c = conn->client;
    json_t *f = json_pack("{s:s,s:i,s:i,s:s}", "host", c->url.host, "port", c->url.port, "db",
                          c->url.db, "conn", conn->role);
    if (f && error)
        json_object_set_new(f, "error", json_string(error));
    return f;
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
    list_init(&conn->cmds);
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
    backoff_rng_seed(&c->rng, c);
    conn_init(c, &c->cmd, "commands");
    /* The loop may not have run since it was made (start-up can take
     * seconds); a stale loop time would fire the connect timeout early. */
    uv_update_time(loop);
    redis_conn_start_attempt(&c->cmd);
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

/* ---- teardown ---- */

void redis_client_free(redis_client_t *c)
{
    if (!c)
        return;
    redis_conn_t *conn = &c->cmd;
    c->closing = 1;
    conn->state = CONN_CLOSING;
    uv_timer_stop(&conn->cmd_timer);
    redis_cmd_fail_pending(conn, REDIS_CMD_CLOSED);
    uv_timer_start(&conn->conn_timer, redis_on_conn_timer, 0, 0);
}
