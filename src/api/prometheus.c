/* GET /metrics/prometheus. The labels come from fixed sets (route
 * templates, status codes, outcomes, providers): a raw path never becomes
 * a label, so the series stay bounded whatever the clients send. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/model_provider.h"
#include "api/app.h"
#include "api/handlers.h"
#include "api/prometheus.h"
#include "api/route_scope.h"
#include "api/routes.h"
#include "api/tenant.h"
#include "core/buf.h"
#include "http/reply.h"

/* The text being written. The first failed line (out of memory, or past
 * PROMETHEUS_TEXT_MAX) empties the buffer; failed keeps the later lines
 * out, so a half exposition is never sent. */
typedef struct expo {
    buf_t text;
    int failed;
} expo_t;

__attribute__((format(printf, 2, 3))) static void put(expo_t *e, const char *fmt, ...)
{
    if (e->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    e->failed = buf_vprintf(&e->text, fmt, ap) != BUF_OK;
    va_end(ap);
}

/* The counters' slots are the provider table's order. */
static const char *provider_name(int p)
{
    return model_provider_own(model_provider_at((size_t)p))->agno;
}

/* The outcome label: the run status's own name, from the one table. */
static const char *outcome_name(int o)
{
    switch ((counters_outcome_t)o) {
    case COUNTERS_RUN_COMPLETED:
        return run_status_name(RUN_STATUS_COMPLETED);
    case COUNTERS_RUN_ERROR:
        return run_status_name(RUN_STATUS_ERROR);
    case COUNTERS_RUN_CANCELLED:
        return run_status_name(RUN_STATUS_CANCELLED);
    default:
        return "OTHER";
    }
}

static void head(expo_t *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void status_label(int i, char out[8])
{
    int code = counters_status_code(i);
    if (code == 0)
        snprintf(out, 8, "other");
    else
        snprintf(out, 8, "%d", code);
}

/* Route patterns are ours ("/sessions/{session_id}"): nothing to escape. */
static void requests(expo_t *b, const counters_snapshot_t *s, const http_route_t *routes,
                     size_t nroutes)
{
    head(b, "agentos_http_requests_total", "counter", "Requests by route template and status.");
    for (size_t rt = 0; rt <= COUNTERS_MAX_ROUTES; rt++) {
        int known = rt < nroutes && rt < COUNTERS_MAX_ROUTES;
        for (int i = 0; i < COUNTERS_STATUSES; i++) {
            if (s->requests[rt][i] == 0)
                continue;
            char st[8];
            status_label(i, st);
            put(b, "agentos_http_requests_total{method=\"%s\",route=\"%s\",status=\"%s\"} %llu\n",
                known ? routes[rt].method : "", known ? routes[rt].pattern : "unmatched", st,
                (unsigned long long)s->requests[rt][i]);
        }
    }
}

static void histogram(expo_t *b, const char *name, const char *labels, const uint64_t *bucket,
                      uint64_t sum_us)
{
    uint64_t cum = 0;
    const char *sep = *labels ? "," : "";
    for (int i = 0; i < COUNTERS_BUCKETS; i++) {
        cum += bucket[i];
        if (i < COUNTERS_BUCKETS - 1)
            put(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, counters_bucket_le[i],
                (unsigned long long)cum);
        else
            put(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)cum);
    }
    const char *open = *labels ? "{" : "", *close = *labels ? "}" : "";
    put(b, "%s_sum%s%s%s %.6f\n", name, open, labels, close, (double)sum_us / 1e6);
    put(b, "%s_count%s%s%s %llu\n", name, open, labels, close, (unsigned long long)cum);
}

static void runs(expo_t *b, const counters_snapshot_t *s)
{
    uint64_t ended = 0;
    head(b, "agentos_runs_total", "counter", "Runs ended, by outcome.");
    for (int o = 0; o < COUNTERS_RUN_OUTCOMES; o++) {
        ended += s->runs_ended[o];
        put(b, "agentos_runs_total{outcome=\"%s\"} %llu\n", outcome_name(o),
            (unsigned long long)s->runs_ended[o]);
    }
    head(b, "agentos_runs_in_flight", "gauge", "Runs started and not ended yet.");
    put(b, "agentos_runs_in_flight %llu\n",
        (unsigned long long)(s->runs_started > ended ? s->runs_started - ended : 0));
}

static void models(expo_t *b, const counters_snapshot_t *s)
{
    head(b, "agentos_model_tokens_total", "counter", "Model tokens by provider and direction.");
    for (int p = 0; p < (int)model_provider_count(); p++) {
        put(b, "agentos_model_tokens_total{provider=\"%s\",direction=\"input\"} %llu\n",
            provider_name(p), (unsigned long long)s->model_input_tokens[p]);
        put(b, "agentos_model_tokens_total{provider=\"%s\",direction=\"output\"} %llu\n",
            provider_name(p), (unsigned long long)s->model_output_tokens[p]);
    }
    head(b, "agentos_model_request_duration_seconds", "histogram",
         "Model call latency by provider.");
    for (int p = 0; p < (int)model_provider_count(); p++) {
        char labels[48];
        snprintf(labels, sizeof labels, "provider=\"%s\"", provider_name(p));
        histogram(b, "agentos_model_request_duration_seconds", labels, s->model_bucket[p],
                  s->model_sum_us[p]);
    }
}

static void counter(expo_t *b, const char *name, const char *help, uint64_t v)
{
    head(b, name, "counter", help);
    put(b, "%s %llu\n", name, (unsigned long long)v);
}

/* The hit ratio is there to read at a glance (EdDSA costs about 100 us a
 * miss); rate() over the two counters gives it over a window. */
static void jwks(expo_t *b, const counters_snapshot_t *s)
{
    uint64_t seen = s->token_cache_hits + s->token_cache_misses;
    head(b, "agentos_token_cache_hit_ratio", "gauge",
         "Verified-token cache hits over all lookups since start.");
    put(b, "agentos_token_cache_hit_ratio %.4f\n",
        seen > 0 ? (double)s->token_cache_hits / (double)seen : 0.0);
    head(b, "agentos_jwks_loads_total", "counter",
         "better-auth key set loads (BETTER_AUTH_JWKS_URL or _FILE), by result.");
    put(b, "agentos_jwks_loads_total{result=\"ok\"} %llu\n", (unsigned long long)s->jwks_loads_ok);
    put(b, "agentos_jwks_loads_total{result=\"error\"} %llu\n",
        (unsigned long long)s->jwks_loads_failed);
    head(b, "agentos_jwks_keys", "gauge", "Keys in the better-auth key set in use.");
    put(b, "agentos_jwks_keys %llu\n", (unsigned long long)s->jwks_keys);
}

char *prometheus_render(const counters_snapshot_t *s, const http_route_t *routes, size_t nroutes,
                        size_t *len)
{
    expo_t b = {.failed = 0};
    buf_init(&b.text, PROMETHEUS_TEXT_MAX);
    requests(&b, s, routes, nroutes);
    head(&b, "agentos_http_request_duration_seconds", "histogram", "Request latency.");
    histogram(&b, "agentos_http_request_duration_seconds", "", s->latency_bucket,
              s->latency_sum_us);
    runs(&b, s);
    models(&b, s);
    counter(&b, "agentos_store_errors_total", "Store jobs that failed (unavailable or error).",
            s->store_errors);
    counter(&b, "agentos_redis_errors_total", "Redis commands and connections that failed.",
            s->redis_errors);
    counter(&b, "agentos_token_cache_hits_total", "Tokens found in the verified-token cache.",
            s->token_cache_hits);
    counter(&b, "agentos_token_cache_misses_total", "Tokens verified anew.", s->token_cache_misses);
    jwks(&b, s);
    if (b.failed)
        return NULL; /* the failed put freed the text */
    return buf_take(&b.text, len);
}

/* METRICS_PUBLIC, or the service key (with or without a workspace), or a
 * Control Plane token with metrics:read (or agent_os:admin): the counters are
 * the whole process's, so an end user never reads them. */
static int may_scrape(http_request_t *r)
{
    const app_loop_t *loop = r->loop_data;
    if (loop->app->cfg->metrics_public)
        return 1;
    auth_principal_t kind = tenant_of(r)->kind;
    if (tenant_of(r)->authenticated &&
        (kind == AUTH_PRINCIPAL_OPERATOR || kind == AUTH_PRINCIPAL_SERVICE) &&
        route_scope_held(r, "metrics:read"))
        return 1;
    if (!tenant_of(r)->authenticated)
        http_reply_error(r, 401, "UNAUTHORIZED",
                         "Metrics need the service key or an operator token");
    else
        http_reply_error(r, 403, "FORBIDDEN", "Metrics are not open to end users");
    return 0;
}

void prometheus_get(http_request_t *r)
{
    if (!may_scrape(r))
        return;
    counters_snapshot_t *s = malloc(sizeof *s);
    size_t len = 0;
    char *text = NULL;
    if (s != NULL) {
        counters_read(s);
        text = prometheus_render(s, api_routes, api_routes_count, &len);
    }
    free(s);
    if (text == NULL) {
        http_reply_error(r, 503, "OVERLOADED", "Out of memory; try again");
        return;
    }
    http_reply_copy(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}
