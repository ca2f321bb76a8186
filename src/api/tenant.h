/* The tenant middleware: turns the Authorization header into the request's
 * tenant context, by the access level the route table gives each route. */
#ifndef AGENTOS_API_TENANT_H
#define AGENTOS_API_TENANT_H

#include "auth/tenant.h"
#include "http/router.h"

enum {
    ACCESS_NONE = 0,  /* probes: the header is never looked at */
    ACCESS_PUBLIC,    /* a token is optional, but verified when present */
    ACCESS_PROTECTED, /* a valid token is required */
    ACCESS_WORKSPACE, /* a valid token with a workspaceId is required */
    /* ACCESS_WORKSPACE, but an operator's GET without a workspace reads
     * every workspace: the handler must take the store's *_all_workspaces
     * reads when tenant_reads_all_workspaces(r). */
    ACCESS_WORKSPACE_OR_ALL,
};

/* Whether the route acts inside a workspace (either of the two above). */
int tenant_workspace_route(const http_route_t *route);

int tenant_middleware(http_request_t *r, const http_route_t *route);
/* The request's tenant: never NULL after the middleware ran (empty when anonymous). */
const auth_tenant_t *tenant_of(const http_request_t *r);
/* Whether t reads as an operator (across workspaces): the one place that
 * decides it, so another operator principal is added here only. */
int tenant_is_operator(const auth_tenant_t *t);
/* An operator's GET on an ACCESS_WORKSPACE_OR_ALL route without
 * ?workspace_id=: it reads every workspace (tenant_of(r)->workspace_id is
 * ""). Only reads get here: every write without a workspace was refused by
 * the middleware. */
int tenant_reads_all_workspaces(const http_request_t *r);

#endif
