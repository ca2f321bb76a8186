/* The per-request path of a real server (http/server.c on one loop thread,
 * over loopback): what a request costs beyond its bytes. Counts, never
 * times: jansson allocations per /health request, socket buffers freed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/app.h"
#include "api/handlers.h"
#include "core/counters.h"
#include "core/log.h"
#include "http/reply.h"
#include "http/server.h"

static atomic_size_t json_allocs;

static void *count_malloc(size_t n)
{
    atomic_fetch_add(&json_allocs, 1);
    return malloc(n);
}

/* The loop thread's count of socket buffers kept for reuse. */
static void buffers_kept(http_request_t *r)
{
    char text[32];
    int n = snprintf(text, sizeof(text), "%zu", h2o_socket_buffer_prototype.allocator.cnt);
    http_reply_copy(r, 200, "text/plain", text, (size_t)n);
}

static app_t app;
static app_loop_t loop_state;
static const http_route_t routes[] = {
    {"GET", "/health", system_health, 0, NULL},
    {"GET", "/kept", buffers_kept, 0, NULL},
};
static http_server_config_t cfg;
static http_server_t *server;

static void *loop_init(int worker, uv_loop_t *loop, void *arg)
{
    (void)worker;
    (void)loop;
    (void)arg;
    loop_state.app = &app;
    return &loop_state;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    for (int i = 0; i < 500; i++) {
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            return fd;
        usleep(2000); /* the loop thread is still starting */
    }
    fail_msg("no listener on port %d", port);
    return -1;
}

/* One keep-alive request; the reply's body goes to body (NUL-terminated). */
static int get(int fd, const char *path, char *body, size_t cap)
{
    char req[256];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
    assert_int_equal(send(fd, req, (size_t)n, 0), n);
    static char in[16384];
    size_t got = 0;
    for (;;) {
        ssize_t r = recv(fd, in + got, sizeof(in) - 1 - got, 0);
        assert_true(r > 0);
        got += (size_t)r;
        in[got] = '\0';
        char *end = strstr(in, "\r\n\r\n");
        char *cl = strcasestr(in, "content-length:");
        if (end == NULL || cl == NULL)
            continue;
        size_t len = strtoul(cl + 15, NULL, 10);
        if (got < (size_t)(end + 4 - in) + len)
            continue;
        assert_true(len < cap);
        memcpy(body, end + 4, len);
        body[len] = '\0';
        return atoi(in + 9);
    }
}

static int start(void **state)
{
    (void)state;
    log_set_level(LOG_LEVEL_WARN);
    json_set_alloc_funcs(count_malloc, free);
    assert_int_equal(counters_init(1), 0);
    snprintf(app.instantiated_at, sizeof(app.instantiated_at), "2026-01-02T03:04:05.678Z");
    system_health_prepare(&app);
    cfg = (http_server_config_t){.host = "127.0.0.1",
                                 .port = free_port(),
                                 .workers = 1,
                                 .max_body_bytes = 1 << 20,
                                 .request_timeout_ms = 10000,
                                 .shutdown_grace_s = 1,
                                 .routes = routes,
                                 .nroutes = sizeof(routes) / sizeof(routes[0]),
                                 .loop_init = loop_init};
    server = http_server_start(&cfg);
    assert_non_null(server);
    return 0;
}

static int stop(void **state)
{
    (void)state;
    http_server_stop(server);
    http_server_wait(server);
    return 0;
}

/* The body is the one jansson wrote per request before, and no request
 * builds it again. */
static void health_builds_no_json(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:s, s:s, s:s}", "status", "ok", "version", AGENTOS_VERSION,
                          "instantiated_at", app.instantiated_at);
    char *want = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int fd = connect_to(cfg.port);
    char body[512];
    assert_int_equal(get(fd, "/health", body, sizeof(body)), 200); /* warm-up */
    atomic_store(&json_allocs, 0);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(get(fd, "/health", body, sizeof(body)), 200);
        assert_string_equal(body, want);
    }
    assert_int_equal(atomic_load(&json_allocs), 0);
    close(fd);
    free(want);
}

/* 64 requests read at once hold 64 input buffers; once answered, every
 * one goes back to the loop's free list (h2o's default kept 16 and
 * freed the rest, which made glibc trim its arena under load). */
static void socket_buffers_are_kept(void **state)
{
    (void)state;
    enum { CONNS = 64 };
    int fds[CONNS];
    char body[64];
    for (int i = 0; i < CONNS; i++) {
        fds[i] = connect_to(cfg.port);
        assert_int_equal(send(fds[i], "GET /health HTTP/1.1\r\n", 22, 0), 22);
    }
    usleep(100000); /* the loop reads every head's first line */
    for (int i = 0; i < CONNS; i++) {
        assert_int_equal(send(fds[i], "Host: t\r\n\r\n", 11, 0), 11);
        char in[1024];
        assert_true(recv(fds[i], in, sizeof(in), 0) > 0);
    }
    int fd = connect_to(cfg.port);
    assert_int_equal(get(fd, "/kept", body, sizeof(body)), 200);
    assert_true(atoi(body) >= CONNS - 1);
    close(fd);
    for (int i = 0; i < CONNS; i++)
        close(fds[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(health_builds_no_json),
        cmocka_unit_test(socket_buffers_are_kept),
    };
    return cmocka_run_group_tests(tests, start, stop);
}
