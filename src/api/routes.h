/* The route table: every route the service answers, with its access level and the
 * scope a Control Plane token needs for it. */
#ifndef AGENTOS_API_ROUTES_H
#define AGENTOS_API_ROUTES_H

#include "http/router.h"

extern const http_route_t api_routes[];
extern const size_t api_routes_count;

#endif
