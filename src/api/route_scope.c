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

int route_scope_check(http_request_t *r, const http_route_t *route)
{
    const auth_tenant_t *t = tenant_of(r);
    if (!t->authenticated || !t->scoped || route->scope == NULL)
        return 0;
    const char *family = resource_family(route->pattern);
    const char *id = resource_id(r, route->pattern, family);
    /* An id with a NUL yields NULL: then only a family-wide grant passes. */
    if (scopes_tenant_grants(t, route->scope, family, id))
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
