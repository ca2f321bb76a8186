/* What runs before every handler: the tenant middleware, then, on
 * workspace-scoped routes, the workspace's rate limit. */
#ifndef AGENTOS_API_MIDDLEWARE_H
#define AGENTOS_API_MIDDLEWARE_H

#include "http/router.h"

int api_middleware(http_request_t *r, const http_route_t *route);

#endif
