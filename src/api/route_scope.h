/* Per-route scopes for Control Plane tokens: the scope column of the route
 * table, checked with Agno's grammar (auth/scopes.c). The security key and
 * end users are not scope-checked (the key holds every scope, as Agno's
 * security key does; end users are bounded by their workspace). */
#ifndef AGENTOS_API_ROUTE_SCOPE_H
#define AGENTOS_API_ROUTE_SCOPE_H

#include "http/router.h"

/* 0 when the caller may use route; -1 after a 403 INSUFFICIENT_SCOPE reply. */
int route_scope_check(http_request_t *r, const http_route_t *route);

/* 1 when the request's caller holds scope (NULL: none needed): the handlers'
 * own check, for a grant a route decides at run time (Prometheus scrapes). */
int route_scope_held(const http_request_t *r, const char *scope);

/* 1 when the caller of a listing route ("GET /agents") may see the family's
 * resource id in it: a family-wide grant shows every one, a per-resource
 * scope (agents:<id>:read) only its own, as Agno filters the list. */
int route_scope_lists(const http_request_t *r, const char *id);

#endif
