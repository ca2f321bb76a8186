#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "http/error_filter.h"
#include "http/reply.h"

typedef struct json_ostream {
    h2o_ostream_t super;
    h2o_iovec_t body;
} json_ostream_t;

static const char *code_for(int status)
{
    switch (status) {
    case 400:
        return "BAD_REQUEST";
    case 404:
        return "NOT_FOUND";
    case 405:
        return "METHOD_NOT_ALLOWED";
    case 408:
        return "REQUEST_TIMEOUT";
    case 413:
        return "PAYLOAD_TOO_LARGE";
    case 414:
        return "URI_TOO_LONG";
    case 417:
        return "EXPECTATION_FAILED";
    case 431:
        return "HEADERS_TOO_LARGE";
    case 503:
        return "SERVICE_UNAVAILABLE";
    default:
        return status < 500 ? "BAD_REQUEST" : "INTERNAL";
    }
}

static const char *detail_for(int status)
{
    switch (status) {
    case 413:
        return "request body is too large";
    case 400:
        return "malformed request";
    default:
        return http_reason(status);
    }
}

static int is_json_reply(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    return i >= 0 &&
           h2o_memis(req->res.headers.entries[i].value.base, req->res.headers.entries[i].value.len,
                     H2O_STRLIT("application/json"));
}

/* h2o's own replies (413, a broken body) leave before on_req gives the
 * request its id: echo the client's when sane, else a fresh one. */
static void ensure_request_id(h2o_req_t *req)
{
    if (h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1) >= 0)
        return;
    char fresh[IDS_UUID_LEN + 1];
    h2o_iovec_t id;
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    if (i >= 0 &&
        ids_request_id_ok(req->headers.entries[i].value.base, req->headers.entries[i].value.len)) {
        id = req->headers.entries[i].value;
    } else {
        ids_uuid4(fresh);
        id = h2o_strdup(&req->pool, fresh, IDS_UUID_LEN);
    }
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL,
                          id.base, id.len);
}

/* Drops h2o's plain-text body and sends ours once the original is final. */
static void on_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt,
                    h2o_send_state_t state)
{
    (void)bufs;
    (void)bufcnt;
    json_ostream_t *os = (json_ostream_t *)self;
    if (h2o_send_state_is_in_progress(state)) {
        h2o_ostream_send_next(self, req, NULL, 0, state);
        return;
    }
    h2o_iovec_t body = os->body;
    h2o_ostream_send_next(self, req, &body, 1, state);
}

static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    (void)self;
    if (req->res.status >= 400 && !is_json_reply(req)) {
        size_t len = 0;
        char *text = http_error_body(code_for(req->res.status), detail_for(req->res.status), &len);
        if (text != NULL) {
            json_ostream_t *os = (json_ostream_t *)h2o_add_ostream(req, sizeof(*os), slot);
            os->body = h2o_strdup(&req->pool, text, len);
            os->super.do_send = on_send;
            free(text);
            req->res.content_length = len;
            h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
                           H2O_STRLIT("application/json"), 1);
            slot = &os->super.next;
        }
        ensure_request_id(req);
    }
    h2o_setup_next_ostream(req, slot);
}

void error_filter_register(h2o_pathconf_t *pathconf)
{
    h2o_filter_t *f = h2o_create_filter(pathconf, sizeof(*f));
    f->on_setup_ostream = on_setup_ostream;
}
