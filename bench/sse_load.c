/* The streamed-run load client of `make bench`: C connections, each posting
 * POST /agents/{id}/runs (form message=..., stream=true) one run after another
 * until N runs are done, reading the SSE reply as it comes. One thread, epoll,
 * so that 8,000 open streams cost it little. Per run it records the time from the
 * request to the first RunContent event and to the end of the reply; a run counts
 * as ok only when its reply is 200 and ends after RunCompleted.
 *
 *   sse_load -p port -a agent [-t token] [-c conns] [-n runs] [-r conns_per_s]
 *            [-T timeout_s] [-m message]
 *
 * Prints one JSON object: counts, error kinds, runs/s, ttft_ms and run_ms
 * percentiles. Keep-alive: a connection carries its next run when the server
 * keeps it open. -r spreads the connects (a burst of 8,000 SYNs overflows the
 * accept queue, and a retried SYN costs a second). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { S_IDLE, S_CONNECT, S_HEAD, S_BODY };
enum { CH_SIZE, CH_EXT, CH_DATA, CH_CRLF, CH_TRAILER };
enum { E_CONNECT, E_STATUS, E_RUN_ERROR, E_INCOMPLETE, E_TIMEOUT, E_KINDS };
static const char *const error_names[E_KINDS] = {"connect", "status", "run_error", "incomplete",
                                                 "timeout"};

typedef struct slot {
    int fd, state, run;
    unsigned gen;    /* counts closes: a loop reading one connection stops at a new one */
    double t_req;    /* the request went out */
    char head[8192]; /* the reply's head, until its blank line */
    size_t head_len;
    int chunked, server_close;
    long long clen; /* Content-Length, -1 when none */
    int ch_state, line_empty;
    size_t ch_left;
    char line[32]; /* the start of the current SSE line: enough for "event: X" */
    size_t line_len;
    int terminal; /* 1 RunCompleted, 2 RunError or RunCancelled */
} slot;

static struct {
    int port, conns, runs;
    double rate, timeout;
    const char *agent, *token, *message;
} opt = {0, 1, 1, 0, 600, "bench", NULL, "hello"};

static int ep;
static char request[4096];
static size_t request_len;
static int started, finished, ok, inflight, peak_inflight, last_status;
static long long content_events;
static int errors[E_KINDS];
static double *ttft, *run_ms; /* by run, ms; -1 when not reached */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void watch(slot *s, unsigned events, int op)
{
    struct epoll_event ev = {.events = events, .data.ptr = s};
    epoll_ctl(ep, op, s->fd, &ev);
}

static void close_slot(slot *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->state = S_IDLE;
    s->gen++;
}

static void end_run(slot *s, int error)
{
    if (error >= 0)
        errors[error]++;
    else
        ok++;
    run_ms[s->run] = error < 0 ? (now_s() - s->t_req) * 1000 : -1;
    finished++;
    inflight--;
}

/* ---- the reply ---- */

static void on_event_name(slot *s, const char *name)
{
    if (strcmp(name, "RunContent") == 0) {
        content_events++;
        if (ttft[s->run] < 0)
            ttft[s->run] = (now_s() - s->t_req) * 1000;
    } else if (strcmp(name, "RunCompleted") == 0) {
        s->terminal = 1;
    } else if (strcmp(name, "RunError") == 0 || strcmp(name, "RunCancelled") == 0) {
        s->terminal = 2;
    }
}

/* SSE bytes: only "event: <name>" lines matter here. */
static void sse_feed(slot *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\n') {
            if (s->line_len < sizeof s->line - 1)
                s->line[s->line_len++] = p[i];
            continue;
        }
        s->line[s->line_len] = '\0';
        if (strncmp(s->line, "event: ", 7) == 0)
            on_event_name(s, s->line + 7);
        s->line_len = 0;
    }
}

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One byte of chunked framing (not of data); returns 1 at the body's end. */
static int chunk_byte(slot *s, char c)
{
    switch (s->ch_state) {
    case CH_SIZE:
        if (hex(c) >= 0) {
            s->ch_left = s->ch_left * 16 + (size_t)hex(c);
            return 0;
        }
        s->ch_state = CH_EXT;
        /* fall through */
    case CH_EXT:
        if (c == '\n') {
            s->ch_state = s->ch_left ? CH_DATA : CH_TRAILER;
            s->line_empty = 1;
        }
        return 0;
    case CH_CRLF:
        if (c == '\n')
            s->ch_state = CH_SIZE;
        return 0;
    default: /* CH_TRAILER: lines until an empty one */
        if (c == '\n' && s->line_empty)
            return 1;
        s->line_empty = c == '\n' || (c == '\r' && s->line_empty);
        return 0;
    }
}

/* Body bytes; returns 1 when the body is complete. */
static int body_feed(slot *s, const char *p, size_t n)
{
    if (!s->chunked) {
        size_t k = s->clen >= 0 && (long long)n > s->clen ? (size_t)s->clen : n;
        sse_feed(s, p, k);
        if (s->clen >= 0)
            s->clen -= (long long)k;
        return s->clen == 0;
    }
    for (size_t i = 0; i < n;) {
        if (s->ch_state == CH_DATA) {
            size_t k = n - i < s->ch_left ? n - i : s->ch_left;
            sse_feed(s, p + i, k);
            i += k;
            s->ch_left -= k;
            s->ch_state = s->ch_left ? CH_DATA : CH_CRLF;
        } else if (chunk_byte(s, p[i++])) {
            return 1;
        }
    }
    return 0;
}

static const char *find_header(const char *head, const char *name)
{
    const char *p = strcasestr(head, name);
    return p ? p + strlen(name) : NULL;
}

/* The head is complete (a string): status and framing. Returns -1 on a non-200. */
static int parse_head(slot *s)
{
    int status = 0;
    sscanf(s->head, "HTTP/1.%*d %d", &status);
    if (status != 200) {
        last_status = status;
        return -1;
    }
    const char *te = find_header(s->head, "\ntransfer-encoding:");
    const char *cl = find_header(s->head, "\ncontent-length:");
    const char *cn = find_header(s->head, "\nconnection:");
    s->chunked = te != NULL && strncasecmp(te + strspn(te, " "), "chunked", 7) == 0;
    s->clen = !s->chunked && cl ? atoll(cl) : -1;
    s->server_close = (cn && strncasecmp(cn + strspn(cn, " "), "close", 5) == 0) ||
                      strncmp(s->head, "HTTP/1.0", 8) == 0;
    s->ch_state = CH_SIZE;
    s->ch_left = 0;
    return 0;
}

/* ---- runs ---- */

static void start_run(slot *s);

/* The reply ended (body complete, or EOF where that ends it). */
static void reply_done(slot *s)
{
    end_run(s, s->terminal == 1 ? -1 : s->terminal == 2 ? E_RUN_ERROR : E_INCOMPLETE);
    if (s->server_close)
        close_slot(s);
    start_run(s);
}

static void fail(slot *s, int kind)
{
    end_run(s, kind);
    close_slot(s);
    start_run(s);
}

/* Reply bytes, head first; returns 1 when the reply is complete. */
static int reply_feed(slot *s, const char *p, size_t n)
{
    if (s->state == S_BODY)
        return body_feed(s, p, n);
    size_t room = sizeof s->head - 1 - s->head_len, k = n < room ? n : room;
    memcpy(s->head + s->head_len, p, k);
    s->head_len += k;
    s->head[s->head_len] = '\0';
    char *end = strstr(s->head, "\r\n\r\n");
    if (end == NULL)
        return s->head_len == sizeof s->head - 1 ? -1 : 0;
    size_t used = (size_t)(end + 4 - s->head) - (s->head_len - k);
    end[2] = '\0';
    if (parse_head(s) < 0)
        return -1;
    s->state = S_BODY;
    return s->clen == 0 ? 1 : body_feed(s, p + used, n - used);
}

static void send_request(slot *s)
{
    s->t_req = now_s();
    s->head_len = 0;
    s->line_len = 0;
    s->terminal = 0;
    s->state = S_HEAD;
    /* A few hundred bytes into an empty socket buffer: one write does it. */
    if (write(s->fd, request, request_len) != (ssize_t)request_len)
        fail(s, E_CONNECT);
}

static void start_run(slot *s)
{
    if (started >= opt.runs)
        return close_slot(s);
    s->run = started++;
    ttft[s->run] = -1;
    if (++inflight > peak_inflight)
        peak_inflight = inflight;
    if (s->fd >= 0)
        return send_request(s);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)opt.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return fail(s, E_CONNECT);
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->state = S_CONNECT;
    s->t_req = now_s();
    if (connect(s->fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS)
        return fail(s, E_CONNECT);
    watch(s, EPOLLOUT, EPOLL_CTL_ADD);
}

static void on_connected(slot *s)
{
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0)
        return fail(s, E_CONNECT);
    watch(s, EPOLLIN, EPOLL_CTL_MOD);
    send_request(s);
}

static void on_readable(slot *s)
{
    static char buf[65536];
    for (;;) {
        ssize_t n = read(s->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) { /* EOF: the end of a close-delimited body, else a cut reply */
            int whole = s->state == S_BODY && !s->chunked && s->clen < 0;
            s->server_close = 1;
            return whole ? reply_done(s) : fail(s, E_INCOMPLETE);
        }
        int rc = reply_feed(s, buf, (size_t)n);
        if (rc != 0) {
            if (rc < 0)
                return fail(s, E_STATUS);
            unsigned gen = s->gen;
            reply_done(s);
            if (s->gen != gen)
                return; /* closed, or a new connection not yet readable */
        }
    }
}

/* ---- the loop ---- */

/* Past the deadline every run still open is a timeout. */
static void expire(slot *slots)
{
    opt.runs = started; /* no new ones */
    for (int i = 0; i < opt.conns; i++)
        if (slots[i].state != S_IDLE) {
            end_run(&slots[i], E_TIMEOUT);
            close_slot(&slots[i]);
        }
}

static void on_event(struct epoll_event *e)
{
    slot *s = e->data.ptr;
    if (s->state == S_CONNECT)
        on_connected(s);
    else if (s->state != S_IDLE)
        on_readable(s);
}

/* Starts the slots (at opt.rate a second, when set) and runs until every run ended. */
static double drive(slot *slots)
{
    struct epoll_event evs[512];
    double t0 = now_s();
    int next = 0;
    while (finished < opt.runs || next < opt.conns) {
        double t = now_s();
        for (; next < opt.conns && (opt.rate <= 0 || next <= (t - t0) * opt.rate); next++)
            start_run(&slots[next]);
        if (t - t0 > opt.timeout) {
            expire(slots);
            break;
        }
        int n = epoll_wait(ep, evs, 512, next < opt.conns ? 1 : 100);
        for (int i = 0; i < n; i++)
            on_event(&evs[i]);
    }
    return now_s() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* "name":{"p50":..,"p99":..,"max":..} over the values >= 0. */
static void print_pcts(const char *name, const double *v, int n)
{
    double *s = malloc(sizeof *s * (size_t)(n ? n : 1));
    int k = 0;
    for (int i = 0; i < n; i++)
        if (v[i] >= 0)
            s[k++] = v[i];
    qsort(s, (size_t)k, sizeof *s, cmp_double);
    printf("\"%s\":{\"n\":%d", name, k);
    if (k > 0)
        printf(",\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f", s[k / 2], s[(int)(k * 0.9)],
               s[(int)(k * 0.99)], s[k - 1]);
    printf("}");
    free(s);
}

static void report(double elapsed)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                 ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
    int errs = 0;
    printf("{\"runs\":%d,\"ok\":%d,", started, ok);
    for (int i = 0; i < E_KINDS; i++) {
        printf("\"%s\":%d,", error_names[i], errors[i]);
        errs += errors[i];
    }
    printf("\"errors\":%d,\"last_status\":%d,\"content_events\":%lld,\"peak_inflight\":%d,"
           "\"elapsed_s\":%.3f,\"runs_per_s\":%.1f,\"client_cpu_s\":%.3f,",
           errs, last_status, content_events, peak_inflight, elapsed, ok / elapsed, cpu);
    print_pcts("ttft_ms", ttft, started);
    printf(",");
    print_pcts("run_ms", run_ms, started);
    printf("}\n");
}

/* Form fields need no escaping beyond what the bench sends: letters and spaces. */
static void build_request(void)
{
    char body[512], auth[2048] = "";
    int blen = snprintf(body, sizeof body, "message=%s&stream=true", opt.message);
    for (char *p = body; *p; p++)
        *p = *p == ' ' ? '+' : *p;
    if (opt.token)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", opt.token);
    request_len =
        (size_t)snprintf(request, sizeof request,
                         "POST /agents/%s/runs HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s"
                         "Accept: text/event-stream\r\nContent-Type: "
                         "application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s",
                         opt.agent, opt.port, auth, blen, body);
}

static void parse_args(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "p:a:t:c:n:r:T:m:")) != -1) {
        switch (c) {
        case 'p':
            opt.port = atoi(optarg);
            break;
        case 'a':
            opt.agent = optarg;
            break;
        case 't':
            opt.token = optarg;
            break;
        case 'c':
            opt.conns = atoi(optarg);
            break;
        case 'n':
            opt.runs = atoi(optarg);
            break;
        case 'r':
            opt.rate = atof(optarg);
            break;
        case 'T':
            opt.timeout = atof(optarg);
            break;
        case 'm':
            opt.message = optarg;
            break;
        default:
            fprintf(stderr, "usage: sse_load -p port -a agent [-t token] [-c conns] [-n runs] "
                            "[-r conns_per_s] [-T timeout_s] [-m message]\n");
            exit(2);
        }
    }
    if (opt.port <= 0 || opt.conns <= 0 || opt.runs <= 0)
        exit((fprintf(stderr, "sse_load: -p, -c and -n must be positive\n"), 2));
    if (opt.conns > opt.runs)
        opt.conns = opt.runs;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl); /* one fd per connection: as many as allowed */
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    build_request();
    ep = epoll_create1(EPOLL_CLOEXEC);
    slot *slots = calloc((size_t)opt.conns, sizeof *slots);
    ttft = malloc(sizeof *ttft * (size_t)opt.runs);
    run_ms = malloc(sizeof *run_ms * (size_t)opt.runs);
    if (slots == NULL || ttft == NULL || run_ms == NULL)
        return 1;
    for (int i = 0; i < opt.conns; i++)
        slots[i].fd = -1;
    for (int i = 0; i < opt.runs; i++)
        ttft[i] = run_ms[i] = -1;
    report(drive(slots));
    return 0;
}
