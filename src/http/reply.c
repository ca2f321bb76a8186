#include <stdlib.h>
#include <string.h>

#include "http/reply.h"

const char *http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 400 ? "OK" : "Error";
    }
}

static void send_bytes(http_request_t *r, int status, const char *body, size_t len)
{
    h2o_req_t *req = r->req;
    req->res.status = status;
    req->res.reason = http_reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    req->res.content_length = len;
    h2o_send_inline(req, body, len);
}

void http_reply_json(http_request_t *r, int status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(body);
    if (text == NULL) {
        http_reply_error(r, 500, "INTERNAL", "could not encode the reply");
        return;
    }
    send_bytes(r, status, text, strlen(text)); /* h2o_send_inline copies the body */
    free(text);
}

char *http_error_body(const char *code, const char *detail, size_t *len)
{
    json_t *o = json_pack("{s:s, s:s}", "detail", detail, "code", code);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text != NULL && len != NULL)
        *len = strlen(text);
    return text;
}

void http_reply_error(http_request_t *r, int status, const char *code, const char *detail)
{
    size_t len = 0;
    char *text = http_error_body(code, detail, &len);
    if (text == NULL) {
        send_bytes(r, status, "{\"detail\":\"error\",\"code\":\"INTERNAL\"}", 36);
        return;
    }
    send_bytes(r, status, text, len);
    free(text);
}

void http_reply_empty(http_request_t *r, int status)
{
    h2o_req_t *req = r->req;
    req->res.status = status;
    req->res.reason = http_reason(status);
    h2o_send_inline(req, "", 0);
}
