/* The per-loop Redis client (src/cache/redis.c) and its URL parser.
 * The URL, dead-port, silent-server and free-path tests need no Redis. The
 * rest run against TEST_REDIS_URL (skipped with a message when unset) and a
 * private redis-server started with tests/support/redis_start.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "cache/redis.h"

/* ---- loop helpers ---- */

#include "test_redis_support.h"

static int is_connected(void *c)
{
    return redis_client_status(c, NULL, 0) == REDIS_STATUS_CONNECTED;
}

static int is_down(void *c)
{
    return redis_client_status(c, NULL, 0) == REDIS_STATUS_DOWN;
}

/* ---- command recorder ---- */

typedef struct rec {
    int calls;
    redis_cmd_status_t status;
    int type;
    long long integer;
    size_t len;
    char str[256];
    redis_client_t *free_me; /* freed from inside the callback */
} rec_t;

static void rec_cb(redis_cmd_status_t st, const redisReply *r, void *data)
{
    rec_t *x = data;
    x->calls++;
    x->status = st;
    if (r) {
        x->type = r->type;
        x->integer = r->integer;
        x->len = r->str ? r->len : 0;
        if (r->str && r->len < sizeof x->str)
            memcpy(x->str, r->str, r->len + 1);
    }
    if (x->free_me)
        redis_client_free(x->free_me);
}

static int rec_called(void *x)
{
    return ((rec_t *)x)->calls > 0;
}

/* ---- sockets ---- */

static int listen_socket(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A port nothing listens on (it was free a moment ago). */
static int dead_port(void)
{
    int port;
    close(listen_socket(&port));
    return port;
}

static redis_client_t *client(uv_loop_t *l, const char *url, const redis_client_options_t *o)
{
    char err[256];
    redis_client_t *c = redis_client_new(l, url, o, err, sizeof err);
    if (!c)
        fail_msg("redis_client_new(%s): %s", url, err);
    return c;
}

/* ---- URL ---- */

static void test_url_defaults(void **state)
{
    (void)state;
    redis_url_t u;
    char err[128];
    assert_int_equal(redis_url_parse("redis://localhost", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "localhost");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_null(u.user);
    assert_null(u.password);
    redis_url_free(&u);
    assert_int_equal(redis_url_parse("REDIS://redis:6380/", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "redis");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 0);
    redis_url_free(&u);
}

static void test_url_password_and_db(void **state)
{
    (void)state;
    redis_url_t u;
    char err[128];
    assert_int_equal(redis_url_parse("redis://:s3cr%40t%2F@10.0.0.7:6390/12", &u, err, sizeof err),
                     0);
    assert_string_equal(u.host, "10.0.0.7");
    assert_int_equal(u.port, 6390);
    assert_int_equal(u.db, 12);
    assert_null(u.user);
    assert_string_equal(u.password, "s3cr@t/");
    redis_url_free(&u);
    assert_null(u.password);
}

static void test_url_user_and_ipv6(void **state)
{
    (void)state;
    redis_url_t u;
    char err[128];
    assert_int_equal(redis_url_parse("redis://default:p%3Aw@[::1]:7000/3", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 7000);
    assert_int_equal(u.db, 3);
    assert_string_equal(u.user, "default");
    assert_string_equal(u.password, "p:w");
    redis_url_free(&u);
    /* The last '@' of the authority ends the user info. */
    assert_int_equal(redis_url_parse("redis://:a@b@host", &u, err, sizeof err), 0);
    assert_string_equal(u.password, "a@b");
    assert_string_equal(u.host, "host");
    redis_url_free(&u);
}

static void test_url_errors(void **state)
{
    (void)state;
    static const char *bad[] = {
        NULL,
        "",
        "http://host",
        "rediss://host",
        "unix:///tmp/redis.sock",
        "redis://",
        "redis://:6379",
        "redis://host:0",
        "redis://host:65536",
        "redis://host:abc",
        "redis://host:-1",
        "redis://host/db",
        "redis://host/1?ssl=true",
        "redis://host#x",
        "redis://user@host",
        "redis://:@host",
        "redis://:%zz@host",
        "redis://:%0@host",
        "redis://:a%00b@host",
        "redis://ho st",
        "redis://[::1",
        "redis://[::1]x",
        "redis://[zz::1]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        redis_url_t u;
        char err[128] = "";
        if (redis_url_parse(bad[i], &u, err, sizeof err) == 0)
            fail_msg("accepted %s", bad[i] ? bad[i] : "(null)");
        assert_true(err[0] != '\0');
        assert_null(u.password);
        assert_null(u.user);
    }
}

static void test_url_errors_hide_password(void **state)
{
    (void)state;
    static const char *bad[] = {"redis://:topsecret@host:99999", "redis://:topsecret@host/x",
                                "redis://u:topsecret@ho st", "rediss://:topsecret@host"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        redis_url_t u;
        char err[256] = "";
        assert_int_equal(redis_url_parse(bad[i], &u, err, sizeof err), -1);
        assert_null(strstr(err, "topsecret"));
    }
}

static void test_url_redacted(void **state)
{
    (void)state;
    redis_url_t u;
    char err[128], out[300];
    assert_int_equal(redis_url_parse("redis://app:hunter22@cache:6380/2", &u, err, sizeof err), 0);
    redis_url_redacted(&u, out, sizeof out);
    assert_string_equal(out, "redis://app:***@cache:6380/2");
    redis_url_free(&u);
    assert_int_equal(redis_url_parse("redis://[::1]", &u, err, sizeof err), 0);
    redis_url_redacted(&u, out, sizeof out);
    assert_string_equal(out, "redis://[::1]:6379/0");
    redis_url_free(&u);
}

/* ---- client without Redis ---- */

static void test_bad_url_and_options(void **state)
{
    (void)state;
    uv_loop_t *l = loop_new();
    char err[128] = "";
    assert_null(redis_client_new(l, "http://x", NULL, err, sizeof err));
    assert_non_null(strstr(err, "redis://"));
    redis_client_options_t o;
    redis_client_options_init(&o);
    o.dead_after_ms = o.command_timeout_ms; /* must exceed the command timeout */
    assert_null(redis_client_new(l, "redis://127.0.0.1", &o, err, sizeof err));
    redis_client_options_init(&o);
    o.backoff_max_ms = o.backoff_min_ms - 1;
    assert_null(redis_client_new(l, "redis://127.0.0.1", &o, err, sizeof err));
    loop_finish(l);
}

static void test_dead_port_goes_down(void **state)
{
    (void)state;
    uv_loop_t *l = loop_new();
    char url[64], err[256];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", dead_port());
    redis_client_t *c = client(l, url, NULL);
    assert_int_equal(redis_client_connected(c), 0);
    assert_int_equal(pump(l, is_down, c, 3000), 0);
    assert_int_equal(redis_client_status(c, err, sizeof err), REDIS_STATUS_DOWN);
    assert_non_null(strstr(err, "refused"));
    assert_string_equal(redis_status_name(REDIS_STATUS_DOWN), "down");
    /* Not connected: refused at once, and the callback never runs. */
    rec_t r = {0};
    assert_int_equal(redis_client_command(c, rec_cb, &r, "PING"), -1);
    /* Retrying with back-off keeps it down, and nothing piles up. */
    pump(l, NULL, NULL, 400);
    assert_int_equal(redis_client_status(c, NULL, 0), REDIS_STATUS_DOWN);
    assert_int_equal(r.calls, 0);
    redis_client_free(c);
    loop_finish(l);
}

static void test_name_lookup_then_connect(void **state)
{
    (void)state;
    uv_loop_t *l = loop_new();
    char url[64], err[256];
    snprintf(url, sizeof url, "redis://localhost:%d/1", dead_port());
    redis_client_t *c = client(l, url, NULL);
    assert_int_equal(redis_client_status(c, NULL, 0), REDIS_STATUS_CONNECTING);
    assert_int_equal(pump(l, is_down, c, 3000), 0);
    redis_client_status(c, err, sizeof err);
    assert_non_null(strstr(err, "connect:"));
    redis_client_free(c);
    loop_finish(l);
}

/* A server that accepts TCP but never answers: only our connect timeout
 * (hiredis 0.14 has none) gets the client out. */
static void test_connect_timeout(void **state)
{
    (void)state;
    int port, fd = listen_socket(&port);
    uv_loop_t *l = loop_new();
    char url[64], err[256];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    redis_client_options_t o;
    redis_client_options_init(&o);
    o.connect_timeout_ms = 150;
    redis_client_t *c = client(l, url, &o);
    assert_int_equal(pump(l, is_down, c, 2000), 0);
    redis_client_status(c, err, sizeof err);
    assert_non_null(strstr(err, "timeout"));
    redis_client_free(c);
    loop_finish(l);
    close(fd);
}

static void test_free_while_connecting(void **state)
{
    (void)state;
    int port, fd = listen_socket(&port);
    uv_loop_t *l = loop_new();
    char url[64];
    /* In the middle of the handshake, of the name lookup, and at once. */
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    redis_client_t *a = client(l, url, NULL);
    pump(l, NULL, NULL, 50);
    snprintf(url, sizeof url, "redis://localhost:%d", port);
    redis_client_t *b = client(l, url, NULL);
    redis_client_t *c = client(l, url, NULL);
    pump(l, NULL, NULL, 1);
    redis_client_free(a);
    redis_client_free(b);
    redis_client_free(c);
    loop_finish(l);
    close(fd);
}

/* Freed just before the poll phase that reports the connect's failure (or
 * the end of the name lookup): the teardown runs on the next iteration and
 * must not touch what those callbacks released. */
typedef struct prep {
    uv_prepare_t handle;
    redis_client_t *client;
} prep_t;

static void free_in_prepare(uv_prepare_t *h)
{
    prep_t *p = h->data;
    if (p->client) {
        redis_client_free(p->client);
        p->client = NULL;
    }
    uv_prepare_stop(h);
    uv_close((uv_handle_t *)h, NULL);
}

static void test_free_before_poll(void **state)
{
    (void)state;
    const char *hosts[] = {"127.0.0.1", "localhost"};
    for (int i = 0; i < 2; i++) {
        uv_loop_t *l = loop_new();
        char url[64];
        snprintf(url, sizeof url, "redis://%s:%d", hosts[i], dead_port());
        prep_t p;
        p.client = client(l, url, NULL);
        p.handle.data = &p;
        uv_prepare_init(l, &p.handle);
        uv_prepare_start(&p.handle, free_in_prepare);
        if (i == 1)
            usleep(100 * 1000); /* the lookup is done before the first poll */
        loop_finish(l);
    }
}

/* ---- with Redis at TEST_REDIS_URL ---- */

static const char *redis_url(void)
{
    return getenv("TEST_REDIS_URL");
}

/* TEST_REDIS_URL with its database replaced. */
static void url_with_db(char *out, size_t outlen, int db)
{
    const char *base = redis_url();
    size_t scheme = strlen("redis://");
    size_t end = scheme + strcspn(base + scheme, "/?#");
    snprintf(out, outlen, "%.*s/%d", (int)end, base, db);
}

static redis_client_t *connected_client(uv_loop_t *l, const char *url,
                                        const redis_client_options_t *o)
{
    redis_client_t *c = client(l, url, o);
    if (pump(l, is_connected, c, 5000) != 0) {
        char err[256];
        redis_client_status(c, err, sizeof err);
        fail_msg("not connected to TEST_REDIS_URL: %s", err);
    }
    return c;
}

static void run_cmd(uv_loop_t *l, rec_t *r, int rc)
{
    assert_int_equal(rc, 0);
    assert_int_equal(r->calls, 0); /* never before the call returns */
    assert_int_equal(pump(l, rec_called, r, 3000), 0);
    assert_int_equal(r->calls, 1);
}

static void unique_key(char *out, size_t n, const char *what)
{
    snprintf(out, n, "agentos:test:%s:%d:%llu", what, (int)getpid(),
             (unsigned long long)uv_hrtime());
}

static void test_round_trip(void **state)
{
    (void)state;
    uv_loop_t *l = loop_new();
    redis_client_t *c = connected_client(l, redis_url(), NULL);
    char key[96], err[64];
    unique_key(key, sizeof key, "rt");
    assert_int_equal(redis_client_status(c, err, sizeof err), REDIS_STATUS_CONNECTED);
    assert_string_equal(err, "");

    rec_t r = {0};
    run_cmd(l, &r, redis_client_command(c, rec_cb, &r, "PING"));
    assert_int_equal(r.status, REDIS_CMD_OK);
    assert_string_equal(r.str, "PONG");

    /* Binary-safe: a value with a NUL in it. */
    const char *set[] = {"SET", key, "a\0b", "PX", "60000"};
    size_t setlen[] = {3, strlen(key), 3, 2, 5};
    memset(&r, 0, sizeof r);
    run_cmd(l, &r, redis_client_command_argv(c, rec_cb, &r, 5, set, setlen));
    assert_int_equal(r.type, REDIS_REPLY_STATUS);
    memset(&r, 0, sizeof r);
    run_cmd(l, &r, redis_client_command(c, rec_cb, &r, "GET %s", key));
    assert_int_equal(r.type, REDIS_REPLY_STRING);
    assert_int_equal(r.len, 3);
    assert_memory_equal(r.str, "a\0b", 3);

    /* A server error is a reply, not a failure. */
    memset(&r, 0, sizeof r);
    run_cmd(l, &r, redis_client_command(c, rec_cb, &r, "NOSUCHCOMMAND"));
    assert_int_equal(r.status, REDIS_CMD_OK);
    assert_int_equal(r.type, REDIS_REPLY_ERROR);

    memset(&r, 0, sizeof r);
    run_cmd(l, &r, redis_client_command(c, rec_cb, &r, "DEL %s", key));
    assert_int_equal(r.integer, 1);
    redis_client_free(c);
    loop_finish(l);
}

static void test_mode_commands_refused(void **state)
{
    (void)state;
    uv_loop_t *l = loop_new();
    redis_client_t *c = connected_client(l, redis_url(), NULL);
    rec_t r = {0};
    const char *sub[] = {"subscribe", "ch"};
    assert_int_equal(redis_client_command(c, rec_cb, &r, "SUBSCRIBE ch"), -1);
    assert_int_equal(redis_client_command(c, rec_cb, &r, "PSUBSCRIBE ch*"), -1);
    assert_int_equal(redis_client_command(c, rec_cb, &r, "MONITOR"), -1);
    assert_int_equal(redis_client_command_argv(c, rec_cb, &r, 2, sub, NULL), -1);
    assert_int_equal(redis_client_command_argv(c, rec_cb, &r, 0, sub, NULL), -1);
    assert_int_equal(redis_client_command(c, NULL, &r, "PING"), -1);
    pump(l, NULL, NULL, 50);
    assert_int_equal(r.calls, 0);
    /* Still usable. */
    run_cmd(l, &r, redis_client_command(c, rec_cb, &r, "PING"));
    assert_int_equal(r.status, REDIS_CMD_OK);
    redis_client_free(c);
    loop_finish(l);
}

/* BLPOP on a missing key holds only this connection, so the test never
 * slows a shared server (DEBUG SLEEP is off by default in Redis 7 and
 * CLIENT PAUSE would stall every client). */
static void test_command_timeout_drops_late_reply(void **state)
{
    (void)state;
    uv_loop_t *l = loop_new();
    redis_client_options_t o;
    redis_client_options_init(&o);
    o.command_timeout_ms = 100;
    redis_client_t *c = connected_client(l, redis_url(), &o);
    char key[96];
    unique_key(key, sizeof key, "blpop");
    rec_t r = {0};
    uint64_t t0 = uv_hrtime();
    run_cmd(l, &r, redis_client_command(c, rec_cb, &r, "BLPOP %s 1", key));
    uint64_t waited_ms = (uv_hrtime() - t0) / 1000000u;
    assert_int_equal(r.status, REDIS_CMD_TIMEOUT);
    assert_true(waited_ms >= 90 && waited_ms < 600);
    /* The nil reply comes after 1 s and must be dropped, not delivered. */
    pump(l, NULL, NULL, 1300);
    assert_int_equal(r.calls, 1);
    assert_int_equal(redis_client_connected(c), 1);
    rec_t p = {0};
    run_cmd(l, &p, redis_client_command(c, rec_cb, &p, "PING"));
    assert_int_equal(p.status, REDIS_CMD_OK);
    assert_string_equal(p.str, "PONG");
    redis_client_free(c);
    loop_finish(l);
}

static int not_connected(void *c)
{
    return !redis_client_connected(c);
}

/* Nothing answered for dead_after_ms: the connection is replaced. */
static void test_dead_connection_replaced(void **state)
{
    (void)state;
    uv_loop_t *l = loop_new();
    redis_client_options_t o;
    redis_client_options_init(&o);
    o.command_timeout_ms = 100;
    o.dead_after_ms = 300;
    redis_client_t *c = connected_client(l, redis_url(), &o);
    rec_t id1 = {0}, id2 = {0}, blpop = {0};
    run_cmd(l, &id1, redis_client_command(c, rec_cb, &id1, "CLIENT ID"));
    char key[96], err[256];
    unique_key(key, sizeof key, "dead");
    assert_int_equal(redis_client_command(c, rec_cb, &blpop, "BLPOP %s 2", key), 0);
    assert_int_equal(pump(l, not_connected, c, 2000), 0);
    assert_int_equal(blpop.calls, 1);
    assert_int_equal(blpop.status, REDIS_CMD_TIMEOUT);
    redis_client_status(c, err, sizeof err);
    assert_non_null(strstr(err, "no reply for 300 ms"));
    assert_int_equal(pump(l, is_connected, c, 3000), 0);
    run_cmd(l, &id2, redis_client_command(c, rec_cb, &id2, "CLIENT ID"));
    assert_true(id2.integer != id1.integer);
    assert_int_equal(blpop.calls, 1);
    redis_client_free(c);
    loop_finish(l);
}

static void test_select_db(void **state)
{
    (void)state;
    uv_loop_t *l = loop_new();
    char u14[512], u15[512], key[96];
    url_with_db(u14, sizeof u14, 14);
    url_with_db(u15, sizeof u15, 15);
    unique_key(key, sizeof key, "db");
    redis_client_t *a = connected_client(l, u14, NULL);
    redis_client_t *b = connected_client(l, u15, NULL);
    rec_t r = {0};
    run_cmd(l, &r, redis_client_command(a, rec_cb, &r, "SET %s x PX 60000", key));
    memset(&r, 0, sizeof r);
    run_cmd(l, &r, redis_client_command(b, rec_cb, &r, "EXISTS %s", key));
    assert_int_equal(r.integer, 0);
    memset(&r, 0, sizeof r);
    run_cmd(l, &r, redis_client_command(a, rec_cb, &r, "DEL %s", key));
    assert_int_equal(r.integer, 1);
    redis_client_free(a);
    redis_client_free(b);
    loop_finish(l);
}

static void test_free_completes_pending(void **state)
{
    (void)state;
    uv_loop_t *l = loop_new();
    redis_client_t *c = connected_client(l, redis_url(), NULL);
    char key[96];
    unique_key(key, sizeof key, "pending");
    rec_t r = {0};
    assert_int_equal(redis_client_command(c, rec_cb, &r, "BLPOP %s 1", key), 0);
    pump(l, NULL, NULL, 20);
    redis_client_free(c);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, REDIS_CMD_CLOSED);
    loop_finish(l);
    assert_int_equal(r.calls, 1);
}

/* Freeing from inside a reply callback, that is inside hiredis. */
static void test_free_inside_callback(void **state)
{
    (void)state;
    uv_loop_t *l = loop_new();
    redis_client_t *c = connected_client(l, redis_url(), NULL);
    rec_t first = {0}, second = {0};
    first.free_me = c;
    assert_int_equal(redis_client_command(c, rec_cb, &first, "PING"), 0);
    assert_int_equal(redis_client_command(c, rec_cb, &second, "PING"), 0);
    assert_int_equal(pump(l, rec_called, &first, 3000), 0);
    assert_int_equal(first.status, REDIS_CMD_OK);
    /* The second one was answered in the same read, or closed by the free. */
    assert_int_equal(second.calls, 1);
    loop_finish(l);
}

/* ... and from inside a timeout, that is inside our own timer callback. */
static void test_free_inside_timeout(void **state)
{
    (void)state;
    uv_loop_t *l = loop_new();
    redis_client_options_t o;
    redis_client_options_init(&o);
    o.command_timeout_ms = 100;
    redis_client_t *c = connected_client(l, redis_url(), &o);
    char key[96];
    unique_key(key, sizeof key, "freetimeout");
    rec_t first = {0}, second = {0};
    first.free_me = c;
    assert_int_equal(redis_client_command(c, rec_cb, &first, "BLPOP %s 1", key), 0);
    assert_int_equal(redis_client_command(c, rec_cb, &second, "PING"), 0);
    assert_int_equal(pump(l, rec_called, &first, 3000), 0);
    assert_int_equal(first.status, REDIS_CMD_TIMEOUT);
    assert_int_equal(second.calls, 1);
    loop_finish(l);
    assert_int_equal(first.calls, 1);
    assert_int_equal(second.calls, 1);
}

/* The loop did not run for longer than every timeout (a stall): a command
 * sent right after gets its full time, and the connection is kept. */
static void test_command_after_loop_stall(void **state)
{
    (void)state;
    uv_loop_t *l = loop_new();
    redis_client_options_t o;
    redis_client_options_init(&o);
    o.command_timeout_ms = 100;
    o.dead_after_ms = 300;
    redis_client_t *c = connected_client(l, redis_url(), &o);
    usleep(500 * 1000);
    rec_t r = {0};
    run_cmd(l, &r, redis_client_command(c, rec_cb, &r, "PING"));
    assert_int_equal(r.status, REDIS_CMD_OK);
    assert_int_equal(redis_client_connected(c), 1);
    redis_client_free(c);
    loop_finish(l);
}

/* ---- with a private redis-server (password changes) ---- */

static int down_or_connected(void *c)
{
    return redis_client_status(c, NULL, 0) != REDIS_STATUS_CONNECTING;
}

static void test_auth(void **state)
{
    server_t *s = *state;
    server_start(s, 0);
    uv_loop_t *l = loop_new();
    char url[256], err[256];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", s->port);
    redis_client_t *admin = connected_client(l, url, NULL);
    rec_t r = {0};
    run_cmd(l, &r, redis_client_command(admin, rec_cb, &r, "CONFIG SET requirepass %s", "pw-0k!"));
    assert_int_equal(r.type, REDIS_REPLY_STATUS);

    /* No password, then a wrong one: down, saying why, never echoing it. */
    redis_client_t *none = client(l, url, NULL);
    assert_int_equal(pump(l, down_or_connected, none, 3000), 0);
    assert_int_equal(redis_client_status(none, err, sizeof err), REDIS_STATUS_DOWN);
    assert_non_null(strstr(err, "NOAUTH"));
    snprintf(url, sizeof url, "redis://:wrong-pass-123@127.0.0.1:%d", s->port);
    redis_client_t *wrong = client(l, url, NULL);
    assert_int_equal(pump(l, down_or_connected, wrong, 3000), 0);
    assert_int_equal(redis_client_status(wrong, err, sizeof err), REDIS_STATUS_DOWN);
    assert_non_null(strstr(err, "handshake"));
    assert_null(strstr(err, "wrong-pass-123"));

    snprintf(url, sizeof url, "redis://:pw-0k%%21@127.0.0.1:%d/2", s->port);
    redis_client_t *good = connected_client(l, url, NULL);

    /* A Redis 6 ACL user: AUTH user password. */
    memset(&r, 0, sizeof r);
    run_cmd(l, &r, redis_client_command(admin, rec_cb, &r, "ACL SETUSER app on >app-pw ~* +@all"));
    redis_client_t *acl = NULL;
    if (r.type != REDIS_REPLY_ERROR) {
        snprintf(url, sizeof url, "redis://app:app-pw@127.0.0.1:%d", s->port);
        acl = connected_client(l, url, NULL);
    }
    redis_client_free(admin);
    redis_client_free(none);
    redis_client_free(wrong);
    redis_client_free(good);
    redis_client_free(acl);
    loop_finish(l);
}

int main(void)
{
    const struct CMUnitTest offline[] = {
        cmocka_unit_test(test_url_defaults),
        cmocka_unit_test(test_url_password_and_db),
        cmocka_unit_test(test_url_user_and_ipv6),
        cmocka_unit_test(test_url_errors),
        cmocka_unit_test(test_url_errors_hide_password),
        cmocka_unit_test(test_url_redacted),
        cmocka_unit_test(test_bad_url_and_options),
        cmocka_unit_test(test_dead_port_goes_down),
        cmocka_unit_test(test_name_lookup_then_connect),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_free_while_connecting),
        cmocka_unit_test(test_free_before_poll),
    };
    const struct CMUnitTest with_redis[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_mode_commands_refused),
        cmocka_unit_test(test_command_timeout_drops_late_reply),
        cmocka_unit_test(test_dead_connection_replaced),
        cmocka_unit_test(test_select_db),
        cmocka_unit_test(test_free_completes_pending),
        cmocka_unit_test(test_free_inside_callback),
        cmocka_unit_test(test_free_inside_timeout),
        cmocka_unit_test(test_command_after_loop_stall),
        cmocka_unit_test_setup_teardown(test_auth, server_setup, server_teardown),
    };
    return RUN_REDIS_GROUPS("redis", offline, with_redis);
}
