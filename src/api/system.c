/* Liveness, readiness and the service's identity: no auth, no database. */
#include "api/app.h"
#include "api/handlers.h"
#include "http/reply.h"

static const app_t *app_of(http_request_t *r)
{
    return ((app_loop_t *)r->loop_data)->app;
}

void system_health(http_request_t *r)
{
    http_reply_json(r, 200,
                    json_pack("{s:s, s:s, s:s}", "status", "ok", "version", AGENTOS_VERSION,
                              "instantiated_at", app_of(r)->instantiated_at));
}

void system_root(http_request_t *r)
{
    http_reply_json(r, 200,
                    json_pack("{s:s, s:s, s:s}", "name", "AgentOS API", "id", app_of(r)->os_id,
                              "version", AGENTOS_VERSION));
}

void system_ready(http_request_t *r)
{
    http_reply_json(r, 200, json_pack("{s:s, s:{}}", "status", "ready", "checks"));
}
