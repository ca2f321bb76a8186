/* Per-workspace rate limiting (src/cache/ratelimit.c, ratelimit_local.c).
 * The local counter and the fallbacks need no Redis; the shared limit, the
 * timeout fallback and the reconnect run against TEST_REDIS_URL and a
 * private redis-server (tests/support/redis_start.sh), skipped with a
 * message when TEST_REDIS_URL is unset. */
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

#include "cache/ratelimit.h"
#include "cache/redis.h"
#include "core/timeutil.h"

#define MINUTE_MS 60000

/* ---- loop helpers ---- */

#include "test_redis_support.h"

static int is_connected(void *c)
{
    return redis_client_connected(c);
}

static int is_down(void *c)
{
    return redis_client_status(c, NULL, 0) == REDIS_STATUS_DOWN;
}

static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static redis_client_t *client(uv_loop_t *l, const char *url, const redis_client_options_t *o)
{
    char err[256];
    redis_client_t *c = redis_client_new(l, url, o, err, sizeof err);
    if (!c)
        fail_msg("redis_client_new: %s", err);
    return c;
}

static redis_client_t *connected_client(uv_loop_t *l, const char *url,
                                        const redis_client_options_t *o)
{
    redis_client_t *c = client(l, url, o);
    if (pump(l, is_connected, c, 5000) != 0) {
        char err[256];
        redis_client_status(c, err, sizeof err);
        fail_msg("not connected to %s: %s", url, err);
    }
    return c;
}

static ratelimit_t *limiter(redis_client_t *redis, int limit)
{
    ratelimit_config_t cfg = {.limit = limit};
    ratelimit_t *rl = ratelimit_new(redis, &cfg);
    assert_non_null(rl);
    return rl;
}

/* ---- checks ---- */

typedef struct rl_rec {
    int calls;
    ratelimit_result_t res;
} rl_rec_t;

static void rl_cb(const ratelimit_result_t *res, void *data)
{
    rl_rec_t *r = data;
    r->calls++;
    r->res = *res;
}

static int rl_called(void *r)
{
    return ((rl_rec_t *)r)->calls > 0;
}

/* One check, waited for; returns the ratelimit_check return value. */
static int check(uv_loop_t *l, ratelimit_t *rl, const char *ws, ratelimit_result_t *out)
{
    rl_rec_t r = {0};
    int rc = ratelimit_check(rl, ws, rl_cb, &r, out);
    if (rc == RATELIMIT_PENDING) {
        assert_int_equal(r.calls, 0);
        assert_int_equal(pump(l, rl_called, &r, 3000), 0);
        *out = r.res;
    }
    assert_int_equal(r.calls, rc == RATELIMIT_PENDING ? 1 : 0);
    return rc;
}

static void unique_ws(char *out, size_t n, const char *what)
{
    snprintf(out, n, "ws-%s-%d-%llu", what, (int)getpid(), (unsigned long long)uv_hrtime());
}

/* Counting tests must not straddle a window boundary. */
static void stay_in_window(int needed_ms)
{
    uint64_t now = timeutil_wall_us() / 1000;
    uint64_t left = MINUTE_MS - now % MINUTE_MS;
    if (left < (uint64_t)needed_ms)
        usleep((useconds_t)(left + 50) * 1000);
}

/* ---- the local counter ---- */

#define T0 (100ull * MINUTE_MS + 15000) /* 15 s into a window */

static void test_local_counts_and_denies(void **state)
{
    (void)state;
    ratelimit_local_t *t = ratelimit_local_new(16);
    ratelimit_result_t r;
    for (int i = 0; i < 3; i++) {
        ratelimit_local_hit(t, "ws-a", 3, MINUTE_MS, T0 + (uint64_t)i, &r);
        assert_int_equal(r.allowed, 1);
        assert_int_equal(r.remaining, 2 - i);
        assert_int_equal(r.retry_after_s, 0);
        assert_int_equal(r.degraded, 0);
    }
    ratelimit_local_hit(t, "ws-a", 3, MINUTE_MS, T0 + 10, &r);
    assert_int_equal(r.allowed, 0);
    assert_int_equal(r.remaining, 0);
    assert_int_equal(r.retry_after_s, 45);
    assert_int_equal(r.reset_s, 45);
    /* The last millisecond of the window still says 1 s, never 0. */
    ratelimit_local_hit(t, "ws-a", 3, MINUTE_MS, 101ull * MINUTE_MS - 1, &r);
    assert_int_equal(r.allowed, 0);
    assert_int_equal(r.retry_after_s, 1);
    ratelimit_local_free(t);
}

static void test_local_window_resets(void **state)
{
    (void)state;
    ratelimit_local_t *t = ratelimit_local_new(16);
    ratelimit_result_t r;
    ratelimit_local_hit(t, "ws-a", 1, MINUTE_MS, T0, &r);
    assert_int_equal(r.allowed, 1);
    ratelimit_local_hit(t, "ws-a", 1, MINUTE_MS, T0, &r);
    assert_int_equal(r.allowed, 0);
    ratelimit_local_hit(t, "ws-a", 1, MINUTE_MS, 101ull * MINUTE_MS, &r);
    assert_int_equal(r.allowed, 1);
    assert_int_equal(r.reset_s, 60);
    /* Window 0 is a real window too. */
    ratelimit_local_hit(t, "ws-b", 1, MINUTE_MS, 5, &r);
    assert_int_equal(r.allowed, 1);
    ratelimit_local_hit(t, "ws-b", 1, MINUTE_MS, 6, &r);
    assert_int_equal(r.allowed, 0);
    ratelimit_local_free(t);
}

static void test_local_workspaces_independent(void **state)
{
    (void)state;
    ratelimit_local_t *t = ratelimit_local_new(16);
    ratelimit_result_t r;
    ratelimit_local_hit(t, "ws-a", 1, MINUTE_MS, T0, &r);
    ratelimit_local_hit(t, "ws-a", 1, MINUTE_MS, T0, &r);
    assert_int_equal(r.allowed, 0);
    ratelimit_local_hit(t, "ws-b", 1, MINUTE_MS, T0, &r);
    assert_int_equal(r.allowed, 1);
    assert_int_equal(ratelimit_local_size(t), 2);
    ratelimit_local_free(t);
}

static void test_local_evicts_least_recent(void **state)
{
    (void)state;
    ratelimit_local_t *t = ratelimit_local_new(2);
    ratelimit_result_t r;
    ratelimit_local_hit(t, "a", 3, MINUTE_MS, T0, &r);
    ratelimit_local_hit(t, "a", 3, MINUTE_MS, T0, &r);
    ratelimit_local_hit(t, "b", 3, MINUTE_MS, T0, &r);
    ratelimit_local_hit(t, "a", 3, MINUTE_MS, T0, &r); /* a is the most recent */
    assert_int_equal(r.remaining, 0);
    ratelimit_local_hit(t, "c", 3, MINUTE_MS, T0, &r); /* evicts b */
    assert_int_equal(ratelimit_local_size(t), 2);
    ratelimit_local_hit(t, "a", 3, MINUTE_MS, T0, &r);
    assert_int_equal(r.allowed, 0); /* a kept its count */
    ratelimit_local_hit(t, "b", 3, MINUTE_MS, T0, &r);
    assert_int_equal(r.remaining, 2); /* b starts again */
    ratelimit_local_free(t);
}

static void test_local_bounded(void **state)
{
    (void)state;
    assert_null(ratelimit_local_new(0));
    ratelimit_local_t *t = ratelimit_local_new(100);
    char id[1100];
    memset(id, 'x', 1000);
    ratelimit_result_t r;
    for (int i = 0; i < 10000; i++) {
        snprintf(id + 1000, 100, "%d", i);
        ratelimit_local_hit(t, id, 5, MINUTE_MS, T0, &r);
        assert_int_equal(r.allowed, 1);
        assert_true(ratelimit_local_size(t) <= 100);
    }
    assert_int_equal(ratelimit_local_size(t), 100);
    ratelimit_local_free(t);
}

/* ---- the limiter without Redis ---- */

static void test_disabled_and_no_workspace(void **state)
{
    (void)state;
    ratelimit_t *off = limiter(NULL, 0);
    ratelimit_t *on = limiter(NULL, 1);
    ratelimit_result_t r;
    rl_rec_t rec = {0};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ratelimit_check(off, "ws", rl_cb, &rec, &r), RATELIMIT_DONE);
        assert_int_equal(r.allowed, 1);
        assert_int_equal(r.remaining, -1);
        assert_int_equal(ratelimit_check(on, NULL, rl_cb, &rec, &r), RATELIMIT_DONE);
        assert_int_equal(r.allowed, 1);
        assert_int_equal(ratelimit_check(on, "", rl_cb, &rec, &r), RATELIMIT_DONE);
        assert_int_equal(r.allowed, 1);
    }
    assert_int_equal(rec.calls, 0);
    assert_int_equal(ratelimit_limit(off), 0);
    ratelimit_free(off);
    ratelimit_free(on);
}

static void test_local_only(void **state)
{
    (void)state;
    stay_in_window(1000);
    ratelimit_t *rl = limiter(NULL, 2);
    ratelimit_result_t r;
    rl_rec_t rec = {0};
    assert_int_equal(ratelimit_check(rl, "ws", rl_cb, &rec, &r), RATELIMIT_DONE);
    assert_true(r.allowed && !r.degraded && r.remaining == 1);
    assert_int_equal(ratelimit_check(rl, "ws", rl_cb, &rec, &r), RATELIMIT_DONE);
    assert_true(r.allowed && r.remaining == 0);
    assert_int_equal(ratelimit_check(rl, "ws", rl_cb, &rec, &r), RATELIMIT_DONE);
    assert_int_equal(r.allowed, 0);
    assert_true(r.retry_after_s >= 1 && r.retry_after_s <= 60);
    assert_int_equal(r.degraded, 0); /* single-replica mode is not degraded */
    assert_int_equal(ratelimit_degraded(rl), 0);
    assert_int_equal(rec.calls, 0);
    ratelimit_free(rl);
}

/* REDIS_URL at a dead port: answered at once, locally, flagged degraded,
 * still limiting; both while the first attempt runs and once it failed. */
static void test_dead_redis_degrades(void **state)
{
    (void)state;
    stay_in_window(4000);
    uv_loop_t *l = loop_new();
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", dead_port());
    redis_client_t *c = client(l, url, NULL);
    ratelimit_t *rl = limiter(c, 2);
    ratelimit_result_t r;
    assert_int_equal(check(l, rl, "ws", &r), RATELIMIT_DONE);
    assert_true(r.allowed && r.degraded);
    assert_int_equal(pump(l, is_down, c, 3000), 0);
    assert_int_equal(check(l, rl, "ws", &r), RATELIMIT_DONE);
    assert_true(r.allowed && r.degraded && r.remaining == 0);
    assert_int_equal(check(l, rl, "ws", &r), RATELIMIT_DONE);
    assert_true(!r.allowed && r.degraded && r.retry_after_s >= 1);
    assert_int_equal(ratelimit_degraded(rl), 1);
    ratelimit_free(rl);
    redis_client_free(c);
    loop_finish(l);
}

/* ---- with Redis at TEST_REDIS_URL ---- */

static const char *redis_url(void)
{
    return getenv("TEST_REDIS_URL");
}

typedef struct reply_rec {
    int calls;
    redis_cmd_status_t status;
    long long integer;
} reply_rec_t;

static void reply_cb(redis_cmd_status_t st, const redisReply *r, void *data)
{
    reply_rec_t *x = data;
    x->calls++;
    x->status = st;
    x->integer = r ? r->integer : 0;
}

static int reply_called(void *x)
{
    return ((reply_rec_t *)x)->calls > 0;
}

/* Two loops, as two loop threads or two replicas would be: one count. */
static void test_two_loops_share_limit(void **state)
{
    (void)state;
    stay_in_window(5000);
    uv_loop_t *la = loop_new(), *lb = loop_new();
    redis_client_t *ca = connected_client(la, redis_url(), NULL);
    redis_client_t *cb = connected_client(lb, redis_url(), NULL);
    ratelimit_t *ra = limiter(ca, 3), *rb = limiter(cb, 3);
    char ws[96];
    unique_ws(ws, sizeof ws, "shared");
    ratelimit_result_t r;

    assert_int_equal(check(la, ra, ws, &r), RATELIMIT_PENDING);
    assert_true(r.allowed && !r.degraded && r.remaining == 2);
    assert_int_equal(check(lb, rb, ws, &r), RATELIMIT_PENDING);
    assert_true(r.allowed && !r.degraded && r.remaining == 1);
    assert_int_equal(check(la, ra, ws, &r), RATELIMIT_PENDING);
    assert_true(r.allowed && !r.degraded && r.remaining == 0);
    assert_int_equal(check(lb, rb, ws, &r), RATELIMIT_PENDING);
    assert_true(!r.allowed && !r.degraded);
    assert_true(r.retry_after_s >= 1 && r.retry_after_s <= 60);
    assert_int_equal(check(la, ra, ws, &r), RATELIMIT_PENDING);
    assert_int_equal(r.allowed, 0);

    /* The key names the workspace (as a hash tag) and the window, and it
     * expires with the window. */
    char key[160];
    unsigned long long window = timeutil_wall_us() / 1000 / MINUTE_MS;
    snprintf(key, sizeof key, "agentos:rl:{%s}:%llu", ws, window);
    reply_rec_t pttl = {0};
    assert_int_equal(redis_client_command(ca, reply_cb, &pttl, "PTTL %s", key), 0);
    assert_int_equal(pump(la, reply_called, &pttl, 3000), 0);
    assert_true(pttl.integer > 0 && pttl.integer <= MINUTE_MS);

    ratelimit_free(ra);
    ratelimit_free(rb);
    redis_client_free(ca);
    redis_client_free(cb);
    loop_finish(la);
    loop_finish(lb);
}

/* A Redis that does not answer in time: the request is answered locally
 * once the command times out. */
static void test_timeout_falls_back(void **state)
{
    (void)state;
    uv_loop_t *l = loop_new();
    redis_client_options_t o;
    redis_client_options_init(&o);
    o.command_timeout_ms = 100;
    redis_client_t *c = connected_client(l, redis_url(), &o);
    ratelimit_t *rl = limiter(c, 5);
    char ws[96], key[128];
    unique_ws(ws, sizeof ws, "slow");
    snprintf(key, sizeof key, "agentos:test:%s", ws);
    /* Replies come in order: the check waits behind a 1 s BLPOP. */
    reply_rec_t blpop = {0};
    assert_int_equal(redis_client_command(c, reply_cb, &blpop, "BLPOP %s 1", key), 0);
    ratelimit_result_t r;
    uint64_t t0 = uv_hrtime();
    assert_int_equal(check(l, rl, ws, &r), RATELIMIT_PENDING);
    assert_true((uv_hrtime() - t0) / 1000000u < 600);
    assert_true(r.allowed && r.degraded && r.remaining == 4);
    ratelimit_free(rl);
    redis_client_free(c);
    loop_finish(l);
}

/* Redis answers, but with an error (here a key of another type): local
 * answer, degraded, and the next good answer clears the flag. */
static void test_script_error_falls_back(void **state)
{
    (void)state;
    stay_in_window(5000);
    uv_loop_t *l = loop_new();
    redis_client_t *c = connected_client(l, redis_url(), NULL);
    ratelimit_t *rl = limiter(c, 5);
    char ws[96], key[160];
    unique_ws(ws, sizeof ws, "wrongtype");
    unsigned long long window = timeutil_wall_us() / 1000 / MINUTE_MS;
    snprintf(key, sizeof key, "agentos:rl:{%s}:%llu", ws, window);
    reply_rec_t set = {0};
    assert_int_equal(redis_client_command(c, reply_cb, &set, "SET %s abc PX 60000", key), 0);
    assert_int_equal(pump(l, reply_called, &set, 3000), 0);
    ratelimit_result_t r;
    assert_int_equal(check(l, rl, ws, &r), RATELIMIT_PENDING);
    assert_true(r.allowed && r.degraded && r.remaining == 4);
    assert_int_equal(ratelimit_degraded(rl), 1);
    unique_ws(ws, sizeof ws, "fine");
    assert_int_equal(check(l, rl, ws, &r), RATELIMIT_PENDING);
    assert_true(r.allowed && !r.degraded);
    assert_int_equal(ratelimit_degraded(rl), 0);
    ratelimit_free(rl);
    redis_client_free(c);
    loop_finish(l);
}

/* Checks in flight when things are freed, in both orders: each callback
 * still runs exactly once, and nothing leaks. */
static void test_free_with_checks_in_flight(void **state)
{
    (void)state;
    for (int order = 0; order < 2; order++) {
        uv_loop_t *l = loop_new();
        redis_client_t *c = connected_client(l, redis_url(), NULL);
        ratelimit_t *rl = limiter(c, 5);
        char ws[96];
        unique_ws(ws, sizeof ws, "free");
        rl_rec_t a = {0}, b = {0};
        ratelimit_result_t r;
        assert_int_equal(ratelimit_check(rl, ws, rl_cb, &a, &r), RATELIMIT_PENDING);
        assert_int_equal(ratelimit_check(rl, ws, rl_cb, &b, &r), RATELIMIT_PENDING);
        if (order == 0) {
            ratelimit_free(rl);
            redis_client_free(c);
        } else {
            redis_client_free(c);
            ratelimit_free(rl);
        }
        assert_int_equal(a.calls, 1);
        assert_int_equal(b.calls, 1);
        assert_true(a.res.allowed && a.res.degraded);
        loop_finish(l);
        assert_int_equal(a.calls + b.calls, 2);
    }
}

/* ---- with a private redis-server: stop it, start it again ---- */

static void test_redis_restart(void **state)
{
    server_t *s = *state;
    server_start(s, 0);
    uv_loop_t *l = loop_new();
    char url[64], ws[96], other[96];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", s->port);
    redis_client_t *c = connected_client(l, url, NULL);
    ratelimit_t *rl = limiter(c, 3);
    unique_ws(ws, sizeof ws, "restart");
    unique_ws(other, sizeof other, "outage");
    ratelimit_result_t r;
    stay_in_window(8000);
    assert_int_equal(check(l, rl, ws, &r), RATELIMIT_PENDING);
    assert_true(r.allowed && !r.degraded && r.remaining == 2);

    /* Redis goes away: answers come at once, locally, still limited. */
    server_stop(s);
    assert_int_equal(pump(l, is_down, c, 3000), 0);
    char err[256];
    redis_client_status(c, err, sizeof err);
    assert_true(err[0] != '\0');
    for (int i = 0; i < 3; i++) {
        assert_int_equal(check(l, rl, other, &r), RATELIMIT_DONE);
        assert_true(r.allowed && r.degraded && r.remaining == 2 - i);
    }
    assert_int_equal(check(l, rl, other, &r), RATELIMIT_DONE);
    assert_true(!r.allowed && r.degraded && r.retry_after_s >= 1);

    /* Back on the same port: reconnected within the back-off, and the
     * limiter uses Redis again (a fresh server, so a fresh count). */
    pump(l, NULL, NULL, 300);
    server_start(s, s->port);
    uint64_t t0 = uv_hrtime();
    assert_int_equal(pump(l, is_connected, c, 8000), 0);
    assert_true((uv_hrtime() - t0) / 1000000u < 6000);
    assert_int_equal(redis_client_status(c, err, sizeof err), REDIS_STATUS_CONNECTED);
    assert_int_equal(check(l, rl, ws, &r), RATELIMIT_PENDING);
    assert_true(r.allowed && !r.degraded && r.remaining == 2);

    ratelimit_free(rl);
    redis_client_free(c);
    loop_finish(l);
}

int main(void)
{
    const struct CMUnitTest offline[] = {
        cmocka_unit_test(test_local_counts_and_denies),
        cmocka_unit_test(test_local_window_resets),
        cmocka_unit_test(test_local_workspaces_independent),
        cmocka_unit_test(test_local_evicts_least_recent),
        cmocka_unit_test(test_local_bounded),
        cmocka_unit_test(test_disabled_and_no_workspace),
        cmocka_unit_test(test_local_only),
        cmocka_unit_test(test_dead_redis_degrades),
    };
    const struct CMUnitTest with_redis[] = {
        cmocka_unit_test(test_two_loops_share_limit),
        cmocka_unit_test(test_timeout_falls_back),
        cmocka_unit_test(test_script_error_falls_back),
        cmocka_unit_test(test_free_with_checks_in_flight),
        cmocka_unit_test_setup_teardown(test_redis_restart, server_setup, server_teardown),
    };
    return RUN_REDIS_GROUPS("ratelimit", offline, with_redis);
}
