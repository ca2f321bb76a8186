#include "api/handlers.h"
#include "api/routes.h"
#include "api/tenant.h"

const http_route_t api_routes[] = {
    {"GET", "/health", system_health, ACCESS_NONE},
    {"GET", "/ready", system_ready, ACCESS_NONE},
    {"GET", "/", system_root, ACCESS_PUBLIC},
    {"GET", "/me", me_get, ACCESS_PROTECTED},
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);
