#include <string.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "http/access_log.h"

static json_t *tag(const char *s)
{
    return s != NULL && *s != '\0' ? json_string(s) : json_null();
}

void access_log_write(const http_request_t *r)
{
    if (!log_enabled(LOG_LEVEL_INFO))
        return;
    json_t *f = json_object();
    json_object_set_new(f, "request_id", json_string(r->request_id));
    json_object_set_new(f, "method", json_stringn(r->method, strlen(r->method)));
    json_object_set_new(f, "path", json_string(r->path));
    json_object_set_new(f, "status", json_integer(r->req->res.status));
    json_object_set_new(f, "duration_us",
                        json_integer((json_int_t)(timeutil_mono_us() - r->start_us)));
    json_object_set_new(f, "workspace_id", tag(r->log_workspace_id));
    json_object_set_new(f, "user_id", tag(r->log_user_id));
    log_json(LOG_LEVEL_INFO, "request", f);
}
