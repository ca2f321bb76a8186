#include "api/app.h"
#include "api/middleware.h"
#include "api/tenant.h"
#include "http/pending.h"
#include "http/reply.h"
#include "http/server.h"

static void reply_limited(http_request_t *r, const ratelimit_result_t *res)
{
    http_reply_retry_after(r, res->retry_after_s);
    http_reply_error(r, 429, "RATE_LIMITED", "Too many requests for this workspace; slow down");
}

static void on_limit_checked(const ratelimit_result_t *res, void *data)
{
    http_pending_t *p = data;
    http_request_t *r = http_pending_request(p);
    if (r != NULL) {
        if (res->allowed)
            http_request_continue(r);
        else
            reply_limited(r, res);
    }
    http_pending_release(p);
}

/* Operators without a workspace share one bucket. DEL breaks the id rule,
 * so no workspace id can name this bucket. */
#define MIDDLEWARE_OPERATOR_BUCKET "\x7foperators"

static int check_rate_limit(http_request_t *r, const char *bucket)
{
    app_loop_t *loop = r->loop_data;
    http_pending_t *p = http_pending_new(r);
    if (p == NULL)
        return HTTP_NEXT; /* out of memory: limiting is not worth failing the request */
    ratelimit_result_t res;
    if (ratelimit_check(loop->ratelimit, bucket, on_limit_checked, p, &res) == RATELIMIT_PENDING)
        return HTTP_PENDING;
    http_pending_release(p);
    if (res.allowed)
        return HTTP_NEXT;
    reply_limited(r, &res);
    return HTTP_DONE;
}

int api_middleware(http_request_t *r, const http_route_t *route)
{
    int rc = tenant_middleware(r, route);
    if (rc != HTTP_NEXT)
        return rc;
    const auth_tenant_t *t = tenant_of(r);
    if (tenant_workspace_route(route) && t->workspace_id[0] != '\0')
        return check_rate_limit(r, t->workspace_id);
    if (tenant_is_operator(t))
        return check_rate_limit(r, MIDDLEWARE_OPERATOR_BUCKET);
    return rc;
}
