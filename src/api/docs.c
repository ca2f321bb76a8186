/* GET /openapi.json, GET /docs and its Swagger UI assets: files mapped at
 * start (api/static_files.c), sent as they are. The assets are a fixed
 * list, one route each: no request ever names a file. */
#include <string.h>

#include "api/app.h"
#include "api/handlers.h"
#include "http/reply.h"
#include "http/router.h"

/* The page is ours; it only points at the shipped assets and the spec,
 * so /docs works with no way out to the internet. */
static const char docs_page[] =
    "<!doctype html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>AgentOS API - Swagger UI</title>\n"
    "<link rel=\"stylesheet\" href=\"/docs/swagger-ui.css\">\n"
    "</head>\n"
    "<body>\n"
    "<div id=\"swagger-ui\"></div>\n"
    "<script src=\"/docs/swagger-ui-bundle.js\"></script>\n"
    "<script>\n"
    "window.ui = SwaggerUIBundle({url: \"/openapi.json\", dom_id: \"#swagger-ui\",\n"
    "  deepLinking: true, persistAuthorization: true});\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

/* The bytes live as long as the process (read-only after start), so they
 * are sent without a copy (http_reply_static). */
static void static_reply(http_request_t *r, const char *type, const char *cache, const char *buf,
                         size_t len)
{
    http_reply_header(r, "cache-control", cache, strlen(cache));
    http_reply_header(r, "x-content-type-options", "nosniff", strlen("nosniff"));
    http_reply_static(r, 200, type, buf, len);
}

static const api_statics_t *statics_of(http_request_t *r)
{
    return &((app_loop_t *)r->loop_data)->app->statics;
}

void openapi_get(http_request_t *r)
{
    const api_statics_t *s = statics_of(r);
    if (s->openapi.data == NULL) {
        http_reply_error(r, 503, "OPENAPI_UNAVAILABLE", s->openapi_error);
        return;
    }
    static_reply(r, "application/json", "no-cache", s->openapi.data, s->openapi.len);
}

void docs_get(http_request_t *r)
{
    const api_statics_t *s = statics_of(r);
    if (!s->docs_ready) {
        http_reply_error(r, 503, "DOCS_UNAVAILABLE", s->docs_error);
        return;
    }
    static_reply(r, "text/html; charset=utf-8", "no-cache", docs_page, sizeof(docs_page) - 1);
}

/* Which asset: the route's own path names it (the table is the list). */
void docs_asset(http_request_t *r)
{
    const api_statics_t *s = statics_of(r);
    const char *pattern = r->route->pattern;
    const char *slash = strrchr(pattern, '/');
    for (int a = 0; a < STATIC_ASSET_COUNT; a++) {
        if (strcmp(slash + 1, static_asset_name((static_asset_t)a)) != 0)
            continue;
        if (!s->docs_ready) {
            http_reply_error(r, 503, "DOCS_UNAVAILABLE", s->docs_error);
            return;
        }
        static_reply(r, static_asset_type((static_asset_t)a), "public, max-age=86400",
                     s->assets[a].data, s->assets[a].len);
        return;
    }
    http_reply_error(r, 404, "NOT_FOUND", "Not Found");
}
