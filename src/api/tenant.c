#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "api/app.h"
#include "api/body.h"
#include "api/route_scope.h"
#include "api/tenant.h"
#include "auth/service_key.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "http/reply.h"
#include "http/server.h"

static const auth_tenant_t anonymous;

const auth_tenant_t *tenant_of(const http_request_t *r)
{
    return r->app != NULL ? r->app : &anonymous;
}

int tenant_workspace_route(const http_route_t *route)
{
    return route->access == ACCESS_WORKSPACE || route->access == ACCESS_WORKSPACE_OR_ALL;
}

int tenant_is_operator(const auth_tenant_t *t)
{
    return t != NULL && t->authenticated && t->kind == AUTH_PRINCIPAL_OPERATOR;
}

int tenant_reads_all_workspaces(const http_request_t *r)
{
    const auth_tenant_t *t = tenant_of(r);
    return tenant_is_operator(t) && t->workspace_id[0] == '\0' && strcmp(r->method, "GET") == 0 &&
           r->route != NULL && r->route->access == ACCESS_WORKSPACE_OR_ALL;
}

static void reply_unauthorized(http_request_t *r)
{
    http_reply_header(r, "www-authenticate", "Bearer", strlen("Bearer"));
    http_reply_error(r, 401, "UNAUTHORIZED", "Authorization header missing");
}

/* The token of "Bearer <token>", or len 0 when the header is not of that form. */
static http_str_t bearer_token(http_str_t v)
{
    static const char scheme[] = "bearer ";
    if (v.len <= sizeof(scheme) - 1 || strncasecmp(v.base, scheme, sizeof(scheme) - 1) != 0)
        return (http_str_t){NULL, 0};
    http_str_t t = {v.base + sizeof(scheme) - 1, v.len - (sizeof(scheme) - 1)};
    while (t.len > 0 && t.base[0] == ' ')
        t.base++, t.len--;
    while (t.len > 0 && t.base[t.len - 1] == ' ')
        t.len--;
    return t;
}

/* Copies an optional id header into dst (left "" when absent). -1 when it
 * is present but breaks the id rule; the reply is sent. */
static int header_id(http_request_t *r, const char *name, char dst[AUTH_ID_MAX])
{
    http_str_t v = http_request_header(r, name);
    if (v.base == NULL)
        return 0;
    if (!ids_valid(v.base, v.len) || v.len >= AUTH_ID_MAX) {
        http_reply_error(r, 400, "INVALID_HEADER", "X-Workspace-Id and X-User-Id must be ids");
        return -1;
    }
    memcpy(dst, v.base, v.len);
    dst[v.len] = '\0';
    return 0;
}

/* Every key or Control Plane request is logged with its principal: the kind
 * and which credential, never the key or token itself. */
static void log_principal(const http_request_t *r, const auth_tenant_t *t)
{
    if (!log_enabled(LOG_LEVEL_INFO))
        return;
    json_t *f = json_object();
    json_object_set_new(f, "request_id", json_string(r->request_id));
    json_object_set_new(f, "principal",
                        json_string(t->kind == AUTH_PRINCIPAL_OPERATOR ? "operator" : "service"));
    json_object_set_new(f, "credential",
                        json_string(t->scoped ? "control_plane_jwt" : "os_security_key"));
    if (t->scoped && t->user_id[0])
        json_object_set_new(f, "sub", json_string(t->user_id));
    json_object_set_new(f, "workspace_id",
                        t->workspace_id[0] ? json_string(t->workspace_id) : json_null());
    json_object_set_new(f, "method", json_stringn(r->method, strlen(r->method)));
    json_object_set_new(f, "path", json_string(r->path));
    log_json(LOG_LEVEL_INFO, "principal", f);
}

/* The bearer is the security key: a service caller inside X-Workspace-Id,
 * or an operator without it. */
static int authenticate_key(http_request_t *r, auth_tenant_t *t)
{
    memset(t, 0, sizeof *t);
    if (header_id(r, "x-workspace-id", t->workspace_id) != 0 ||
        header_id(r, "x-user-id", t->user_id) != 0)
        return -1;
    t->authenticated = 1;
    t->kind = t->workspace_id[0] ? AUTH_PRINCIPAL_SERVICE : AUTH_PRINCIPAL_OPERATOR;
    log_principal(r, t);
    return 0;
}

/* Only the Control Plane verifier makes a scoped tenant, and it is always an
 * operator; every other verified token is an end user's, whatever it says.
 * A Control Plane operator names a workspace with X-Workspace-Id (for the
 * writes that need one), and stays an operator, scope-checked. */
static int token_principal(http_request_t *r, auth_tenant_t *t)
{
    if (!t->scoped) {
        t->kind = AUTH_PRINCIPAL_USER; /* an end-user token never reaches operator access */
        return 0;
    }
    t->kind = AUTH_PRINCIPAL_OPERATOR;
    if (header_id(r, "x-workspace-id", t->workspace_id) != 0)
        return -1;
    log_principal(r, t);
    return 0;
}

static int authenticate_token(http_request_t *r, http_str_t token, auth_tenant_t *t)
{
    app_loop_t *loop = r->loop_data;
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
    return token_principal(r, t);
}

static void release_tenant(const void *t)
{
    auth_tenant_release(t);
}

/* A cached end user's token: the request borrows the cache's tenant for
 * its life rather than copy 1.9 KiB into a pool block of that size (a
 * malloc each: issue 11). Nothing writes to such a tenant (only operators'
 * get a workspace added), so it is shared as it is. NULL when not cached. */
static const auth_tenant_t *borrow_cached(http_request_t *r, http_str_t token)
{
    app_loop_t *loop = r->loop_data;
    if (token.len == 0)
        return NULL;
    const auth_tenant_t *t = auth_ctx_borrow(loop->auth, token.base, token.len, timeutil_now());
    if (t != NULL)
        http_request_on_free(r, release_tenant, t);
    return t;
}

/* The access log line is written when the request's pool is cleared, after
 * a borrowed tenant is given back (h2o releases a pool's shared blocks
 * last-linked first), when it may be freed (its entry evicted meanwhile): so
 * the log reads copies in the pool, whose memory goes last. */
static const char *log_copy(http_request_t *r, const char *s)
{
    if (*s == '\0')
        return "";
    size_t n = strlen(s) + 1;
    return memcpy(http_request_alloc(r, n), s, n);
}

/* The kind of credential is decided once, here: the bearer equal to the
 * configured key is the key; anything else is verified as a token and a
 * failure is final, never retried as another kind. */
static int authenticate(http_request_t *r, http_str_t header)
{
    http_str_t token = bearer_token(header);
    app_loop_t *loop = r->loop_data;
    const char *key = loop->app->cfg->os_security_key;
    int is_key = service_key_matches(key, token.base, token.len);
    const auth_tenant_t *t = is_key ? NULL : borrow_cached(r, token);
    if (t != NULL) {
        r->app = (void *)(uintptr_t)t; /* never written to: see borrow_cached */
        r->log_user_id = log_copy(r, t->user_id);
        r->log_workspace_id = log_copy(r, t->workspace_id);
        return 0;
    }
    auth_tenant_t *own = http_request_alloc(r, sizeof(*own));
    if ((is_key ? authenticate_key(r, own) : authenticate_token(r, token, own)) != 0)
        return -1;
    r->app = own;
    r->log_user_id = own->user_id; /* an operator's workspace may still be added */
    r->log_workspace_id = own->workspace_id;
    return 0;
}

/* An operator's GET on a workspace route reads the one workspace
 * ?workspace_id= names, or without it, where the route allows, every
 * workspace (the handler sees an empty workspace_id and takes the store's
 * *_all_workspaces reads). Writes must come with X-Workspace-Id, so a
 * filter in a URL never creates data. 1 when it reads every workspace, -1
 * after a 422 reply, else 0. */
static int operator_workspace(http_request_t *r, const http_route_t *route)
{
    auth_tenant_t *t = r->app;
    if (!tenant_is_operator(t) || !tenant_workspace_route(route) || strcmp(r->method, "GET") != 0)
        return 0;
    const char *ws = NULL;
    if (api_query_id(r, "workspace_id", &ws) != 0)
        return -1;
    if (ws != NULL && strlen(ws) < AUTH_ID_MAX)
        memcpy(t->workspace_id, ws, strlen(ws) + 1);
    return t->workspace_id[0] == '\0' && route->access == ACCESS_WORKSPACE_OR_ALL;
}

int tenant_middleware(http_request_t *r, const http_route_t *route)
{
    if (route->access == ACCESS_NONE)
        return HTTP_NEXT;
    http_str_t header = http_request_header(r, "authorization");
    if (header.base == NULL) {
        if (route->access == ACCESS_PUBLIC)
            return HTTP_NEXT;
        reply_unauthorized(r);
        return HTTP_DONE;
    }
    if (authenticate(r, header) != 0 || route_scope_check(r, route) != 0)
        return HTTP_DONE;
    int all = operator_workspace(r, route);
    if (all < 0)
        return HTTP_DONE;
    if (tenant_workspace_route(route) && !all && tenant_of(r)->workspace_id[0] == '\0') {
        http_reply_error(r, 403, "WORKSPACE_REQUIRED",
                         tenant_is_operator(tenant_of(r))
                             ? "This route needs a workspace: send X-Workspace-Id"
                             : "This route needs a token with a workspaceId");
        return HTTP_DONE;
    }
    return HTTP_NEXT;
}
