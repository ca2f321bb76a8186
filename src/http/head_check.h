/* The verdict on a request head as it arrives, before h2o parses it: size
 * limits (414, 431), malformed heads (400) and the smuggling surface of RFC
 * 9112 (Content-Length twice with different values, or with
 * Transfer-Encoding: 400). Pure: bytes in, verdict out. */
#ifndef AGENTOS_HTTP_HEAD_CHECK_H
#define AGENTOS_HTTP_HEAD_CHECK_H

#include <stddef.h>

typedef enum {
    HEAD_PARTIAL,       /* within the limits so far; wait for more */
    HEAD_COMPLETE,      /* a whole head, within the limits */
    HEAD_PASS,          /* not ours to judge: h2o's (HTTP/2 preface, bare CRLFs) */
    HEAD_MALFORMED,     /* 400 */
    HEAD_SMUGGLING,     /* 400: conflicting message framing */
    HEAD_LINE_TOO_LONG, /* 414 */
    HEAD_TOO_LARGE,     /* 431 */
    HEAD_TOO_MANY,      /* 431: more header lines than h2o takes (H2O_MAX_HEADERS) */
} http_head_verdict_t;

typedef struct http_head_limits {
    size_t max_head; /* the whole head, request line included */
    size_t max_line; /* the request line, without its CRLF */
    int http2;       /* the HTTP/2 preface goes to h2o */
} http_head_limits_t;

typedef struct http_head_result {
    http_head_verdict_t verdict;
    size_t head_len;        /* HEAD_COMPLETE: bytes of the head */
    size_t body_len;        /* HEAD_COMPLETE: Content-Length, 0 without; SIZE_MAX: chunked
                               or unreadable */
    const char *request_id; /* a sane X-Request-ID seen in the head, or NULL */
    size_t request_id_len;
    int seen_request_id;
    /* A refused head's Origin as sent (unvalidated), or NULL: the reply
     * carries the CORS headers when the policy allows it. */
    const char *origin;
    size_t origin_len;
} http_head_result_t;

void http_head_check(const char *buf, size_t len, const http_head_limits_t *lim,
                     http_head_result_t *out);

/* The reply to a rejected head: status, code and detail (static strings). */
typedef struct http_head_error {
    int status;
    const char *reason;
    const char *code;
    const char *detail;
} http_head_error_t;

/* 0 and *err filled for a rejecting verdict; -1 for the others. */
int http_head_error(http_head_verdict_t v, http_head_error_t *err);

#endif
