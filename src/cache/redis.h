/* One async Redis client per loop thread: hiredis 0.14 and its libuv adapter,
 * plus what hiredis 0.14 lacks: host name lookup off the loop, reconnect with
 * back-off, connect and command timeouts, and a status for /ready.
 *
 * Not thread-safe: create, use and free a client on its loop's thread only.
 * The connection is shared by everything on the loop, so it carries plain
 * commands only: no (P|S)SUBSCRIBE or MONITOR (a subscriber needs its own
 * connection), no MULTI/WATCH (use EVAL for atomic work), no blocking reads. */
#ifndef AGENTOS_CACHE_REDIS_H
#define AGENTOS_CACHE_REDIS_H

#include <stddef.h>

#include <hiredis/hiredis.h>
#include <uv.h>

/* ---- URL: redis://[[user]:password@]host[:port][/db] ---- */

#define REDIS_URL_HOST_MAX 256

typedef struct redis_url {
    char host[REDIS_URL_HOST_MAX]; /* name or IP literal, IPv6 without brackets */
    int port;                      /* 6379 when absent */
    int db;                        /* 0 when absent */
    char *user;                    /* ACL user (Redis 6+), or NULL */
    char *password;                /* NULL when absent; never log it */
} redis_url_t;

/* Parses and percent-decodes a URL. Returns 0, or -1 with a reason in err
 * (the reason never contains the password; the caller names the variable).
 * rediss://, unix sockets and query parameters are refused, not ignored. */
int redis_url_parse(const char *url, redis_url_t *out, char *err, size_t errlen);
/* Frees user and password (the password is wiped first). */
void redis_url_free(redis_url_t *u);
/* "redis://host:port/db" with the user but never the password, for logs. */
void redis_url_redacted(const redis_url_t *u, char *out, size_t outlen);

/* ---- client ---- */

typedef struct redis_client redis_client_t;

typedef struct redis_client_options {
    int command_timeout_ms; /* 250: unanswered by then -> REDIS_CMD_TIMEOUT */
    int connect_timeout_ms; /* 2000: lookup + TCP connect + AUTH/SELECT/PING */
    int backoff_min_ms;     /* 100: first retry delay, doubling per failure */
    int backoff_max_ms;     /* 5000: cap of the retry delay */
    /* 3000: when the oldest command has gone unanswered this long, the
     * connection is presumed dead (a half-open TCP link, a hung server) and
     * replaced. Must exceed command_timeout_ms. */
    int dead_after_ms;
} redis_client_options_t;

void redis_client_options_init(redis_client_options_t *o);

/* Creates the client and starts connecting at once; it keeps retrying
 * until freed. opts NULL means the defaults above. Returns NULL with a reason
 * in err for a bad URL or options (nothing to free then). */
redis_client_t *redis_client_new(uv_loop_t *loop, const char *url,
                                 const redis_client_options_t *opts, char *err, size_t errlen);

/* Completes every pending command with REDIS_CMD_CLOSED (before it returns),
 * then tears the connection down from a timer, never inside a hiredis
 * callback, so it may be called from any callback. The memory goes once the
 * loop has run the close callbacks: keep running the loop after this, until
 * uv_run returns, before uv_loop_close. Call it once. */
void redis_client_free(redis_client_t *c);

/* ---- status, for /ready ---- */

typedef enum {
    REDIS_STATUS_CONNECTING = 0, /* first attempt in progress, nothing failed yet */
    REDIS_STATUS_CONNECTED,      /* commands can be sent */
    REDIS_STATUS_DOWN,           /* failed or lost; retrying with back-off */
} redis_status_t;

/* Copies the last failure ("connect: Connection refused") into err when not
 * connected, "" when connected. err may be NULL. */
redis_status_t redis_client_status(const redis_client_t *c, char *err, size_t errlen);
int redis_client_connected(const redis_client_t *c);
/* "connecting", "connected", "down". */
const char *redis_status_name(redis_status_t s);

/* ---- commands ---- */

typedef enum {
    REDIS_CMD_OK = 0,       /* reply set; it may be a REDIS_REPLY_ERROR from the server */
    REDIS_CMD_TIMEOUT,      /* no reply within command_timeout_ms; a late one is dropped */
    REDIS_CMD_DISCONNECTED, /* the connection dropped before the reply */
    REDIS_CMD_CLOSED,       /* redis_client_free ran first */
} redis_cmd_status_t;

/* reply is non-NULL only with REDIS_CMD_OK and lives only during the call. */
typedef void (*redis_reply_cb)(redis_cmd_status_t status, const redisReply *reply, void *data);

/* Queue a command. Returns 0 when queued: cb then runs exactly once, never
 * before this returns. Returns -1 when not connected, closing, given a
 * connection-mode command (see above), a bad format or out of memory: cb is
 * never called then, so the caller falls back synchronously.
 * The format is hiredis' (%s, %d, %b with pointer and length), not printf's:
 * so no printf format attribute, which would flag %b. */
int redis_client_command(redis_client_t *c, redis_reply_cb cb, void *data, const char *fmt, ...);
/* Binary-safe variant; argvlen NULL means strlen of each argument. */
int redis_client_command_argv(redis_client_t *c, redis_reply_cb cb, void *data, int argc,
                              const char **argv, const size_t *argvlen);

const char *redis_cmd_status_name(redis_cmd_status_t s);

#endif
