#include <string.h>
#include <strings.h>

#include <h2o.h>

#include "core/ids.h"
#include "http/head_check.h"
#include "http/picohttp.h"

static int name_is(const char *name, size_t len, const char *want)
{
    return name != NULL && len == strlen(want) && strncasecmp(name, want, len) == 0;
}

/* picohttpparser skips one empty line before the request line (clients
 * may send CRLF after a body): so do we. */
static size_t leading_empty_line(const char *buf, size_t len)
{
    if (len >= 2 && buf[0] == '\r' && buf[1] == '\n')
        return 2;
    return len >= 1 && buf[0] == '\n' ? 1 : 0;
}

/* 1 when the request line is known to exceed max_line. */
static int line_too_long(const char *buf, size_t len, size_t max_line)
{
    size_t off = leading_empty_line(buf, len);
    size_t scan = len - off < max_line + 2 ? len - off : max_line + 2;
    const char *lf = memchr(buf + off, '\n', scan);
    if (lf == NULL)
        return len - off >= max_line + 2;
    size_t n = (size_t)(lf - (buf + off));
    if (n > 0 && lf[-1] == '\r')
        n--;
    return n > max_line;
}

static int crlf_only(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] != '\r' && buf[i] != '\n')
            return 0;
    return 1;
}

/* Calls fn on each header line after the request line, up to the empty
 * line or len; stops early when fn returns nonzero. Returns the line count. */
static size_t each_line(const char *buf, size_t len, int (*fn)(const char *, size_t, void *),
                        void *arg)
{
    size_t off = leading_empty_line(buf, len);
    const char *p = memchr(buf + off, '\n', len - off);
    const char *end = buf + len;
    size_t count = 0;
    while (p != NULL && ++p < end) {
        const char *lf = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((lf != NULL ? lf : end) - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n == 0)
            break;
        count++;
        if (fn != NULL && fn(p, n, arg))
            break;
        p = lf;
    }
    return count;
}

/* The value of a "name:" line, without its surrounding blanks; NULL when
 * the line is another header's. */
static const char *line_value(const char *line, size_t n, const char *name, size_t *len)
{
    size_t nlen = strlen(name);
    if (n < nlen || strncasecmp(line, name, nlen) != 0)
        return NULL;
    const char *v = line + nlen, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *len = (size_t)(end - v);
    return v;
}

/* The first X-Request-ID (kept when sane) and the first Origin (kept as
 * sent: the CORS policy judges it) of a refused head. */
static int find_reply_headers(const char *line, size_t n, void *arg)
{
    http_head_result_t *out = arg;
    size_t len;
    const char *v;
    if (!out->seen_request_id && (v = line_value(line, n, "x-request-id:", &len)) != NULL) {
        out->seen_request_id = 1;
        if (ids_request_id_ok(v, len)) {
            out->request_id = v;
            out->request_id_len = len;
        }
    } else if (out->origin == NULL && (v = line_value(line, n, "origin:", &len)) != NULL) {
        out->origin = v;
        out->origin_len = len;
    }
    return out->seen_request_id && out->origin != NULL;
}

/* RFC 9112 6.3: Content-Length with Transfer-Encoding, or Content-Lengths
 * that differ, leave the body's end ambiguous; obs-fold can hide either.
 * The body's length as h2o reads it (its first Content-Length) goes to
 * out->body_len. */
static http_head_verdict_t framing(const struct phr_header *h, size_t n, http_head_result_t *out)
{
    const struct phr_header *cl = NULL;
    int te = 0;
    for (size_t i = 0; i < n; i++) {
        if (h[i].name == NULL)
            return HEAD_MALFORMED;
        if (name_is(h[i].name, h[i].name_len, "content-length")) {
            if (cl != NULL && (cl->value_len != h[i].value_len ||
                               memcmp(cl->value, h[i].value, cl->value_len) != 0))
                return HEAD_SMUGGLING;
            cl = &h[i];
        } else if (name_is(h[i].name, h[i].name_len, "transfer-encoding")) {
            te = 1;
        }
    }
    if (te && cl != NULL)
        return HEAD_SMUGGLING;
    out->body_len = te ? SIZE_MAX : cl != NULL ? h2o_strtosize(cl->value, cl->value_len) : 0;
    return HEAD_COMPLETE;
}

static http_head_verdict_t judge(const char *buf, size_t len, const http_head_limits_t *lim,
                                 http_head_result_t *out)
{
    static const char preface[] = "PRI * HTTP/2";
    size_t np = len < sizeof(preface) - 1 ? len : sizeof(preface) - 1;
    if (lim->http2 && memcmp(buf, preface, np) == 0)
        return HEAD_PASS;
    if (line_too_long(buf, len, lim->max_line))
        return HEAD_LINE_TOO_LONG;
    size_t n = len < lim->max_head ? len : lim->max_head;
    const char *method, *path;
    size_t method_len, path_len, nheaders = H2O_MAX_HEADERS;
    int minor;
    struct phr_header headers[H2O_MAX_HEADERS];
    int r = phr_parse_request(buf, n, &method, &method_len, &path, &path_len, &minor, headers,
                              &nheaders, 0);
    if (r > 0) {
        out->head_len = (size_t)r;
        return framing(headers, nheaders, out);
    }
    if (r == -2)
        return len > lim->max_head ? HEAD_TOO_LARGE : HEAD_PARTIAL;
    if (len <= 4 && crlf_only(buf, len))
        return HEAD_PASS; /* h2o closes such a connection without a word */
    return each_line(buf, n, NULL, NULL) > H2O_MAX_HEADERS ? HEAD_TOO_MANY : HEAD_MALFORMED;
}

void http_head_check(const char *buf, size_t len, const http_head_limits_t *lim,
                     http_head_result_t *out)
{
    memset(out, 0, sizeof(*out));
    out->verdict = len == 0 ? HEAD_PARTIAL : judge(buf, len, lim, out);
    if (out->verdict > HEAD_PASS)
        each_line(buf, len < lim->max_head ? len : lim->max_head, find_reply_headers, out);
}

int http_head_error(http_head_verdict_t v, http_head_error_t *err)
{
    switch (v) {
    case HEAD_MALFORMED:
        *err = (http_head_error_t){400, "Bad Request", "BAD_REQUEST", "malformed request head"};
        return 0;
    case HEAD_SMUGGLING:
        *err = (http_head_error_t){400, "Bad Request", "BAD_REQUEST",
                                   "conflicting Content-Length or Transfer-Encoding headers"};
        return 0;
    case HEAD_LINE_TOO_LONG:
        *err = (http_head_error_t){414, "URI Too Long", "URI_TOO_LONG", "request line is too long"};
        return 0;
    case HEAD_TOO_LARGE:
        *err = (http_head_error_t){431, "Request Header Fields Too Large", "HEADERS_TOO_LARGE",
                                   "request head is too large"};
        return 0;
    case HEAD_TOO_MANY:
        *err = (http_head_error_t){431, "Request Header Fields Too Large", "HEADERS_TOO_LARGE",
                                   "too many request headers"};
        return 0;
    default:
        return -1;
    }
}
