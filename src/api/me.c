#include "api/handlers.h"
#include "api/tenant.h"
#include "http/reply.h"

static json_t *str_or_null(const char *s)
{
    return *s != '\0' ? json_string(s) : json_null();
}

void me_get(http_request_t *r)
{
    const auth_tenant_t *t = tenant_of(r);
    json_t *body = json_object();
    json_object_set_new(body, "user_id", str_or_null(t->user_id));
    json_object_set_new(body, "session_id", str_or_null(t->session_id));
    json_object_set_new(body, "workspace_id", str_or_null(t->workspace_id));
    json_object_set_new(body, "email", str_or_null(t->email));
    json_object_set_new(body, "name", str_or_null(t->name));
    http_reply_json(r, 200, body);
}
