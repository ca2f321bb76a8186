#include "api/route_scope.h"

#include <stdio.h>
#include <string.h>

#include "api/tenant.h"
#include "auth/scopes.h"
#include "http/reply.h"

/* Agno's get_resource_context_from_path: only /agents, /teams and
 * /workflows own a resource family, and the segment after it is the id. */
static const char *resource_family(const char *pattern)
{
    static const char *const families[] = {"agents", "teams", "workflows"};
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        size_t n = strlen(families[i]);
        if (pattern[0] == '/' && strncmp(pattern + 1, families[i], n) == 0 &&
            (pattern[1 + n] == '\0' || pattern[1 + n] == '/'))
            return families[i];
    }
    return NULL;
}

/* The id of the resource the request is about: the route's first parameter
 * when it is the segment right after the family ("/agents/{agent_id}..."). */
static const char *resource_id(http_request_t *r, const char *pattern, const char *family)
{
    if (family == NULL || pattern[1 + strlen(family)] != '/' || pattern[2 + strlen(family)] != '{')
        return NULL;
    return http_request_param(r, 0);
}

/* Whether the tenant holds family:<id>:action for some id ("agents:a1:read"
 * for the required "agents:read"): Agno's get_accessible_resource_ids is
 * then not empty. Wildcards and global grants pass scopes_tenant_grants
 * before this is asked. */
static int holds_per_resource(const auth_tenant_t *t, const char *family, const char *required)
{
    size_t flen = strlen(family);
    const char *colon = strchr(required, ':');
    if (colon == NULL || (size_t)(colon - required) != flen || strncmp(required, family, flen) != 0)
        return 0; /* a foreign family's scope: never widened (scopes.py's rule) */
    const char *action = colon + 1;
    size_t off = 0;
    for (unsigned i = 0; i < t->nscopes && off < AUTH_SCOPES_BYTES; i++) {
        const char *s = t->scopes + off;
        size_t len = strnlen(s, AUTH_SCOPES_BYTES - off);
        if (off + len == AUTH_SCOPES_BYTES)
            break; /* not NUL-terminated: never read past the buffer */
        off += len + 1;
        const char *c1 = strchr(s, ':'), *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
        if (c2 != NULL && (size_t)(c1 - s) == flen && strncmp(s, family, flen) == 0 &&
            c2 > c1 + 1 && strcmp(c2 + 1, action) == 0)
            return 1;
    }
    return 0;
}

/* Agno's listing rule (scopes.py check_route_scopes): a GET of a family's
 * list ("/agents") by a caller without the family-wide grant is let through
 * when it holds that action on some of the family's resources; the handler
 * then lists only those (route_scope_lists). */
static int listing_allowed(const auth_tenant_t *t, const http_route_t *route, const char *family)
{
    return family != NULL && strcmp(route->method, "GET") == 0 &&
           route->pattern[1 + strlen(family)] == '\0' &&
           holds_per_resource(t, family, route->scope);
}

int route_scope_check(http_request_t *r, const http_route_t *route)
{
    const auth_tenant_t *t = tenant_of(r);
    if (!t->authenticated || !t->scoped || route->scope == NULL)
        return 0;
    const char *family = resource_family(route->pattern);
    const char *id = resource_id(r, route->pattern, family);
    /* An id with a NUL yields NULL: then only a family-wide grant passes. */
    if (scopes_tenant_grants(t, route->scope, family, id) || listing_allowed(t, route, family))
        return 0;
    char detail[160];
    snprintf(detail, sizeof detail, "Insufficient permissions. Required scope(s): %s",
             route->scope);
    http_reply_error(r, 403, "INSUFFICIENT_SCOPE", detail);
    return -1;
}

int route_scope_held(const http_request_t *r, const char *scope)
{
    const auth_tenant_t *t = tenant_of(r);
    if (scope == NULL)
        return 1;
    return t->authenticated && scopes_tenant_grants(t, scope, NULL, NULL);
}

int route_scope_lists(const http_request_t *r, const char *id)
{
    const auth_tenant_t *t = tenant_of(r);
    const http_route_t *route = r->route;
    if (!t->authenticated || !t->scoped || route == NULL || route->scope == NULL)
        return 1;
    return scopes_tenant_grants(t, route->scope, resource_family(route->pattern), id);
}
