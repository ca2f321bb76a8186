#include "api/handlers.h"
#include "api/routes.h"
#include "api/tenant.h"

/* The last column is the scope a Control Plane token needs, as Agno's
 * get_default_scope_mappings() (agno/os/scopes.py) has it; NULL: none (a
 * route Agno does not map). On /agents/{agent_id}... "agents:x" is granted
 * per agent: agents:x, agents:*:x or agents:<agent_id>:x. */
const http_route_t api_routes[] = {
    {"GET", "/health", system_health, ACCESS_NONE, NULL},
    {"GET", "/ready", system_ready, ACCESS_NONE, NULL},
    {"GET", "/", system_root, ACCESS_PUBLIC, NULL},
    {"GET", "/info", info_get, ACCESS_NONE, NULL},
    {"GET", "/config", config_get, ACCESS_PROTECTED, "config:read"},
    {"GET", "/openapi.json", openapi_get, ACCESS_NONE, NULL},
    {"GET", "/docs", docs_get, ACCESS_NONE, NULL},
    {"GET", "/docs/swagger-ui-bundle.js", docs_asset, ACCESS_NONE, NULL},
    {"GET", "/docs/swagger-ui.css", docs_asset, ACCESS_NONE, NULL},
    {"GET", "/me", me_get, ACCESS_PROTECTED, NULL},
    {"GET", "/sessions", sessions_list, ACCESS_WORKSPACE_OR_ALL, "sessions:read"},
    {"POST", "/sessions", sessions_create, ACCESS_WORKSPACE, "sessions:write"},
    {"DELETE", "/sessions", sessions_delete_many, ACCESS_WORKSPACE, "sessions:delete"},
    {"GET", "/sessions/{session_id}", sessions_get, ACCESS_WORKSPACE_OR_ALL, "sessions:read"},
    {"PATCH", "/sessions/{session_id}", sessions_patch, ACCESS_WORKSPACE, "sessions:write"},
    {"DELETE", "/sessions/{session_id}", sessions_delete, ACCESS_WORKSPACE, "sessions:delete"},
    {"GET", "/sessions/{session_id}/runs", sessions_runs, ACCESS_WORKSPACE_OR_ALL, "sessions:read"},
    {"GET", "/sessions/{session_id}/runs/{run_id}", sessions_run_get, ACCESS_WORKSPACE_OR_ALL,
     "sessions:read"},
    {"GET", "/sessions/{session_id}/run-previews", sessions_run_previews, ACCESS_WORKSPACE_OR_ALL,
     "sessions:read"},
    {"POST", "/sessions/{session_id}/rename", sessions_rename, ACCESS_WORKSPACE, "sessions:write"},
    {"GET", "/agents", agents_list, ACCESS_PROTECTED, "agents:read"},
    {"GET", "/agents/{agent_id}", agents_get, ACCESS_PROTECTED, "agents:read"},
    {"GET", "/models", models_list, ACCESS_PROTECTED, "config:read"},
    {"GET", "/teams", system_empty_list, ACCESS_PROTECTED, "teams:read"},
    {"GET", "/workflows", system_empty_list, ACCESS_PROTECTED, "workflows:read"},
    {"POST", "/agents/{agent_id}/runs", runs_create, ACCESS_WORKSPACE, "agents:run"},
    {"GET", "/agents/{agent_id}/runs", runs_list, ACCESS_WORKSPACE_OR_ALL, "agents:read"},
    {"GET", "/agents/{agent_id}/runs/{run_id}", runs_get, ACCESS_WORKSPACE_OR_ALL, "agents:read"},
    {"POST", "/agents/{agent_id}/runs/{run_id}/cancel", runs_cancel, ACCESS_WORKSPACE,
     "agents:run"},
    {"GET", "/metrics", metrics_get, ACCESS_WORKSPACE_OR_ALL, "metrics:read"},
    {"POST", "/metrics/refresh", metrics_refresh, ACCESS_WORKSPACE, "metrics:write"},
    {"GET", "/metrics/prometheus", prometheus_get, ACCESS_PUBLIC, "metrics:read"},
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);
