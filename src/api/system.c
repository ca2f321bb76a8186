/* Liveness, readiness and the service's identity: no auth; only /ready
 * reaches the database, through one cached probe per process. */
#include "api/app.h"
#include "api/handlers.h"
#include "api/ready_probe.h"
#include "http/reply.h"

static const app_t *app_of(http_request_t *r)
{
    return ((app_loop_t *)r->loop_data)->app;
}

static json_t *health_json(const app_t *app)
{
    return json_pack("{s:s, s:s, s:s}", "status", "ok", "version", AGENTOS_VERSION,
                     "instantiated_at", app->instantiated_at);
}

/* The body never changes: building and dumping it per request was most of
 * a /health request's instructions (issue 11). */
void system_health_prepare(app_t *app)
{
    json_t *body = health_json(app);
    size_t n = body != NULL ? json_dumpb(body, app->health_body, sizeof(app->health_body),
                                         JSON_COMPACT | JSON_REAL_PRECISION(15))
                            : 0;
    json_decref(body);
    app->health_len = n <= sizeof(app->health_body) ? n : 0;
}

void system_health(http_request_t *r)
{
    const app_t *app = app_of(r);
    if (app->health_len == 0) {
        http_reply_json(r, 200, health_json(app));
        return;
    }
    http_reply_copy(r, 200, "application/json", app->health_body, app->health_len);
}

void system_root(http_request_t *r)
{
    http_reply_json(r, 200,
                    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", "AgentOS API", "id",
                              app_os_id(app_of(r)), "version", AGENTOS_VERSION, "health", "/health",
                              "info", "/info", "docs", "/docs"));
}

/* No teams or workflows yet: Agno's connect flow lists both, so empty lists. */
void system_empty_list(http_request_t *r)
{
    http_reply_json(r, 200, json_array());
}

/* ---- /ready: the store answers a ping through the pool, at most about
 * once a second (api/ready_probe.c); calls in between reuse the answer ---- */

/* Redis never makes the service unready: without it, rate limits count
 * locally. The check says which. */
static json_t *redis_check(const app_loop_t *loop)
{
    if (loop->redis == NULL)
        return json_pack("{s:s}", "status", "disabled");
    char err[256] = "";
    redis_status_t st = redis_client_status(loop->redis, err, sizeof(err));
    int local = st != REDIS_STATUS_CONNECTED || ratelimit_degraded(loop->ratelimit);
    json_t *c = json_pack("{s:s, s:s}", "status",
                          st == REDIS_STATUS_CONNECTED ? "ok" : redis_status_name(st), "rate_limit",
                          local ? "local" : "redis");
    if (err[0] != '\0')
        json_object_set_new(c, "error", json_string(err));
    return c;
}

/* better-auth's key set never makes the service unready either: the last
 * good set stays in use, and HS256 tokens do not need it. The check says
 * whether the last load worked and how old the set in use is. */
static json_t *jwks_check(const app_t *app)
{
    jwks_status_t st;
    jwks_source_status(app->jwks, &st);
    json_t *c = json_pack("{s:s, s:b, s:s, s:I}", "status", st.ok ? "ok" : "error", "ok", st.ok,
                          "source", st.source, "keys", (json_int_t)st.keys);
    json_object_set_new(c, "age_s", st.age_s >= 0 ? json_integer(st.age_s) : json_null());
    if (!st.ok)
        json_object_set_new(c, "error", json_string(st.error));
    return c;
}

static const char *store_status(store_rc_t rc)
{
    return rc == STORE_OK ? "ok" : rc == STORE_BUSY ? "busy" : "unavailable";
}

static void ready_reply(http_request_t *r, store_rc_t rc)
{
    const app_t *app = app_of(r);
    int ok = rc == STORE_OK;
    json_t *checks = json_object();
    json_object_set_new(checks, "redis", redis_check(r->loop_data));
    json_object_set_new(checks, "store",
                        json_pack("{s:s, s:s}", "status", store_status(rc), "backend",
                                  store_backend_name(app->store)));
    if (app->jwks != NULL)
        json_object_set_new(checks, "jwks", jwks_check(app));
    json_t *body =
        json_pack("{s:s, s:o}", "status", ok ? "ready" : "unavailable", "checks", checks);
    if (rc == STORE_BUSY) {
        json_object_set_new(body, "code", json_string("STORE_BUSY"));
        json_object_set_new(body, "detail",
                            json_string("The store has too much work queued; try again"));
    }
    http_reply_json(r, ok ? 200 : 503, body);
}

void system_ready(http_request_t *r)
{
    ready_probe(r, app_of(r)->store, ready_reply);
}
