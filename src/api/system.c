/* Liveness, readiness and the service's identity: no auth; only /ready
 * reaches the database, through one cached probe per process. */
#include <stdlib.h>

#include "api/app.h"
#include "api/handlers.h"
#include "api/store_job.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "http/pending.h"
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

/* ---- /ready: the store answers a ping through the pool, at most about
 * once a second; calls in between reuse the last answer ---- */

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

/* One probe result for the whole process: a burst of /ready calls never
 * queues more than about one ping a second, whatever the loops. */
#define PROBE_MAX_AGE_US 1000000
/* A probe in flight this long: the store is too slow to call ready. */
#define PROBE_SLOW_US 2000000

typedef struct ready_cache {
    uv_mutex_t mu;
    int have;          /* a probe has answered */
    store_rc_t rc;     /* its answer */
    uint64_t at_us;    /* when */
    int in_flight;     /* a probe is queued or running */
    uint64_t since_us; /* since when */
} ready_cache_t;

static ready_cache_t cache;
static uv_once_t cache_once = UV_ONCE_INIT;

static void cache_init(void)
{
    if (uv_mutex_init(&cache.mu) != 0)
        abort();
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
    json_t *body =
        json_pack("{s:s, s:o}", "status", ok ? "ready" : "unavailable", "checks", checks);
    if (rc == STORE_BUSY) {
        json_object_set_new(body, "code", json_string("STORE_BUSY"));
        json_object_set_new(body, "detail",
                            json_string("The store has too much work queued; try again"));
    }
    http_reply_json(r, ok ? 200 : 503, body);
}

/* 1: *rc is the answer to give now; 0: this call probes (in_flight set).
 * A store call that met no database since the last probe makes it stale. */
static int cached_answer(const store_t *store, store_rc_t *rc)
{
    uint64_t now = timeutil_mono_us();
    uint64_t down_at = store_unavailable_at_us(store);
    int answered = 1;
    uv_mutex_lock(&cache.mu);
    int usable = cache.have && (cache.rc != STORE_OK || down_at < cache.at_us);
    if (usable && now - cache.at_us <= PROBE_MAX_AGE_US)
        *rc = cache.rc;
    else if (cache.in_flight)
        *rc = usable && now - cache.since_us < PROBE_SLOW_US ? cache.rc : STORE_UNAVAILABLE;
    else {
        cache.in_flight = 1;
        cache.since_us = now;
        answered = 0;
    }
    uv_mutex_unlock(&cache.mu);
    return answered;
}

static void cache_result(store_rc_t rc, int probed)
{
    uv_mutex_lock(&cache.mu);
    if (probed) {
        cache.have = 1;
        cache.rc = rc;
        cache.at_us = timeutil_mono_us();
    }
    cache.in_flight = 0;
    uv_mutex_unlock(&cache.mu);
}

static store_rc_t ping_work(store_conn_t *c, void *data)
{
    (void)data;
    return store_ping(c);
}

/* The probe outlives its request: the answer is kept either way. */
static void ping_done(store_rc_t rc, void *data)
{
    http_pending_t *p = data;
    cache_result(rc, 1);
    http_request_t *r = http_pending_request(p);
    if (r != NULL)
        ready_reply(r, rc);
    http_pending_release(p);
}

void system_ready(http_request_t *r)
{
    uv_once(&cache_once, cache_init);
    store_rc_t rc;
    if (cached_answer(app_of(r)->store, &rc)) {
        ready_reply(r, rc);
        return;
    }
    http_pending_t *p = http_pending_new(r);
    int sub = p == NULL ? -1
                        : store_submit_bounded(app_of(r)->store, r->req->conn->ctx->loop, ping_work,
                                               ping_done, p);
    if (sub == 0) {
        log_msg(LOG_DEBUG, "ready: store probe queued");
        return;
    }
    if (p != NULL)
        http_pending_release(p);
    cache_result(STORE_UNAVAILABLE, 0);
    ready_reply(r, sub == STORE_SUBMIT_BUSY ? STORE_BUSY : STORE_UNAVAILABLE);
}
