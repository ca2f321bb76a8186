#include "api/handlers.h"
#include "api/routes.h"
#include "api/tenant.h"

const http_route_t api_routes[] = {
    {"GET", "/health", system_health, ACCESS_NONE},
    {"GET", "/ready", system_ready, ACCESS_NONE},
    {"GET", "/", system_root, ACCESS_PUBLIC},
    {"GET", "/me", me_get, ACCESS_PROTECTED},
    {"GET", "/sessions", sessions_list, ACCESS_WORKSPACE_OR_ALL},
    {"POST", "/sessions", sessions_create, ACCESS_WORKSPACE},
    {"DELETE", "/sessions", sessions_delete_many, ACCESS_WORKSPACE},
    {"GET", "/sessions/{session_id}", sessions_get, ACCESS_WORKSPACE_OR_ALL},
    {"PATCH", "/sessions/{session_id}", sessions_patch, ACCESS_WORKSPACE},
    {"DELETE", "/sessions/{session_id}", sessions_delete, ACCESS_WORKSPACE},
    {"GET", "/sessions/{session_id}/runs", sessions_runs, ACCESS_WORKSPACE_OR_ALL},
    {"GET", "/sessions/{session_id}/runs/{run_id}", sessions_run_get, ACCESS_WORKSPACE_OR_ALL},
    {"GET", "/sessions/{session_id}/run-previews", sessions_run_previews, ACCESS_WORKSPACE_OR_ALL},
    {"POST", "/sessions/{session_id}/rename", sessions_rename, ACCESS_WORKSPACE},
    {"GET", "/agents", agents_list, ACCESS_PROTECTED},
    {"GET", "/agents/{agent_id}", agents_get, ACCESS_PROTECTED},
    {"GET", "/models", models_list, ACCESS_PROTECTED},
    {"GET", "/teams", system_empty_list, ACCESS_PROTECTED},
    {"GET", "/workflows", system_empty_list, ACCESS_PROTECTED},
    {"POST", "/agents/{agent_id}/runs", runs_create, ACCESS_WORKSPACE},
    {"GET", "/agents/{agent_id}/runs", runs_list, ACCESS_WORKSPACE_OR_ALL},
    {"GET", "/agents/{agent_id}/runs/{run_id}", runs_get, ACCESS_WORKSPACE_OR_ALL},
    {"POST", "/agents/{agent_id}/runs/{run_id}/cancel", runs_cancel, ACCESS_WORKSPACE},
    {"GET", "/metrics", metrics_get, ACCESS_WORKSPACE_OR_ALL},
    {"POST", "/metrics/refresh", metrics_refresh, ACCESS_WORKSPACE},
    {"GET", "/metrics/prometheus", prometheus_get, ACCESS_PUBLIC},
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);
