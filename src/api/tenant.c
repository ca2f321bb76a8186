#include <string.h>
#include <strings.h>

#include "api/app.h"
#include "api/tenant.h"
#include "core/timeutil.h"
#include "http/reply.h"
#include "http/server.h"

static const auth_tenant_t anonymous;

const auth_tenant_t *tenant_of(const http_request_t *r)
{
    return r->app != NULL ? r->app : &anonymous;
}

static void reply_unauthorized(http_request_t *r)
{
    h2o_add_header(&r->req->pool, &r->req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                   H2O_STRLIT("Bearer"));
    http_reply_error(r, 401, "UNAUTHORIZED", "Authorization header missing");
}

/* The token of "Bearer <token>", or len 0 when the header is not of that form. */
static h2o_iovec_t bearer_token(h2o_iovec_t v)
{
    static const char scheme[] = "bearer ";
    if (v.len <= sizeof(scheme) - 1 || strncasecmp(v.base, scheme, sizeof(scheme) - 1) != 0)
        return h2o_iovec_init(NULL, 0);
    h2o_iovec_t t = h2o_iovec_init(v.base + sizeof(scheme) - 1, v.len - (sizeof(scheme) - 1));
    while (t.len > 0 && t.base[0] == ' ')
        t.base++, t.len--;
    while (t.len > 0 && t.base[t.len - 1] == ' ')
        t.len--;
    return t;
}

static int authenticate(http_request_t *r, h2o_iovec_t header)
{
    h2o_iovec_t token = bearer_token(header);
    app_loop_t *loop = r->loop_data;
    auth_tenant_t *t = h2o_mem_alloc_pool(&r->req->pool, sizeof(*t));
    jwt_status_t st = JWT_INVALID;
    if (token.len > 0)
        st = auth_ctx_verify(loop->auth, token.base, token.len, timeutil_now(), t);
    if (st == JWT_EXPIRED) {
        http_reply_error(r, 403, "TOKEN_EXPIRED", "Token has expired");
        return -1;
    }
    if (st != JWT_OK) {
        http_reply_error(r, 403, "INVALID_TOKEN", "Invalid token");
        return -1;
    }
    r->app = t;
    r->log_user_id = t->user_id;
    r->log_workspace_id = t->workspace_id;
    return 0;
}

int tenant_middleware(http_request_t *r, const http_route_t *route)
{
    if (route->access == ACCESS_NONE)
        return HTTP_NEXT;
    h2o_iovec_t header = http_request_header(r, "authorization");
    if (header.base == NULL) {
        if (route->access == ACCESS_PUBLIC)
            return HTTP_NEXT;
        reply_unauthorized(r);
        return HTTP_DONE;
    }
    if (authenticate(r, header) != 0)
        return HTTP_DONE;
    if (route->access == ACCESS_WORKSPACE && tenant_of(r)->workspace_id[0] == '\0') {
        http_reply_error(r, 403, "WORKSPACE_REQUIRED",
                         "This route needs a token with a workspaceId");
        return HTTP_DONE;
    }
    return HTTP_NEXT;
}
