/* Liveness, readiness and the service's identity: no auth, no database. */
#include "api/app.h"
#include "api/handlers.h"
#include "api/store_job.h"
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

/* ---- /ready: the store answers a ping through the pool, like any request ---- */

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

static void ready_reply(http_request_t *r, api_job_t *job)
{
    const app_t *app = app_of(r);
    int ok = job->rc == STORE_OK;
    json_t *checks = json_object();
    json_object_set_new(checks, "redis", redis_check(r->loop_data));
    json_object_set_new(checks, "store",
                        json_pack("{s:s, s:s}", "status", ok ? "ok" : "unavailable", "backend",
                                  store_backend_name(app->store)));
    http_reply_json(
        r, ok ? 200 : 503,
        json_pack("{s:s, s:o}", "status", ok ? "ready" : "unavailable", "checks", checks));
}

static store_rc_t ping_work(store_conn_t *c, void *data)
{
    (void)data;
    return store_ping(c);
}

void system_ready(http_request_t *r)
{
    api_job_t *job = api_job_new(r, ping_work, ready_reply);
    if (job != NULL)
        job->reply_errors = 1; /* a failed ping is an answer: the check says so */
    api_job_submit(r, job);
}
