/* A scripted OpenAI-compatible model server for `make bench`: one thread, epoll, a
 * binary heap of chunk deadlines, so that thousands of streamed completions cost it
 * little and it is never what a run waits on (bench/run prints its CPU share).
 *
 *   model_server [-p port] [-c chunks] [-i interval_ms]
 *
 * POST .../chat/completions with "stream": true gets SSE chat.completion.chunk
 * events: the role and the first content chunk at once, one more content chunk
 * every interval, then the finish chunk, the usage chunk (when stream_options asks)
 * and `data: [DONE]`, chunked, keep-alive. Without stream it answers the whole
 * chat.completion at once. A path /c/<chunks>/<interval_ms>/v1/chat/completions
 * overrides the defaults, so each agent's base_url picks its own script, and a
 * message "bench-script <chunks> <interval_ms>" overrides that (warm-up runs). The
 * first line on stdout is "PORT <n>". */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_MAX (4u << 20)  /* a request larger than this is refused */
#define OUT_MAX (4u << 20) /* a reader this far behind is dropped */
#define EVENTS 512

typedef struct conn {
    int fd;
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_len, out_off;
    int heap_at;       /* index in the deadline heap, -1 when not streaming */
    uint64_t due_ms;   /* when the next content chunk is sent */
    unsigned chunks;   /* content chunks in this answer */
    unsigned left;     /* content chunks still to send */
    unsigned interval; /* ms between content chunks */
    unsigned id;       /* completion id, for the chunks' "id" */
    int usage;         /* the request asked for the usage chunk */
    int close_after;   /* "Connection: close" */
    int closing;       /* close once the output is written */
    int want_out;      /* EPOLLOUT is armed */
} conn;

static int ep;
static conn **conns; /* by fd */
static size_t conns_cap;
static conn **heap; /* min-heap on due_ms */
static size_t heap_len;
static unsigned next_id;
static long created;
static unsigned def_chunks = 5, def_interval;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the deadline heap ---- */

static void heap_set(size_t i, conn *c)
{
    heap[i] = c;
    c->heap_at = (int)i;
}

static void heap_up(size_t i)
{
    conn *c = heap[i];
    while (i > 0 && heap[(i - 1) / 2]->due_ms > c->due_ms) {
        heap_set(i, heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(i, c);
}

static void heap_down(size_t i)
{
    conn *c = heap[i];
    for (;;) {
        size_t k = 2 * i + 1;
        if (k >= heap_len)
            break;
        if (k + 1 < heap_len && heap[k + 1]->due_ms < heap[k]->due_ms)
            k++;
        if (heap[k]->due_ms >= c->due_ms)
            break;
        heap_set(i, heap[k]);
        i = k;
    }
    heap_set(i, c);
}

static void heap_push(conn *c)
{
    heap[heap_len++] = c;
    heap_up(heap_len - 1);
}

static void heap_remove(conn *c)
{
    size_t i = (size_t)c->heap_at;
    conn *last = heap[--heap_len];
    c->heap_at = -1;
    if (i == heap_len)
        return;
    heap_set(i, last);
    heap_up(i);
    heap_down((size_t)last->heap_at);
}

static void conn_close(conn *c)
{
    if (c->heap_at >= 0)
        heap_remove(c);
    conns[c->fd] = NULL;
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

static void arm_out(conn *c, int on)
{
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0u), .data.ptr = c};
    if (c->want_out != on && epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->want_out = on;
}

/* Write what is pending; returns -1 when the connection is gone. */
static int flush_out(conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            arm_out(c, 1);
            return 0;
        }
        if (n <= 0)
            return -1;
        c->out_off += (size_t)n;
    }
    c->out_len = c->out_off = 0;
    arm_out(c, 0);
    return c->closing ? -1 : 0;
}

/* Queue bytes behind what is pending (kept in order), then try to write them. */
static int send_bytes(conn *c, const char *p, size_t n)
{
    if (c->out_len + n > OUT_MAX)
        return -1;
    char *grown = realloc(c->out, c->out_len + n);
    if (grown == NULL)
        return -1;
    c->out = grown;
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return flush_out(c);
}

/* One HTTP chunk holding one SSE event "data: <json>\n\n". */
static int send_event(conn *c, const char *json)
{
    char buf[1024];
    size_t len = strlen(json) + 8;
    int n = snprintf(buf, sizeof buf, "%zx\r\ndata: %s\n\n\r\n", len, json);
    return n > 0 && (size_t)n < sizeof buf ? send_bytes(c, buf, (size_t)n) : -1;
}

/* One chat.completion.chunk: a choice (or none) and a usage member (or none). */
static int send_chunk(conn *c, const char *choice, const char *usage)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"id\":\"chatcmpl-bench-%u\",\"object\":\"chat.completion.chunk\",\"created\":%ld,"
             "\"model\":\"bench\",\"choices\":[%s]%s}",
             c->id, created, choice, usage);
    return send_event(c, json);
}

#define CHOICE(delta, finish) "{\"index\":0,\"delta\":" delta ",\"finish_reason\":" finish "}"

/* ---- the script ---- */

static int handle_input(conn *c);

/* The answer is queued: close after it, when asked to, or take the next request. */
static int answered(conn *c)
{
    if (!c->close_after)
        return handle_input(c); /* a request that came in behind this one */
    c->closing = 1;
    return c->out_len == 0 ? -1 : 0;
}

/* The last content chunk is out: finish, usage, [DONE], the chunked trailer. */
static int finish_stream(conn *c)
{
    static const char done[] = "e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n";
    char usage[128];
    snprintf(usage, sizeof usage,
             ",\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":%u,\"total_tokens\":%u}",
             c->chunks, c->chunks + 10);
    if (send_chunk(c, CHOICE("{}", "\"stop\""), "") < 0 ||
        (c->usage && send_chunk(c, "", usage) < 0) || send_bytes(c, done, sizeof done - 1) < 0)
        return -1;
    return answered(c);
}

/* Send content chunks that are due; re-arm the deadline or finish. */
static int stream_step(conn *c, uint64_t now)
{
    while (c->left > 0 && c->due_ms <= now) {
        if (send_chunk(c, CHOICE("{\"content\":\"tok \"}", "null"), "") < 0)
            return -1;
        c->left--;
        c->due_ms += c->interval;
    }
    if (c->left > 0) {
        heap_push(c);
        return 0;
    }
    return finish_stream(c);
}

static int start_stream(conn *c)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                               "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
    if (send_bytes(c, head, sizeof head - 1) < 0 ||
        send_chunk(c, CHOICE("{\"role\":\"assistant\",\"content\":\"\"}", "null"), "") < 0)
        return -1;
    c->left = c->chunks;
    c->due_ms = now_ms();
    return stream_step(c, c->due_ms);
}

static int send_whole(conn *c)
{
    unsigned chunks = c->chunks;
    size_t cap = 512 + 4 * (size_t)chunks;
    char *body = malloc(cap), head[160];
    if (body == NULL)
        return -1;
    int n = snprintf(body, cap,
                     "{\"id\":\"chatcmpl-bench-%u\",\"object\":\"chat.completion\",\"created\":%ld,"
                     "\"model\":\"bench\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
                     "\"assistant\",\"content\":\"",
                     c->id, created);
    for (unsigned i = 0; i < chunks; i++)
        n += snprintf(body + n, cap - (size_t)n, "tok ");
    n += snprintf(body + n, cap - (size_t)n,
                  "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,"
                  "\"completion_tokens\":%u,\"total_tokens\":%u}}",
                  chunks, chunks + 10);
    int h = snprintf(
        head, sizeof head,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", n);
    int rc = send_bytes(c, head, (size_t)h) < 0 || send_bytes(c, body, (size_t)n) < 0 ? -1 : 0;
    free(body);
    return rc < 0 ? -1 : answered(c);
}

/* ---- requests ---- */

/* A JSON member `"key": true` anywhere in the body (the bench's clients send flat
 * enough JSON for this to be exact). */
static int json_true(const char *body, size_t len, const char *key)
{
    const char *p = memmem(body, len, key, strlen(key)), *end = body + len;
    if (p == NULL)
        return 0;
    p += strlen(key);
    while (p < end && (*p == ' ' || *p == ':'))
        p++;
    return p < end && *p == 't';
}

/* The value of header `name` (lower-case) in head, or NULL. */
static const char *header(const char *head, size_t len, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = head; p && p + nl < head + len;
         p = memchr(p, '\n', (size_t)(head + len - p))) {
        p += (*p == '\n');
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':')
            return p + nl + 1;
    }
    return NULL;
}

static int bad_request(conn *c, const char *status)
{
    char buf[128];
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
    send_bytes(c, buf, (size_t)n);
    return -1;
}

/* Read the script off one request (its head a string), before the input moves on. */
static int parse_request(conn *c, const char *head, size_t head_len, const char *body,
                         size_t body_len)
{
    if (strncmp(head, "POST ", 5) != 0 || memmem(head, head_len, "/chat/completions", 17) == NULL)
        return -1;
    c->chunks = def_chunks;
    c->interval = def_interval;
    sscanf(head, "POST /c/%u/%u/", &c->chunks, &c->interval);
    const char *own = memmem(body, body_len, "bench-script ", 13); /* a user message's own */
    if (own != NULL)
        sscanf(own + 13, "%u %u", &c->chunks, &c->interval);
    const char *conn_hdr = header(head, head_len, "connection");
    c->close_after =
        conn_hdr != NULL && strncasecmp(conn_hdr + strspn(conn_hdr, " "), "close", 5) == 0;
    c->id = ++next_id;
    c->usage = json_true(body, body_len, "\"include_usage\"");
    return json_true(body, body_len, "\"stream\"");
}

/* Take one whole request off the input, if there is one, and answer it. */
static int handle_input(conn *c)
{
    if (c->heap_at >= 0 || c->left > 0)
        return 0; /* still streaming the last answer */
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (end == NULL)
        return c->in_len < 65536 ? 0 : bad_request(c, "431 Request Header Fields Too Large");
    size_t head_len = (size_t)(end - c->in) + 4;
    const char *cl = header(c->in, head_len, "content-length");
    size_t body_len = cl ? strtoul(cl, NULL, 10) : 0;
    if (body_len > IN_MAX)
        return bad_request(c, "413 Content Too Large");
    if (c->in_len < head_len + body_len) {
        const char *ex = header(c->in, head_len, "expect");
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (ex != NULL && c->in_len == head_len) /* once: nothing of the body came yet */
            return send_bytes(c, cont, sizeof cont - 1);
        return 0;
    }
    c->in[head_len - 1] = '\0'; /* the head is a string from here on */
    size_t used = head_len + body_len;
    int stream = parse_request(c, c->in, head_len, c->in + head_len, body_len);
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    if (stream < 0)
        return bad_request(c, "404 Not Found");
    return stream ? start_stream(c) : send_whole(c);
}

static int read_input(conn *c)
{
    for (;;) {
        if (c->in_cap - c->in_len < 16384) {
            size_t cap = c->in_cap ? c->in_cap * 2 : 16384;
            char *grown = cap <= IN_MAX + 65536 ? realloc(c->in, cap) : NULL;
            if (grown == NULL)
                return -1;
            c->in = grown;
            c->in_cap = cap;
        }
        ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return handle_input(c);
        if (n <= 0)
            return -1;
        c->in_len += (size_t)n;
    }
}

static void accept_all(int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        conn *c = calloc(1, sizeof *c);
        struct epoll_event ev = {.events = EPOLLIN};
        if (c == NULL || (size_t)fd >= conns_cap) {
            free(c);
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* chunks go out as sent */
        c->fd = fd;
        c->heap_at = -1;
        ev.data.ptr = c;
        conns[fd] = c;
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
}

static void run_timers(void)
{
    uint64_t now = now_ms();
    while (heap_len > 0 && heap[0]->due_ms <= now) {
        conn *c = heap[0];
        heap_remove(c);
        if (stream_step(c, now) < 0)
            conn_close(c);
    }
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 65535) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        perror("model_server: listen");
        exit(1);
    }
    printf("PORT %d\n", ntohs(a.sin_port));
    fflush(stdout);
    return fd;
}

/* As many fds as the hard limit allows: each streamed run holds one connection. */
static void setup(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max > 1u << 20 ? 1u << 20 : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    conns_cap = rl.rlim_cur;
    conns = calloc(conns_cap, sizeof *conns);
    heap = calloc(conns_cap, sizeof *heap);
    ep = epoll_create1(EPOLL_CLOEXEC);
    created = (long)time(NULL);
    signal(SIGPIPE, SIG_IGN); /* SIGTERM's default ends it: there is nothing to save */
}

static void on_event(struct epoll_event *e, int lfd)
{
    conn *c = e->data.ptr;
    if (c == NULL) {
        accept_all(lfd);
        return;
    }
    int rc = 0;
    if (e->events & EPOLLOUT)
        rc = flush_out(c);
    if (rc == 0 && (e->events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        rc = read_input(c);
    if (rc < 0)
        conn_close(c);
}

int main(int argc, char **argv)
{
    int port = 0, opt;
    while ((opt = getopt(argc, argv, "p:c:i:")) != -1) {
        if (opt == 'p')
            port = atoi(optarg);
        else if (opt == 'c')
            def_chunks = (unsigned)atoi(optarg);
        else if (opt == 'i')
            def_interval = (unsigned)atoi(optarg);
        else
            return fprintf(stderr, "usage: model_server [-p port] [-c chunks] [-i ms]\n"), 2;
    }
    setup();
    int lfd = listen_on(port);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[EVENTS];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        int timeout = -1;
        if (heap_len > 0) {
            uint64_t now = now_ms();
            timeout = heap[0]->due_ms <= now ? 0 : (int)(heap[0]->due_ms - now);
        }
        int n = epoll_wait(ep, evs, EVENTS, timeout);
        for (int i = 0; i < n; i++)
            on_event(&evs[i], lfd);
        run_timers();
    }
}
