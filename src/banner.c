/* The start banner (banner.h). Its URLs lose their credentials: the store
 * shows host, port and database, Redis host, port and db. */
#include <stdio.h>
#include <string.h>

#include "auth/auth_mode.h"
#include "banner.h"
#include "cache/redis.h"
#include "core/buf.h"
#include "core/log.h"

#define BANNER_FIELD_MAX 1024

/* "postgres 127.0.0.1:5432/agentos schema=agentos": the URL's host part and
 * path, never its user or password. A keyword=value conninfo shows none. */
static void store_text(const config_t *cfg, const app_t *app, char *out, size_t n)
{
    const char *backend = store_backend_name(app->store);
    if (strcmp(backend, "postgres") != 0 || cfg->database_url == NULL) {
        snprintf(out, n, "%s %s", backend, cfg->data_dir);
        return;
    }
    const char *p = strstr(cfg->database_url, "://");
    if (p == NULL) {
        snprintf(out, n, "postgres schema=%s", cfg->db_schema);
        return;
    }
    p += 3;
    /* As libpq reads it (conninfo_uri_parse_options): credentials end at
     * the first '@' before any '/', and may hold a raw '?'. */
    size_t auth_end = strcspn(p, "@/");
    const char *host = p[auth_end] == '@' ? p + auth_end + 1 : p;
    snprintf(out, n, "postgres %.*s schema=%s", (int)strcspn(host, "?"), host, cfg->db_schema);
}

static void redis_text(const config_t *cfg, char *out, size_t n)
{
    redis_url_t url;
    char err[256];
    if (cfg->redis_url == NULL) {
        snprintf(out, n, "off (single replica)");
        return;
    }
    if (redis_url_parse(cfg->redis_url, &url, err, sizeof(err)) != 0) {
        snprintf(out, n, "unparsable");
        return;
    }
    snprintf(out, n, "%s:%d/%d", url.host, url.port, url.db);
    redis_url_free(&url);
}

/* The agents' ids, comma separated; "none" without any. */
static void agents_text(const app_t *app, char *out, size_t n)
{
    buf_t b;
    buf_init(&b, n - 1);
    buf_rc_t rc = BUF_OK;
    for (size_t i = 0; i < app->agents.nagents && rc == BUF_OK; i++)
        rc = buf_printf(&b, "%s%s", i ? ", " : "", app->agents.agents[i].id);
    snprintf(out, n, "%s", app->agents.nagents == 0 ? "none" : rc == BUF_OK ? buf_ptr(&b) : "many");
    buf_free(&b);
}

/* End users' tokens first, then the callers /info's auth_mode speaks of. */
static void auth_text(const config_t *cfg, char *out, size_t n)
{
    int cp = cfg->jwt_verification_key != NULL || cfg->jwt_jwks_file != NULL;
    snprintf(out, n, "jwt %s%s%s (auth_mode %s)", cfg->jwt_algorithms,
             cfg->os_security_key != NULL ? ", service key" : "", cp ? ", control plane" : "",
             auth_mode_name(cfg));
}

void banner_log(const config_t *cfg, const app_t *app)
{
    char url[300], store[BANNER_FIELD_MAX], redis[300], agents[BANNER_FIELD_MAX], auth[300];
    /* A wildcard address is not one to browse to: localhost is. */
    int any = strcmp(cfg->host, "0.0.0.0") == 0 || strcmp(cfg->host, "::") == 0;
    snprintf(url, sizeof(url), "http://%s:%d", any ? "localhost" : cfg->host, cfg->port);
    store_text(cfg, app, store, sizeof(store));
    redis_text(cfg, redis, sizeof(redis));
    agents_text(app, agents, sizeof(agents));
    auth_text(cfg, auth, sizeof(auth));
    char listen[300];
    snprintf(listen, sizeof(listen), "%s:%d", cfg->host, cfg->port);
    log_block(LOG_LEVEL_INFO, "listening",
              json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s}", "url", url, "listen",
                        listen, "store", store, "redis", redis, "agents", agents, "auth", auth,
                        "env", cfg->env, "workers", cfg->workers, "version", AGENTOS_VERSION));
}
