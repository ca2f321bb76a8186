/* One line per request. As JSON it is built straight into a buffer and
 * handed to the loop thread's buffered writer (core/log.h): jansson's tree
 * and one write(2) per line were a fifth of a /health request's CPU. */
#include <string.h>

#include "core/log.h"
#include "core/log_line.h"
#include "http/access_log.h"

static const char *tag_or_null(const char *s)
{
    return s != NULL && *s != '\0' ? s : NULL;
}

static json_t *tag(const char *s)
{
    return s != NULL && *s != '\0' ? json_string(s) : json_null();
}

/* The text format renders through jansson fields (core/log_text.c). */
static void write_text(const http_request_t *r, long long duration_us)
{
    json_t *f = json_object();
    json_object_set_new(f, "request_id", json_string(r->request_id));
    json_object_set_new(f, "method", json_stringn(r->method, strlen(r->method)));
    json_object_set_new(f, "path", json_string(r->path));
    json_object_set_new(f, "status", json_integer(r->req->res.status));
    json_object_set_new(f, "duration_us", json_integer((json_int_t)duration_us));
    json_object_set_new(f, "workspace_id", tag(r->log_workspace_id));
    json_object_set_new(f, "user_id", tag(r->log_user_id));
    log_json(LOG_LEVEL_INFO, "request", f);
}

static buf_rc_t fields(buf_t *b, const http_request_t *r, long long duration_us)
{
    buf_rc_t rc = log_line_field_str(b, "request_id", r->request_id);
    if (rc == BUF_OK)
        rc = log_line_field_str(b, "method", r->method);
    if (rc == BUF_OK)
        rc = log_line_field_str(b, "path", r->path);
    if (rc == BUF_OK)
        rc = log_line_field_int(b, "status", r->req->res.status);
    if (rc == BUF_OK)
        rc = log_line_field_int(b, "duration_us", duration_us);
    if (rc == BUF_OK)
        rc = log_line_field_str(b, "workspace_id", tag_or_null(r->log_workspace_id));
    if (rc == BUF_OK)
        rc = log_line_field_str(b, "user_id", tag_or_null(r->log_user_id));
    return rc;
}

/* Built in the loop thread's line buffer: no allocation once it has grown. */
void access_log_write(const http_request_t *r, uint64_t duration_us)
{
    if (!log_enabled(LOG_LEVEL_INFO))
        return;
    if (log_format() == LOG_FORMAT_TEXT) {
        write_text(r, (long long)duration_us);
        return;
    }
    buf_t *b = log_line_buffer();
    if (log_line_begin(b, LOG_LEVEL_INFO, "request") == BUF_OK &&
        fields(b, r, (long long)duration_us) == BUF_OK)
        log_line_end(b);
}
