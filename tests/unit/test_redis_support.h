/* A private redis-server for the Redis tests that stop and restart it,
 * through tests/support/redis_start.sh and redis_stop.sh. Header-only, so
 * CMake does not build it as a test of its own; include it after cmocka.
 * Also a loop pump the Redis tests share. */
#ifndef AGENTOS_TEST_REDIS_SUPPORT_H
#define AGENTOS_TEST_REDIS_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

typedef int (*pred_fn)(void *arg);

static uv_loop_t *loop_new(void)
{
    uv_loop_t *l = malloc(sizeof *l);
    assert_non_null(l);
    assert_int_equal(uv_loop_init(l), 0);
    return l;
}

/* Runs the loop until pred holds or timeout_ms pass; pred NULL runs it for
 * the whole time. 0 when pred held. */
static int pump(uv_loop_t *l, pred_fn pred, void *arg, int timeout_ms)
{
    uint64_t end = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        uv_run(l, UV_RUN_NOWAIT);
        if (pred && pred(arg))
            return 0;
        if (uv_hrtime() >= end)
            return pred ? -1 : 0;
        usleep(1000);
    }
}

static int loop_idle(void *arg)
{
    return !uv_loop_alive(arg);
}

/* Every handle and request of the client must be gone after its free. */
static void loop_finish(uv_loop_t *l)
{
    assert_int_equal(pump(l, loop_idle, l, 5000), 0);
    assert_int_equal(uv_loop_close(l), 0);
    free(l);
}

typedef struct server {
    char dir[64];
    int port;
} server_t;

static void support_script(char *out, size_t n, const char *name)
{
    char here[1024];
    snprintf(here, sizeof here, "%s", __FILE__);
    for (int i = 0; i < 2; i++) { /* tests/unit/<this file> -> tests */
        char *slash = strrchr(here, '/');
        if (slash)
            *slash = '\0';
    }
    snprintf(out, n, "%s/support/%s", here, name);
}

static void server_start(server_t *s, int port)
{
    char script[1200], cmd[1400], line[32] = "";
    if (!s->dir[0]) {
        snprintf(s->dir, sizeof s->dir, "/tmp/agentos-redis-XXXXXX");
        assert_non_null(mkdtemp(s->dir));
    }
    support_script(script, sizeof script, "redis_start.sh");
    if (port > 0)
        snprintf(cmd, sizeof cmd, "sh '%s' '%s' %d", script, s->dir, port);
    else
        snprintf(cmd, sizeof cmd, "sh '%s' '%s'", script, s->dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *got = fgets(line, sizeof line, p);
    int rc = pclose(p);
    if (!got || rc != 0)
        fail_msg("%s failed", cmd);
    s->port = atoi(line);
    assert_true(s->port > 0);
}

static void server_stop(server_t *s)
{
    char script[1200], cmd[1400];
    support_script(script, sizeof script, "redis_stop.sh");
    snprintf(cmd, sizeof cmd, "sh '%s' '%s'", script, s->dir);
    assert_int_equal(system(cmd), 0);
}

static int server_setup(void **state)
{
    server_t *s = calloc(1, sizeof *s);
    *state = s;
    return s ? 0 : -1;
}

/* Runs even when the test failed, so no redis-server outlives it. */
static int server_teardown(void **state)
{
    server_t *s = *state;
    if (s->dir[0]) {
        char cmd[128];
        server_stop(s);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
        if (system(cmd) != 0)
            return -1;
    }
    free(s);
    return 0;
}

/* Whether the Redis-backed group runs: TEST_REDIS_URL is set (make test
 * sets it); otherwise says what was skipped. */
static int redis_groups_enabled(size_t n_redis)
{
    const char *url = getenv("TEST_REDIS_URL");
    if (url != NULL && url[0] != '\0')
        return 1;
    printf("SKIPPED %zu Redis-backed tests: TEST_REDIS_URL is not set "
           "(make test sets it; or tests/support/redis_start.sh DIR prints a port)\n",
           n_redis);
    return 0;
}

static int redis_groups_failed __attribute__((unused));

/* Runs the offline group, then the Redis-backed one when enabled. A macro,
 * as cmocka's public runner needs the arrays themselves; label is a string
 * literal. The comma operator keeps the groups in order. */
#define RUN_REDIS_GROUPS(label, offline, with_redis)                                               \
    ((redis_groups_failed =                                                                        \
          cmocka_run_group_tests_name(label " (no server)", offline, NULL, NULL)),                 \
     redis_groups_failed +                                                                         \
         (redis_groups_enabled(sizeof with_redis / sizeof with_redis[0])                           \
              ? cmocka_run_group_tests_name(label " (TEST_REDIS_URL)", with_redis, NULL, NULL)     \
              : 0))

#endif
