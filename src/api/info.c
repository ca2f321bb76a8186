/* GET /info (public, as in Agno 3.1.10: never authenticated) and GET
 * /config (any authenticated caller): what the Control Plane reads when it
 * connects. /config's bytes are built once by main; it never changes. */
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/config_view.h"
#include "api/handlers.h"
#include "auth/auth_mode.h"
#include "http/reply.h"

/* The Agno API version these routes follow: InfoResponse requires an
 * agno_version, and we are not agno. */
#define INFO_AGNO_API_VERSION "3.1.10"

static const app_t *app_of(http_request_t *r)
{
    return ((app_loop_t *)r->loop_data)->app;
}

void info_get(http_request_t *r)
{
    const app_t *app = app_of(r);
    /* user_isolation: we isolate by workspace (the token names it), not by
     * Agno's per-user switch, which a client would have to act on. */
    json_t *body = json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:i, s:i, s:{s:b, s:n, s:n, s:b}, s:s, s:b}", "os_id",
        app_os_id(app), "name", CONFIG_VIEW_NAME, "os_version", AGENTOS_VERSION, "agno_version",
        INFO_AGNO_API_VERSION, "agent_count", (json_int_t)app->agents.nagents, "team_count", 0,
        "workflow_count", 0, "mcp", "enabled", 0, "path", "oauth", "tool_run_endpoint", 0,
        "auth_mode", auth_mode_name(app->cfg), "user_isolation", 0);
    http_reply_json(r, 200, body);
}

void config_get(http_request_t *r)
{
    const app_t *app = app_of(r);
    if (app->config_body == NULL) {
        http_reply_error(r, 500, "INTERNAL", "The configuration could not be built");
        return;
    }
    char *copy = malloc(app->config_len);
    if (copy == NULL) {
        http_reply_error(r, 500, "INTERNAL", "out of memory");
        return;
    }
    memcpy(copy, app->config_body, app->config_len);
    http_reply_bytes(r, 200, copy, app->config_len);
}
