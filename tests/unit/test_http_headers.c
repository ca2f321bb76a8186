/* Outgoing headers (src/net/http_headers.c) and how the loop's HTTP client
 * uses them: a value with CR, LF or NUL is never sent, whatever built the
 * list, and an oversized reply head is a clear error. A raw server in a
 * thread stands in for a model or tool service. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/http_client.h"
#include "net/http_headers.h"

/* ---- the builder and the check ---- */

static size_t list_len(const struct curl_slist *h)
{
    size_t n = 0;
    for (; h != NULL; h = h->next)
        n++;
    return n;
}

static void test_add_builds_a_line(void **state)
{
    (void)state;
    struct curl_slist *h = NULL;
    assert_int_equal(http_headers_add(&h, "X-Session-Id", "s1", 2), 0);
    assert_int_equal(http_headers_add(&h, "X-Empty", "", 0), 0);
    assert_string_equal(h->data, "X-Session-Id: s1");
    assert_string_equal(h->next->data, "X-Empty: ");
    curl_slist_free_all(h);
}

static void test_add_refuses_cr_lf_nul(void **state)
{
    (void)state;
    struct curl_slist *h = NULL;
    assert_int_equal(http_headers_add(&h, "X-Run-Id", "r", 1), 0);
    const char *bad[] = {"s1\r\nX-Workspace-Id: wb", "s1\nX-Workspace-Id: wb", "s1\rx",
                         "s1\r\n\r\nGET /steal HTTP/1.1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(http_headers_add(&h, "X-Session-Id", bad[i], strlen(bad[i])), -1);
    /* The length is the value's, so a NUL inside is seen, not cut at. */
    assert_int_equal(http_headers_add(&h, "X-Session-Id", "s1\0x", 4), -1);
    assert_int_equal(http_headers_add(&h, "X Bad", "v", 1), -1);
    assert_int_equal(http_headers_add(&h, "X-Bad:", "v", 1), -1);
    assert_int_equal(http_headers_add(&h, "", "v", 1), -1);
    assert_int_equal(list_len(h), 1); /* unchanged by every refusal */
    curl_slist_free_all(h);
}

static void test_check_whatever_built_the_list(void **state)
{
    (void)state;
    char name[64];
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    h = curl_slist_append(h, "X-Empty;");
    assert_int_equal(http_headers_check(h, name, sizeof(name)), 0);
    assert_int_equal(http_headers_check(NULL, name, sizeof(name)), 0);
    struct curl_slist *bad = curl_slist_append(h, "X-Session-Id: s1\r\nX-Workspace-Id: wb");
    assert_int_equal(http_headers_check(bad, name, sizeof(name)), -1);
    assert_string_equal(name, "X-Session-Id");
    curl_slist_free_all(bad);
    h = curl_slist_append(NULL, "X-Tool: ok");
    h = curl_slist_append(h, "X-Key: a\nb");
    assert_int_equal(http_headers_check(h, name, sizeof(name)), -1);
    assert_string_equal(name, "X-Key");
    curl_slist_free_all(h);
    h = curl_slist_append(NULL, "no colon here");
    assert_int_equal(http_headers_check(h, name, sizeof(name)), -1);
    assert_string_equal(name, "?");
    curl_slist_free_all(h);
}

/* ---- a raw server: one connection, a canned reply ---- */

typedef struct raw_srv {
    int fd, port;
    pthread_t thread;
    const char *reply; /* sent after the request head */
    size_t reply_len;
    char got[8192]; /* the request head it read */
    size_t got_len;
} raw_srv_t;

static void raw_listen(raw_srv_t *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 8), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
}

static void *raw_serve(void *arg)
{
    raw_srv_t *s = arg;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    while (s->got_len < sizeof(s->got) - 1 && !memmem(s->got, s->got_len, "\r\n\r\n", 4)) {
        ssize_t n = recv(c, s->got + s->got_len, sizeof(s->got) - 1 - s->got_len, 0);
        if (n <= 0)
            break;
        s->got_len += (size_t)n;
    }
    for (size_t off = 0; off < s->reply_len;) {
        ssize_t n = send(c, s->reply + off, s->reply_len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the client hung up on the reply: expected */
        off += (size_t)n;
    }
    close(c);
    return NULL;
}

/* 1 when a connection waits on the listener (it was never accepted). */
static int raw_pending(raw_srv_t *s)
{
    int fl = fcntl(s->fd, F_GETFL);
    fcntl(s->fd, F_SETFL, fl | O_NONBLOCK);
    int c = accept(s->fd, NULL, NULL);
    if (c >= 0)
        close(c);
    fcntl(s->fd, F_SETFL, fl);
    return c >= 0;
}

/* ---- one call on a loop ---- */

typedef struct rec {
    int done, result;
    char err[512];
} rec_t;

static void on_done(void *ud, http_call_result_t result, long status, const char *err,
                    const char *body, size_t body_len)
{
    rec_t *r = ud;
    (void)status;
    (void)body;
    (void)body_len;
    r->done = 1;
    r->result = result;
    snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
}

static void run_call(int port, struct curl_slist *headers, rec_t *r)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    http_client_t *c = http_client_new(&loop);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/chat/completions", port);
    http_call_opts_t o = {.url = url, .headers = headers, .body = strdup("{}"), .body_len = 2};
    http_call_cbs_t cbs = {.on_done = on_done, .ud = r};
    assert_non_null(http_client_start(c, &o, &cbs));
    /* Generous: a loaded machine; each case ends in well under a second. */
    uint64_t end = uv_hrtime() + 20ull * 1000000000u;
    while (!r->done && uv_hrtime() < end)
        uv_run(&loop, UV_RUN_ONCE);
    http_client_free(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_true(r->done);
}

static void test_injected_header_is_never_sent(void **state)
{
    (void)state;
    raw_srv_t s = {0};
    raw_listen(&s);
    /* Built the old way, by formatting a value from a request into a line. */
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "X-Workspace-Id: wa");
    h = curl_slist_append(h, "X-Session-Id: s1\r\nX-Workspace-Id: wb");
    rec_t r = {0};
    run_call(s.port, h, &r);
    assert_int_equal(r.result, HTTP_CALL_FAILED);
    assert_non_null(strstr(r.err, "X-Session-Id"));
    assert_non_null(strstr(r.err, "CR, LF or NUL"));
    assert_false(raw_pending(&s)); /* no connection was even made */
    close(s.fd);
}

static void test_clean_headers_still_go_out(void **state)
{
    (void)state;
    static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    raw_srv_t s = {.reply = reply, .reply_len = sizeof(reply) - 1};
    raw_listen(&s);
    pthread_create(&s.thread, NULL, raw_serve, &s);
    struct curl_slist *h = NULL;
    assert_int_equal(http_headers_add(&h, "X-Session-Id", "s1", 2), 0);
    rec_t r = {0};
    run_call(s.port, h, &r);
    pthread_join(s.thread, NULL);
    close(s.fd);
    assert_int_equal(r.result, HTTP_CALL_OK);
    s.got[s.got_len] = '\0';
    assert_non_null(strstr(s.got, "\r\nX-Session-Id: s1\r\n"));
}

static void huge_head_case(const char *one_line, size_t total)
{
    char *reply = malloc(total + 256);
    assert_non_null(reply);
    size_t n = (size_t)sprintf(reply, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n");
    while (n < total) {
        if (one_line) { /* one 2 MB header line */
            n += (size_t)sprintf(reply + n, "X-Big: ");
            memset(reply + n, 'a', total - n);
            n = total;
        } else { /* many ordinary ones */
            n += (size_t)sprintf(reply + n, "X-Pad-%zu: %080d\r\n", n, 0);
            continue;
        }
    }
    n += (size_t)sprintf(reply + n, "%s\r\n\r\ndata: {}\n\n", one_line ? "" : "X-End: 1");
    raw_srv_t s = {.reply = reply, .reply_len = n};
    raw_listen(&s);
    pthread_create(&s.thread, NULL, raw_serve, &s);
    rec_t r = {0};
    run_call(s.port, NULL, &r);
    pthread_join(s.thread, NULL);
    close(s.fd);
    free(reply);
    assert_int_equal(r.result, HTTP_CALL_FAILED);
    assert_string_equal(r.err, "response headers too large");
}

static void test_huge_reply_header_is_a_clear_error(void **state)
{
    (void)state;
    huge_head_case("X-Big", 2 * 1024 * 1024);
}

static void test_huge_reply_head_is_a_clear_error(void **state)
{
    (void)state;
    huge_head_case(NULL, 2 * 1024 * 1024);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_builds_a_line),
        cmocka_unit_test(test_add_refuses_cr_lf_nul),
        cmocka_unit_test(test_check_whatever_built_the_list),
        cmocka_unit_test(test_injected_header_is_never_sent),
        cmocka_unit_test(test_clean_headers_still_go_out),
        cmocka_unit_test(test_huge_reply_header_is_a_clear_error),
        cmocka_unit_test(test_huge_reply_head_is_a_clear_error),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
