/* The loop's HTTP client (src/net/http_client.c) against the scripted
 * model server tests/support/mock_model.py, started once for the group as
 * a child process (python3 from PATH; AGENTOS_MOCK_MODEL overrides the
 * script's path). Each test scripts its own key, so steps never mix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "net/http_client.h"

/* ---- the mock model server ---- */

static pid_t mock_pid = -1;
static int mock_out = -1;
static int mock_port;

static void mock_path(char *out, size_t n)
{
    const char *env = getenv("AGENTOS_MOCK_MODEL");
    if (env) {
        snprintf(out, n, "%s", env);
        return;
    }
    /* __FILE__ is .../tests/unit/test_http_client.c (CMake passes full paths). */
    const char *slash = strrchr(__FILE__, '/');
    int dir = slash ? (int)(slash - __FILE__) : 1;
    snprintf(out, n, "%.*s/../support/mock_model.py", dir, slash ? __FILE__ : ".");
}

/* Reads "PORT <n>\n" from the child's stdout, waiting at most 10 s. */
static int read_port(int fd)
{
    char line[64];
    size_t len = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (len < sizeof(line) - 1 && poll(&p, 1, 10000) == 1) {
        if (read(fd, line + len, 1) != 1)
            break;
        if (line[len++] == '\n')
            break;
    }
    line[len] = '\0';
    int port = 0;
    return sscanf(line, "PORT %d", &port) == 1 ? port : -1;
}

static int mock_start(void)
{
    char path[1024];
    int fds[2];
    mock_path(path, sizeof(path));
    if (pipe(fds) != 0)
        return -1;
    mock_pid = fork();
    if (mock_pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execlp("python3", "python3", path, "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    mock_out = fds[0];
    mock_port = mock_pid > 0 ? read_port(mock_out) : -1;
    if (mock_port <= 0)
        fprintf(stderr, "test_http_client: could not start %s\n", path);
    return mock_port > 0 ? 0 : -1;
}

static void mock_stop(void)
{
    if (mock_pid > 0) {
        kill(mock_pid, SIGTERM);
        waitpid(mock_pid, NULL, 0);
    }
    if (mock_out >= 0)
        close(mock_out);
    mock_pid = -1;
    mock_out = -1;
}

/* ---- blocking calls to the mock's control routes (plain curl easy) ---- */

typedef struct buf {
    char *p;
    size_t len;
} buf_t;

static size_t buf_append(buf_t *b, const char *p, size_t len)
{
    char *q = realloc(b->p, b->len + len + 1);
    if (q == NULL)
        return 0;
    memcpy(q + b->len, p, len);
    b->p = q;
    b->len += len;
    b->p[b->len] = '\0';
    return len;
}

static size_t buf_write(char *p, size_t size, size_t n, void *ud)
{
    return buf_append(ud, p, size * n);
}

static char *control(const char *path_query, const char *post_body)
{
    char url[512];
    buf_t b = {0};
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", mock_port, path_query);
    CURL *e = curl_easy_init();
    assert_non_null(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, buf_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    if (post_body)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, post_body);
    long status = 0;
    assert_int_equal(curl_easy_perform(e), CURLE_OK);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 200);
    curl_easy_cleanup(e);
    return b.p;
}

static void script(const char *key, const char *steps_json)
{
    char path[128];
    snprintf(path, sizeof(path), "/_script?key=%s", key);
    free(control(path, steps_json));
}

/* The requests the mock received for key, as a JSON array. */
static json_t *requests(const char *key)
{
    char path[128];
    snprintf(path, sizeof(path), "/_requests?key=%s", key);
    char *text = control(path, NULL);
    json_t *arr = json_loads(text, 0, NULL);
    free(text);
    assert_true(json_is_array(arr));
    return arr;
}

static size_t request_count(const char *key)
{
    json_t *arr = requests(key);
    size_t n = json_array_size(arr);
    json_decref(arr);
    return n;
}

/* ---- loop helpers ---- */

typedef int (*pred_fn)(void *arg);

static void on_guard(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

static void on_guard_closed(uv_handle_t *h)
{
    *(int *)h->data = 1;
}

/* Runs the loop until pred holds (0) or timeout_ms pass (-1); pred NULL
 * runs it for the whole time. The guard timer is unreferenced so that it
 * does not keep the loop alive for loop_dead. */
static int run_until(uv_loop_t *l, pred_fn pred, void *arg, int timeout_ms)
{
    uv_timer_t guard;
    int expired = 0, closed = 0;
    uint64_t end = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
    uv_timer_init(l, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, (uint64_t)timeout_ms, 0);
    uv_unref((uv_handle_t *)&guard);
    while (!(pred && pred(arg)) && !expired && uv_hrtime() < end) {
        if (!uv_loop_alive(l))
            usleep(1000); /* uv_run would return at once */
        uv_run(l, UV_RUN_ONCE);
    }
    guard.data = &closed;
    uv_close((uv_handle_t *)&guard, on_guard_closed);
    while (!closed)
        uv_run(l, UV_RUN_NOWAIT);
    return pred && pred(arg) ? 0 : -1;
}

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/* ---- a recorder for one call ---- */

enum {
    ACT_NONE,
    ACT_CANCEL_SELF,
    ACT_ABORT,
    ACT_FREE_CLIENT,
    ACT_START_OTHER,
    ACT_RESUME_OTHER,
    ACT_RESUME_CANCEL_OTHER,
    ACT_RESUME_FREE,
};

/* PAUSE_ALTERNATE: every other delivery is refused once; PAUSE_FIRST: only
 * the first. A refused delivery is resumed pause_ms later (never when 0). */
enum { PAUSE_NONE, PAUSE_ALTERNATE, PAUSE_FIRST };

typedef struct fx fx_t;

typedef struct rec {
    fx_t *fx;
    http_call_t *call;
    int done, result;
    long status;
    char err[512];
    char body[9000];
    size_t body_len;
    buf_t data;
    int data_calls;
    uint64_t t0, t_done;
    int act;           /* what the first on_data does */
    struct rec *other; /* started by ACT_START_OTHER */
    const char *other_key;
    struct rec *cancel_on_done;
    int free_on_done;
    int pause_mode;
    uint64_t pause_ms;
    uv_timer_t pacer; /* resumes the call; initialised by pace() */
    int pacer_on;
    buf_t held;     /* the refused bytes, to compare with their redelivery */
    int redelivery; /* the next delivery must start with held */
    int pauses, resumes;
} rec_t;

struct fx {
    uv_loop_t loop;
    http_client_t *client;
    rec_t recs[24];
};

typedef struct req {
    const char *key;
    long buffer_size;
    int anthropic;
    int max_retries;
    long stall_s;
    long retry_base_ms;
    long total_ms;
    const char *method;
    const char *path; /* overrides the model path */
    const char *url;  /* overrides everything */
} req_t;

static http_call_t *start(fx_t *fx, rec_t *r, const req_t *q);

static void on_pacer(uv_timer_t *t)
{
    rec_t *r = t->data;
    assert_true(http_call_paused(r->call));
    http_call_resume(r->call);
    r->resumes++;
    /* The held bytes came back inside the resume and were taken. */
    assert_int_equal(r->redelivery, 0);
    if (r->done)
        return; /* ended inside the resume (an abort): the call is gone */
    assert_false(http_call_paused(r->call));
    http_call_resume(r->call); /* not paused: nothing happens */
}

static void pace(fx_t *fx, rec_t *r, int mode, uint64_t pause_ms)
{
    r->pause_mode = mode;
    r->pause_ms = pause_ms;
    uv_timer_init(&fx->loop, &r->pacer);
    r->pacer.data = r;
    r->pacer_on = 1;
}

/* 1 when this delivery is refused (paused). */
static int rec_pause(rec_t *r, const char *p, size_t len)
{
    if (r->redelivery) {
        /* The refused bytes come first, unchanged; more may follow them. */
        assert_true(len >= r->held.len);
        assert_memory_equal(p, r->held.p, r->held.len);
        r->redelivery = 0;
        r->held.len = 0;
        return 0;
    }
    int refuse = r->pause_mode == PAUSE_ALTERNATE
                     ? r->data_calls % 2 == 0
                     : r->pause_mode == PAUSE_FIRST && r->data_calls == 0;
    if (!refuse)
        return 0;
    buf_append(&r->held, p, len);
    r->redelivery = 1;
    r->pauses++;
    if (r->pause_ms)
        uv_timer_start(&r->pacer, on_pacer, r->pause_ms, 0);
    return 1;
}

static void resume_other(rec_t *r, int cancel, int free_client)
{
    assert_true(http_call_paused(r->other->call));
    http_call_resume(r->other->call);
    /* Inside a curl callback: deferred, the held bytes wait. */
    assert_int_equal(r->other->redelivery, 1);
    assert_true(http_call_paused(r->other->call));
    if (cancel)
        http_call_cancel(r->other->call);
    if (free_client) {
        http_client_free(r->fx->client);
        r->fx->client = NULL;
    }
}

static int in_on_data; /* curl must never nest body callbacks */

static int rec_on_data_inner(void *ud, const char *p, size_t len)
{
    rec_t *r = ud;
    assert_int_equal(r->done, 0);
    if (rec_pause(r, p, len))
        return HTTP_DATA_PAUSE;
    buf_append(&r->data, p, len);
    if (r->data_calls++ > 0)
        return 0;
    switch (r->act) {
    case ACT_CANCEL_SELF:
        http_call_cancel(r->call);
        return 0;
    case ACT_ABORT:
        return 1;
    case ACT_FREE_CLIENT:
        http_client_free(r->fx->client);
        r->fx->client = NULL;
        return 0;
    case ACT_START_OTHER: {
        req_t q = {.key = r->other_key};
        assert_non_null(start(r->fx, r->other, &q));
        return 0;
    }
    case ACT_RESUME_OTHER:
    case ACT_RESUME_CANCEL_OTHER:
    case ACT_RESUME_FREE:
        resume_other(r, r->act == ACT_RESUME_CANCEL_OTHER, r->act == ACT_RESUME_FREE);
        return 0;
    }
    return 0;
}

static int rec_on_data(void *ud, const char *p, size_t len)
{
    assert_int_equal(in_on_data, 0);
    in_on_data = 1;
    int rc = rec_on_data_inner(ud, p, len);
    in_on_data = 0;
    return rc;
}

static void rec_on_done(void *ud, http_call_result_t result, long status, const char *err,
                        const char *body, size_t body_len)
{
    rec_t *r = ud;
    r->done++;
    r->result = result;
    r->status = status;
    r->t_done = now_ms();
    snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
    assert_true(body_len < sizeof(r->body));
    if (body)
        memcpy(r->body, body, body_len);
    r->body[body_len] = '\0';
    r->body_len = body_len;
    if (r->cancel_on_done) {
        http_call_cancel(r->cancel_on_done->call);
        r->cancel_on_done->call = NULL;
    }
    if (r->free_on_done) {
        http_client_free(r->fx->client);
        r->fx->client = NULL;
    }
}

static int rec_done(void *arg)
{
    return ((rec_t *)arg)->done > 0;
}

static int all_idle(void *arg)
{
    fx_t *fx = arg;
    return http_client_active(fx->client) == 0;
}

static const char *const OPENAI_BODY =
    "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
static const char *const ANTHROPIC_BODY = "{\"model\":\"m\",\"stream\":true,\"max_tokens\":64,"
                                          "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

static http_call_t *start(fx_t *fx, rec_t *r, const req_t *q)
{
    char url[256], auth[256];
    const char *path = q->path ? q->path : q->anthropic ? "/v1/messages" : "/v1/chat/completions";
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", mock_port, path);
    if (q->anthropic)
        snprintf(auth, sizeof(auth), "x-api-key: %s", q->key);
    else
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", q->key);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    const char *body = q->anthropic ? ANTHROPIC_BODY : OPENAI_BODY;
    http_call_opts_t o = {
        .method = q->method,
        .url = q->url ? q->url : url,
        .headers = h,
        .body = strdup(body),
        .body_len = strlen(body),
        .connect_timeout_ms = 2000,
        .stall_timeout_s = q->stall_s,
        .total_timeout_ms = q->total_ms,
        .max_retries = q->max_retries,
        .retry_base_ms = q->retry_base_ms,
        .buffer_size = q->buffer_size,
    };
    http_call_cbs_t cbs = {.on_data = rec_on_data, .on_done = rec_on_done, .ud = r};
    r->fx = fx;
    r->t0 = now_ms();
    r->call = http_client_start(fx->client, &o, &cbs);
    return r->call;
}

/* ---- fixture ---- */

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    fx->client = http_client_new(&fx->loop);
    assert_non_null(fx->client);
    *state = fx;
    return 0;
}

static int loop_dead(void *arg)
{
    return !uv_loop_alive(arg);
}

/* Every handle of the client must be closed after its free. */
static int teardown(void **state)
{
    fx_t *fx = *state;
    in_on_data = 0; /* a failed assert may have left it set */
    for (size_t i = 0; i < sizeof(fx->recs) / sizeof(fx->recs[0]); i++)
        if (fx->recs[i].pacer_on)
            uv_close((uv_handle_t *)&fx->recs[i].pacer, NULL);
    http_client_free(fx->client);
    assert_int_equal(run_until(&fx->loop, loop_dead, &fx->loop, 5000), 0);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    for (size_t i = 0; i < sizeof(fx->recs) / sizeof(fx->recs[0]); i++) {
        free(fx->recs[i].data.p);
        free(fx->recs[i].held.p);
    }
    free(fx);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return mock_start();
}

static int group_teardown(void **state)
{
    (void)state;
    mock_stop();
    curl_global_cleanup();
    return 0;
}

/* ---- tests ---- */

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void test_openai_stream_delivers_every_byte(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-stream", "[{\"text\":\"hello streamed world\",\"chunks\":4,"
                             "\"usage\":{\"input_tokens\":7,\"output_tokens\":3}}]");
    req_t q = {.key = "sk-test-stream"};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(http_client_active(fx->client), 1);
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    assert_int_equal(r->done, 1);
    assert_int_equal(r->result, HTTP_CALL_OK);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->err, "");
    assert_int_equal(r->body_len, 0);
    assert_int_equal(http_client_active(fx->client), 0);
    /* role chunk, 4 text chunks, finish, usage, [DONE] */
    assert_int_equal(count_of(r->data.p, "data: "), 8);
    assert_non_null(strstr(r->data.p, "\"prompt_tokens\":7"));
    assert_true(strlen(r->data.p) > 0 &&
                strcmp(r->data.p + r->data.len - 14, "data: [DONE]\n\n") == 0);

    /* What the mock received: our body, our key, no Expect header. */
    json_t *reqs = requests("sk-test-stream");
    json_t *one = json_array_get(reqs, 0);
    assert_int_equal(json_array_size(reqs), 1);
    json_t *sent = json_loads(OPENAI_BODY, 0, NULL);
    assert_true(json_equal(json_object_get(one, "body"), sent));
    json_t *hdrs = json_object_get(one, "headers");
    assert_string_equal(json_string_value(json_object_get(hdrs, "authorization")),
                        "Bearer sk-test-stream");
    assert_null(json_object_get(hdrs, "expect"));
    json_decref(sent);
    json_decref(reqs);
}

static void test_anthropic_stream(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-anth", "[{\"text\":\"hi there\",\"tool_calls\":[{\"name\":\"current_time\","
                           "\"arguments\":{\"tz\":\"UTC\"}}]}]");
    req_t q = {.key = "sk-test-anth", .anthropic = 1};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    assert_int_equal(r->result, HTTP_CALL_OK);
    assert_non_null(strstr(r->data.p, "event: message_start"));
    assert_non_null(strstr(r->data.p, "input_json_delta"));
    assert_non_null(strstr(r->data.p, "event: message_stop"));
    json_t *reqs = requests("sk-test-anth");
    json_t *hdrs = json_object_get(json_array_get(reqs, 0), "headers");
    assert_string_equal(json_string_value(json_object_get(hdrs, "x-api-key")), "sk-test-anth");
    json_decref(reqs);
}

static void test_retry_after_429_then_success(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-429", "[{\"status\":429,\"retry_after\":1},{\"text\":\"second attempt\"}]");
    req_t q = {.key = "sk-test-429", .max_retries = 3, .retry_base_ms = 10};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    assert_int_equal(r->result, HTTP_CALL_OK);
    assert_int_equal(r->status, 200);
    uint64_t took = r->t_done - r->t0;
    /* Retry-After (1 s) beat the 10 ms back-off. */
    assert_true(took >= 950);
    assert_true(took < 2500);
    assert_non_null(strstr(r->data.p, "\"second\""));
    assert_non_null(strstr(r->data.p, "\" attempt\""));
    assert_null(strstr(r->data.p, "rate_limit"));
    assert_int_equal(request_count("sk-test-429"), 2);
}

static void test_retry_after_ms_header(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-rams", "[{\"status\":503,\"headers\":{\"retry-after-ms\":\"300\"}},"
                           "{\"text\":\"fine\"}]");
    /* The back-off alone would wait at least 1 s. */
    req_t q = {.key = "sk-test-rams", .max_retries = 1, .retry_base_ms = 2000};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    assert_int_equal(r->result, HTTP_CALL_OK);
    assert_true(r->t_done - r->t0 >= 290);
    assert_true(r->t_done - r->t0 < 950);
}

static void test_500_exhausts_retries(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-500", "[{\"status\":500},{\"status\":500},{\"status\":500},{\"text\":\"no\"}]");
    req_t q = {.key = "sk-test-500", .max_retries = 2, .retry_base_ms = 10};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    assert_int_equal(r->done, 1);
    assert_int_equal(r->result, HTTP_CALL_HTTP_ERROR);
    assert_int_equal(r->status, 500);
    assert_string_equal(r->err, "HTTP 500");
    assert_non_null(strstr(r->body, "mock error 500"));
    assert_int_equal(r->body_len, strlen(r->body));
    assert_int_equal(r->data.len, 0);
    assert_int_equal(request_count("sk-test-500"), 3);
}

static void test_400_is_not_retried(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-400", "[{\"status\":400,\"message\":\"bad field\"}]");
    req_t q = {.key = "sk-test-400", .max_retries = 3, .retry_base_ms = 10};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    assert_int_equal(r->result, HTTP_CALL_HTTP_ERROR);
    assert_int_equal(r->status, 400);
    assert_non_null(strstr(r->body, "bad field"));
    assert_int_equal(request_count("sk-test-400"), 1);
}

static void test_error_body_is_capped(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    size_t n = 20000;
    char *steps = malloc(n + 64);
    int off = sprintf(steps, "[{\"status\":404,\"error_body\":\"");
    memset(steps + off, 'x', n);
    strcpy(steps + off + n, "\"}]");
    script("sk-test-big", steps);
    free(steps);
    req_t q = {.key = "sk-test-big"};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    assert_int_equal(r->result, HTTP_CALL_HTTP_ERROR);
    assert_int_equal(r->status, 404);
    assert_int_equal(r->body_len, 8192);
}

static void test_stall_fails(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-stall", "[{\"text\":\"one two three four five six seven eight nine\","
                            "\"stall_after_bytes\":100,\"stall_seconds\":30}]");
    req_t q = {.key = "sk-test-stall", .stall_s = 1, .max_retries = 2, .retry_base_ms = 10};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    assert_int_equal(r->result, HTTP_CALL_FAILED);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->data.len, 100);
    assert_true(r->err[0] != '\0');
    assert_true(r->t_done - r->t0 >= 1000);
    assert_true(r->t_done - r->t0 < 2500);
    assert_int_equal(request_count("sk-test-stall"), 1);
}

static void test_silent_server_times_out_then_retries(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-silent", "[{\"delay_first_byte_ms\":4000},{\"text\":\"after the timeout\"}]");
    req_t q = {.key = "sk-test-silent", .stall_s = 1, .max_retries = 1, .retry_base_ms = 10};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 8000), 0);
    assert_int_equal(r->result, HTTP_CALL_OK);
    if (!strstr(r->data.p, "\" timeout\""))
        fail_msg("data: %s", r->data.p);
    assert_true(r->t_done - r->t0 >= 1000);
    assert_true(r->t_done - r->t0 < 3500);
    assert_int_equal(request_count("sk-test-silent"), 2);
}

static void test_total_timeout_ends_retries(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-total", "[{\"delay_first_byte_ms\":3000},{\"delay_first_byte_ms\":3000}]");
    req_t q = {.key = "sk-test-total", .total_ms = 500, .max_retries = 3, .retry_base_ms = 10};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    assert_int_equal(r->result, HTTP_CALL_FAILED);
    assert_int_equal(r->status, 0);
    assert_true(r->t_done - r->t0 >= 450);
    assert_true(r->t_done - r->t0 < 1500);
}

static void test_drop_mid_stream_is_not_retried(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-drop", "[{\"text\":\"a fairly long answer that will be cut short\","
                           "\"chunks\":10,\"drop_after_bytes\":150},{\"text\":\"never\"}]");
    req_t q = {.key = "sk-test-drop", .max_retries = 3, .retry_base_ms = 10};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    assert_int_equal(r->result, HTTP_CALL_FAILED);
    assert_int_equal(r->data.len, 150);
    assert_null(strstr(r->data.p, "never"));
    assert_int_equal(request_count("sk-test-drop"), 1);
}

static void test_reset_mid_stream_fails(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-rst", "[{\"text\":\"cut by a reset\",\"chunks\":5,\"drop_after_bytes\":120,"
                          "\"drop_mode\":\"reset\"}]");
    req_t q = {.key = "sk-test-rst", .max_retries = 3, .retry_base_ms = 10};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    assert_int_equal(r->result, HTTP_CALL_FAILED);
    assert_true(r->data.len <= 120);
    assert_int_equal(request_count("sk-test-rst"), 1);
}

/* A port bound but not listening: connects are refused while we hold it. */
static int refusing_port(int *fd)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(*fd >= 0);
    assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(*fd, (struct sockaddr *)&a, &alen), 0);
    return ntohs(a.sin_port);
}

/* A retry after a transfer with a small receive buffer (what a paced
 * model stream uses): curl 7.88 refuses to set CURLOPT_BUFFERSIZE again on
 * a reset handle, so each attempt needs a fresh one. */
static void test_retry_with_small_buffer(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-smallbuf", "[{\"status\":500},{\"text\":\"second attempt\"}]");
    req_t q = {
        .key = "sk-test-smallbuf", .max_retries = 2, .retry_base_ms = 10, .buffer_size = 1024};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    assert_int_equal(r->result, HTTP_CALL_OK);
    assert_int_equal(request_count("sk-test-smallbuf"), 2);
}

static void test_connect_refused_retried_then_failed(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    int fd;
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/chat/completions", refusing_port(&fd));
    req_t q = {.key = "sk-test-refused", .url = url, .max_retries = 2, .retry_base_ms = 100};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    close(fd);
    assert_int_equal(r->result, HTTP_CALL_FAILED);
    assert_int_equal(r->status, 0);
    assert_true(r->err[0] != '\0');
    /* Two back-offs with equal jitter: at least 50 + 100 ms. */
    assert_true(r->t_done - r->t0 >= 150);
    assert_true(r->t_done - r->t0 < 2000);
}

static void test_cancel_inside_on_data(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-cancel", "[{\"text\":\"a b c d e f g h i j k l\",\"chunk_delay_ms\":50}]");
    r->act = ACT_CANCEL_SELF;
    req_t q = {.key = "sk-test-cancel"};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, all_idle, fx, 5000), 0);
    assert_int_equal(r->data_calls, 1);
    /* Nothing more arrives, and on_done never comes. */
    run_until(&fx->loop, NULL, NULL, 300);
    assert_int_equal(r->data_calls, 1);
    assert_int_equal(r->done, 0);
}

static void test_abort_from_on_data(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-abort", "[{\"text\":\"a b c d e f\",\"chunk_delay_ms\":20}]");
    r->act = ACT_ABORT;
    req_t q = {.key = "sk-test-abort", .max_retries = 3};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    assert_int_equal(r->done, 1);
    assert_int_equal(r->result, HTTP_CALL_ABORTED);
    assert_int_equal(r->data_calls, 1);
    assert_int_equal(request_count("sk-test-abort"), 1);
}

static void test_cancel_from_another_on_done(void **state)
{
    fx_t *fx = *state;
    rec_t *fast = &fx->recs[0], *slow = &fx->recs[1];
    script("sk-test-fast", "[{\"text\":\"quick\"}]");
    script("sk-test-slow", "[{\"text\":\"a b c d e f g h i j\",\"chunk_delay_ms\":100}]");
    fast->cancel_on_done = slow;
    req_t qs = {.key = "sk-test-slow"}, qf = {.key = "sk-test-fast"};
    assert_non_null(start(fx, slow, &qs));
    assert_non_null(start(fx, fast, &qf));
    assert_int_equal(run_until(&fx->loop, all_idle, fx, 5000), 0);
    assert_int_equal(fast->done, 1);
    assert_int_equal(fast->result, HTTP_CALL_OK);
    run_until(&fx->loop, NULL, NULL, 300);
    assert_int_equal(slow->done, 0);
}

static void test_cancel_while_waiting_to_retry(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-wait", "[{\"status\":503,\"retry_after\":1},{\"text\":\"too late\"}]");
    req_t q = {.key = "sk-test-wait", .max_retries = 2};
    assert_non_null(start(fx, r, &q));
    run_until(&fx->loop, NULL, NULL, 500);
    assert_int_equal(r->done, 0);
    http_call_cancel(r->call);
    assert_int_equal(http_client_active(fx->client), 0);
    run_until(&fx->loop, NULL, NULL, 1000);
    assert_int_equal(r->done, 0);
    assert_int_equal(request_count("sk-test-wait"), 1);
}

static void test_start_from_inside_on_data(void **state)
{
    fx_t *fx = *state;
    rec_t *a = &fx->recs[0], *b = &fx->recs[1];
    script("sk-test-first", "[{\"text\":\"first call\"}]");
    script("sk-test-second", "[{\"text\":\"second call\"}]");
    a->act = ACT_START_OTHER;
    a->other = b;
    a->other_key = "sk-test-second";
    req_t q = {.key = "sk-test-first"};
    assert_non_null(start(fx, a, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, b, 5000), 0);
    assert_int_equal(run_until(&fx->loop, rec_done, a, 5000), 0);
    assert_int_equal(a->result, HTTP_CALL_OK);
    assert_int_equal(b->result, HTTP_CALL_OK);
    assert_non_null(strstr(b->data.p, "\" call\""));
}

static int all_done(void *arg)
{
    fx_t *fx = arg;
    for (int i = 0; i < 20; i++)
        if (!fx->recs[i].done)
            return 0;
    return 1;
}

static void test_twenty_concurrent_calls(void **state)
{
    fx_t *fx = *state;
    char steps[4096] = "[";
    for (int i = 0; i < 20; i++)
        strcat(steps, i ? ",{\"text\":\"w x y z\",\"chunk_delay_ms\":100}"
                        : "{\"text\":\"w x y z\",\"chunk_delay_ms\":100}");
    strcat(steps, "]");
    script("sk-test-many", steps);
    req_t q = {.key = "sk-test-many"};
    uint64_t t0 = now_ms();
    for (int i = 0; i < 20; i++)
        assert_non_null(start(fx, &fx->recs[i], &q));
    assert_int_equal(http_client_active(fx->client), 20);
    assert_int_equal(run_until(&fx->loop, all_done, fx, 10000), 0);
    /* 8 events 100 ms apart: about 0.7 s each, so they overlapped. */
    assert_true(now_ms() - t0 < 3000);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(fx->recs[i].done, 1);
        assert_int_equal(fx->recs[i].result, HTTP_CALL_OK);
        assert_non_null(strstr(fx->recs[i].data.p, "data: [DONE]"));
    }
    assert_int_equal(http_client_active(fx->client), 0);
}

static int any_data(void *arg)
{
    fx_t *fx = arg;
    for (int i = 0; i < 5; i++)
        if (fx->recs[i].data_calls > 0)
            return 1;
    return 0;
}

static void test_free_with_calls_in_flight(void **state)
{
    fx_t *fx = *state;
    const char *slow = "{\"text\":\"a b c d e f\",\"chunk_delay_ms\":100}";
    char steps[512];
    snprintf(steps, sizeof(steps), "[%s,%s,%s,%s,{\"status\":503,\"retry_after\":1}]", slow, slow,
             slow, slow);
    script("sk-test-free", steps);
    req_t q = {.key = "sk-test-free", .max_retries = 2};
    for (int i = 0; i < 5; i++)
        assert_non_null(start(fx, &fx->recs[i], &q));
    assert_int_equal(run_until(&fx->loop, any_data, fx, 5000), 0);
    http_client_free(fx->client);
    fx->client = NULL;
    assert_int_equal(run_until(&fx->loop, loop_dead, &fx->loop, 5000), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(fx->recs[i].done, 0);
}

static void test_free_from_inside_on_data(void **state)
{
    fx_t *fx = *state;
    script("sk-test-freecb", "[{\"text\":\"a b c d\",\"chunk_delay_ms\":50},"
                             "{\"text\":\"a b c d\",\"chunk_delay_ms\":50},"
                             "{\"text\":\"a b c d\",\"chunk_delay_ms\":50}]");
    req_t q = {.key = "sk-test-freecb"};
    for (int i = 0; i < 3; i++) {
        fx->recs[i].act = ACT_FREE_CLIENT;
        assert_non_null(start(fx, &fx->recs[i], &q));
    }
    assert_int_equal(run_until(&fx->loop, loop_dead, &fx->loop, 5000), 0);
    assert_null(fx->client);
    for (int i = 0; i < 3; i++)
        assert_int_equal(fx->recs[i].done, 0);
}

static void test_free_from_inside_on_done(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0], *slow = &fx->recs[1];
    script("sk-test-freedone", "[{\"text\":\"done\"}]");
    script("sk-test-freeslow", "[{\"text\":\"a b c d e f\",\"chunk_delay_ms\":200}]");
    req_t qs = {.key = "sk-test-freeslow"}, q = {.key = "sk-test-freedone"};
    assert_non_null(start(fx, slow, &qs));
    assert_non_null(start(fx, r, &q));
    r->free_on_done = 1;
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    assert_null(fx->client);
    assert_int_equal(r->result, HTTP_CALL_OK);
    assert_int_equal(run_until(&fx->loop, loop_dead, &fx->loop, 5000), 0);
    assert_int_equal(slow->done, 0);
}

static void test_get_and_bad_urls(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    req_t q = {.key = "sk-test-get", .method = "GET", .path = "/_requests?key=sk-test-none"};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    assert_int_equal(r->result, HTTP_CALL_OK);
    assert_string_equal(r->data.p, "[]");

    /* Not http(s), or not a URL: refused at once, headers and body freed. */
    const char *bad[] = {"ftp://127.0.0.1/x", "file:///etc/passwd", "not a url"};
    for (size_t i = 0; i < 3; i++) {
        req_t b = {.key = "sk-test-get", .url = bad[i]};
        assert_null(start(fx, &fx->recs[1], &b));
    }
    assert_int_equal(http_client_active(fx->client), 0);
}

/* ---- back-pressure: pause and resume ---- */

/* The stream with every digit run as '#': ids and timestamps differ from
 * one request to the next. */
static char *normalized(const buf_t *b)
{
    char *out = malloc(b->len + 1);
    size_t n = 0;
    assert_non_null(out);
    for (size_t i = 0; i < b->len; i++) {
        int digit = b->p[i] >= '0' && b->p[i] <= '9';
        if (!digit || n == 0 || out[n - 1] != '#')
            out[n++] = digit ? '#' : b->p[i];
    }
    out[n] = '\0';
    return out;
}

static int both_done(void *arg)
{
    rec_t *r = arg;
    return r[0].done && r[1].done;
}

static const char *const PACED_STEP =
    "[{\"text\":\"one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen twenty\",\"chunk_delay_ms\":10}]";

static void test_pause_every_other_chunk(void **state)
{
    fx_t *fx = *state;
    rec_t *ref = &fx->recs[0], *r = &fx->recs[1];
    script("sk-test-pace-ref", PACED_STEP);
    script("sk-test-pace", PACED_STEP);
    pace(fx, r, PAUSE_ALTERNATE, 50);
    req_t qr = {.key = "sk-test-pace-ref"}, q = {.key = "sk-test-pace"};
    assert_non_null(start(fx, ref, &qr));
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, both_done, fx->recs, 10000), 0);
    assert_int_equal(ref->result, HTTP_CALL_OK);
    assert_int_equal(r->result, HTTP_CALL_OK);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->err, "");
    assert_true(r->pauses >= 3);
    assert_int_equal(r->resumes, r->pauses);
    assert_true(r->t_done - r->t0 >= (uint64_t)r->pauses * 50);
    /* Every byte once, in order: the same stream as without pauses. */
    char *want = normalized(&ref->data), *got = normalized(&r->data);
    assert_string_equal(got, want);
    free(want);
    free(got);
    assert_int_equal(count_of(r->data.p, "data: "), 24);
    assert_int_equal(http_client_active(fx->client), 0);
    assert_false(http_call_paused(NULL));
    http_call_resume(NULL);
}

static void test_pause_longer_than_stall_timeout(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-pstall", "[{\"text\":\"a b c d\",\"chunk_delay_ms\":50}]");
    pace(fx, r, PAUSE_FIRST, 2500);
    req_t q = {.key = "sk-test-pstall", .stall_s = 1};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 8000), 0);
    if (r->result != HTTP_CALL_OK)
        fail_msg("result %d: %s", r->result, r->err);
    assert_int_equal(r->pauses, 1);
    assert_int_equal(r->resumes, 1);
    assert_true(r->t_done - r->t0 >= 2500);
    /* role, 4 words, finish, usage, [DONE] */
    assert_int_equal(count_of(r->data.p, "data: "), 8);
    assert_int_equal(request_count("sk-test-pstall"), 1);
}

static void test_total_timeout_applies_while_paused(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-ptotal", "[{\"text\":\"a b c d\"}]");
    pace(fx, r, PAUSE_FIRST, 0);
    req_t q = {.key = "sk-test-ptotal", .total_ms = 800};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    assert_int_equal(r->result, HTTP_CALL_FAILED);
    assert_int_equal(r->status, 200);
    assert_true(r->err[0] != '\0');
    assert_true(r->t_done - r->t0 >= 750);
    assert_true(r->t_done - r->t0 < 2000);
    assert_int_equal(r->data.len, 0);
}

static int first_paused(void *arg)
{
    return http_call_paused(((rec_t *)arg)->call);
}

/* a pauses on its first bytes; b, started then, acts on a from inside
 * its own on_data. */
static void start_paused_and_other(fx_t *fx, const char *key_a, const char *key_b, int act)
{
    rec_t *a = &fx->recs[0], *b = &fx->recs[1];
    script(key_a, "[{\"text\":\"held back\"}]");
    script(key_b, "[{\"text\":\"a b c d e f\",\"chunk_delay_ms\":50}]");
    pace(fx, a, PAUSE_FIRST, 0);
    req_t qa = {.key = key_a}, qb = {.key = key_b};
    assert_non_null(start(fx, a, &qa));
    assert_int_equal(run_until(&fx->loop, first_paused, a, 5000), 0);
    /* Paused: neither the watchdog nor curl end it meanwhile. */
    run_until(&fx->loop, NULL, NULL, 200);
    assert_true(http_call_paused(a->call));
    assert_int_equal(a->data.len, 0);
    b->act = act;
    b->other = a;
    assert_non_null(start(fx, b, &qb));
}

static void test_resume_from_another_on_data(void **state)
{
    fx_t *fx = *state;
    rec_t *a = &fx->recs[0], *b = &fx->recs[1];
    start_paused_and_other(fx, "sk-test-pres-a", "sk-test-pres-b", ACT_RESUME_OTHER);
    assert_int_equal(run_until(&fx->loop, both_done, fx->recs, 5000), 0);
    assert_int_equal(a->result, HTTP_CALL_OK);
    assert_int_equal(b->result, HTTP_CALL_OK);
    assert_int_equal(a->pauses, 1);
    assert_non_null(strstr(a->data.p, "\" back\""));
    assert_non_null(strstr(a->data.p, "data: [DONE]"));
    assert_true(a->t_done >= b->t0);
}

static void test_abort_on_redelivery(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-pabort", "[{\"text\":\"a b c d e f\",\"chunk_delay_ms\":20}]");
    pace(fx, r, PAUSE_FIRST, 50);
    r->act = ACT_ABORT;
    req_t q = {.key = "sk-test-pabort", .max_retries = 2};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, rec_done, r, 5000), 0);
    assert_int_equal(r->done, 1);
    assert_int_equal(r->result, HTTP_CALL_ABORTED);
    assert_int_equal(r->data_calls, 1);
    run_until(&fx->loop, NULL, NULL, 200);
    assert_int_equal(r->done, 1);
    assert_int_equal(r->data_calls, 1);
    assert_int_equal(request_count("sk-test-pabort"), 1);
}

static void test_cancel_while_paused(void **state)
{
    fx_t *fx = *state;
    rec_t *r = &fx->recs[0];
    script("sk-test-pcancel", "[{\"text\":\"a b c d e f\",\"chunk_delay_ms\":20}]");
    pace(fx, r, PAUSE_FIRST, 0);
    req_t q = {.key = "sk-test-pcancel"};
    assert_non_null(start(fx, r, &q));
    assert_int_equal(run_until(&fx->loop, first_paused, r, 5000), 0);
    http_call_cancel(r->call);
    assert_int_equal(http_client_active(fx->client), 0);
    run_until(&fx->loop, NULL, NULL, 300);
    assert_int_equal(r->done, 0);
    assert_int_equal(r->data.len, 0);
}

static void test_resume_then_cancel_inside_on_data(void **state)
{
    fx_t *fx = *state;
    rec_t *a = &fx->recs[0], *b = &fx->recs[1];
    start_paused_and_other(fx, "sk-test-prc-a", "sk-test-prc-b", ACT_RESUME_CANCEL_OTHER);
    assert_int_equal(run_until(&fx->loop, rec_done, b, 5000), 0);
    assert_int_equal(b->result, HTTP_CALL_OK);
    run_until(&fx->loop, NULL, NULL, 200);
    /* The cancel won over the deferred resume: a got nothing, no on_done. */
    assert_int_equal(a->done, 0);
    assert_int_equal(a->data.len, 0);
    assert_int_equal(http_client_active(fx->client), 0);
}

static int two_paused(void *arg)
{
    rec_t *r = arg;
    return http_call_paused(r[0].call) && http_call_paused(r[1].call);
}

static void test_free_while_paused(void **state)
{
    fx_t *fx = *state;
    /* The running call has a queue of its own: which request takes which
     * step of a shared queue is up to the server's threads. */
    script("sk-test-pfree", "[{\"text\":\"a b c d\"},{\"text\":\"a b c d\"}]");
    script("sk-test-pfree2", "[{\"text\":\"a b c d e f g h\",\"chunk_delay_ms\":100}]");
    req_t q = {.key = "sk-test-pfree"}, slow = {.key = "sk-test-pfree2"};
    for (int i = 0; i < 3; i++) {
        if (i < 2)
            pace(fx, &fx->recs[i], PAUSE_FIRST, 0);
        assert_non_null(start(fx, &fx->recs[i], i < 2 ? &q : &slow));
    }
    assert_int_equal(run_until(&fx->loop, two_paused, fx->recs, 5000), 0);
    http_client_free(fx->client);
    fx->client = NULL;
    for (int i = 0; i < 2; i++)
        uv_close((uv_handle_t *)&fx->recs[i].pacer, NULL);
    for (int i = 0; i < 2; i++)
        fx->recs[i].pacer_on = 0;
    assert_int_equal(run_until(&fx->loop, loop_dead, &fx->loop, 5000), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(fx->recs[i].done, 0);
}

static void test_free_with_resume_pending(void **state)
{
    fx_t *fx = *state;
    rec_t *a = &fx->recs[0], *b = &fx->recs[1];
    start_paused_and_other(fx, "sk-test-prf-a", "sk-test-prf-b", ACT_RESUME_FREE);
    uv_close((uv_handle_t *)&a->pacer, NULL);
    a->pacer_on = 0;
    assert_int_equal(run_until(&fx->loop, loop_dead, &fx->loop, 5000), 0);
    assert_null(fx->client);
    assert_int_equal(a->done, 0);
    assert_int_equal(b->done, 0);
    assert_int_equal(a->data.len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_openai_stream_delivers_every_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anthropic_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_429_then_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_with_small_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_ms_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_500_exhausts_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_400_is_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_body_is_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stall_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_server_times_out_then_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_total_timeout_ends_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_mid_stream_is_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_mid_stream_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_refused_retried_then_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_inside_on_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_from_on_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_from_another_on_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_while_waiting_to_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_from_inside_on_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_twenty_concurrent_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_with_calls_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_from_inside_on_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_from_inside_on_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_and_bad_urls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_every_other_chunk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_longer_than_stall_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_total_timeout_applies_while_paused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_from_another_on_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_on_redelivery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_while_paused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_then_cancel_inside_on_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_while_paused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_with_resume_pending, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
