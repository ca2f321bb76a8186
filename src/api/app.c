#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "api/app.h"
#include "api/handlers.h"
#include "core/log.h"
#include "core/secret.h"

static void free_control_plane(app_t *app)
{
    free(app->cp_pem);
    free(app->cp_jwks);
    app->cp_pem = app->cp_jwks = NULL;
    app->has_cp = 0;
}

/* Loads the Control Plane keys and checks them once here, so a bad key
 * stops the start with its reason instead of failing in every loop. */
static int init_control_plane(app_t *app, const config_t *cfg, char *err, size_t errlen)
{
    if (cfg->jwt_verification_key == NULL && cfg->jwt_jwks_file == NULL)
        return 0;
    if ((cfg->jwt_verification_key != NULL &&
         (app->cp_pem = cp_jwt_load_pem(cfg->jwt_verification_key, err, errlen)) == NULL) ||
        (cfg->jwt_jwks_file != NULL &&
         (app->cp_jwks = cp_jwt_load_file(cfg->jwt_jwks_file, "JWT_JWKS_FILE", err, errlen)) ==
             NULL)) {
        free_control_plane(app);
        return -1;
    }
    app->cp.pem = app->cp_pem;
    app->cp.jwks = app->cp_jwks;
    app->cp.leeway_s = cfg->jwt_leeway;
    app->cp.issuer = cfg->jwt_cp_issuer;
    /* app->os_id is filled (AGENTOS_ID, or os_meta) by app_load_os_id
     * before any loop verifies a token. */
    app->cp.audience = !cfg->jwt_verify_audience ? NULL : app->os_id;
    app->cp.require_exp = cfg->jwt_require_exp;
    cp_verifier_t *probe = cp_verifier_new(&app->cp, err, errlen);
    if (probe == NULL) {
        free_control_plane(app);
        return -1;
    }
    cp_verifier_free(probe);
    app->has_cp = 1;
    return 0;
}

/* JWT_ALGORITHMS against the key sources: an asymmetric algorithm needs
 * better-auth's JWKS, and a JWKS needs one of them. */
static int init_algorithms(app_t *app, const config_t *cfg, char *err, size_t errlen)
{
    int has_jwks = cfg->jwks_url != NULL || cfg->jwks_file != NULL;
    if (auth_algorithms_parse(cfg->jwt_algorithms, &app->jwt.algorithms, &app->jwks_algs) != 0) {
        snprintf(err, errlen,
                 "JWT_ALGORITHMS: must list names among HS256, HS384, HS512, EdDSA, "
                 "ES256, ES384, ES512, RS256, RS384, RS512, PS256, PS384, PS512");
        return -1;
    }
    if (app->jwks_algs != 0 && !has_jwks) {
        snprintf(err, errlen,
                 "JWT_ALGORITHMS: %s needs BETTER_AUTH_JWKS_URL or "
                 "BETTER_AUTH_JWKS_FILE (the keys of better-auth's jwt plugin)",
                 "an asymmetric algorithm (EdDSA, ES*, RS*, PS*)");
        return -1;
    }
    if (has_jwks && app->jwks_algs == 0) {
        snprintf(err, errlen,
                 "JWT_ALGORITHMS: lists none of EdDSA, ES*, RS*, PS* while "
                 "BETTER_AUTH_JWKS_URL or BETTER_AUTH_JWKS_FILE is set");
        return -1;
    }
    app->hs_allowed = app->jwt.algorithms != 0;
    if (!app->hs_allowed) /* the verifier still carries the claim rules; HS* is refused */
        app->jwt.algorithms = JWT_ALG_HS256;
    return 0;
}

/* better-auth's key set: loaded once now (a file that fails stops the
 * start; a URL keeps trying), then by its own thread. */
static int init_jwks(app_t *app, const config_t *cfg, char *err, size_t errlen)
{
    if (cfg->jwks_url == NULL && cfg->jwks_file == NULL)
        return 0;
    jwks_source_config_t jc = {
        .url = cfg->jwks_url,
        .file = cfg->jwks_file,
        .max_bytes = cfg->jwks_max_bytes,
        .max_keys = (size_t)cfg->jwks_max_keys,
        .timeout_ms = (long)cfg->jwks_timeout_s * 1000,
        .refetch_min_s = cfg->jwks_refetch_s,
        .refresh_s = cfg->jwks_refresh_s,
        .retry_max_s = cfg->jwks_refetch_s > 0 ? cfg->jwks_refetch_s : 60,
    };
    app->jwks = jwks_source_new(&jc, err, errlen);
    return app->jwks != NULL ? 0 : -1;
}

int app_init(app_t *app, const config_t *cfg, char *err, size_t errlen)
{
    memset(app, 0, sizeof(*app));
    app->cfg = cfg;
    ids_uuid4(app->owner_id);
    timeutil_iso8601(timeutil_wall_us(), app->instantiated_at);
    system_health_prepare(app);
    if (init_algorithms(app, cfg, err, errlen) != 0)
        return -1;
    if (init_control_plane(app, cfg, err, errlen) != 0)
        return -1; /* before anything else is allocated: nothing to free */
    if (init_jwks(app, cfg, err, errlen) != 0) {
        free_control_plane(app);
        return -1;
    }
    if (cfg->auth_secret != NULL) {
        app->jwt.secret = (const unsigned char *)cfg->auth_secret;
        app->jwt.secret_len = strlen(cfg->auth_secret);
    } else {
        if (getrandom(app->fallback_secret, sizeof(app->fallback_secret), 0) < 0)
            memset(app->fallback_secret, 0x5a, sizeof(app->fallback_secret));
        app->jwt.secret = app->fallback_secret;
        app->jwt.secret_len = sizeof(app->fallback_secret);
        log_msg(LOG_LEVEL_WARN, "BETTER_AUTH_SECRET is not set (development): every token will be "
                                "refused; set it to use protected routes");
    }
    app->rl_local = ratelimit_local_new(10000);
    app->live = live_runs_new();
    if (app->rl_local == NULL || app->live == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    app->jwt.leeway_s = cfg->jwt_leeway;
    app->jwt.issuer = cfg->jwt_issuer;
    app->jwt.audience = cfg->jwt_audience;
    app->jwt.require_exp = cfg->jwt_require_exp;
    app->jwt.workspace_claim = cfg->jwt_workspace_claim;
    app->jwt.session_claim = cfg->jwt_session_claim;
    app->jwt.better_auth_origin = cfg->better_auth_origin;
    return 0;
}

/* A loop without its state cannot serve anything: failing here is fatal.
 * The configuration was validated at start, so only memory can run out. */
static void *must(void *p, int worker, const char *what)
{
    if (p == NULL) {
        log_msg(LOG_LEVEL_ERROR, "worker %d: could not create %s", worker, what);
        abort();
    }
    return p;
}

const char *app_os_id(const app_t *app)
{
    return app->os_id;
}

int app_load_os_id(app_t *app, char *err, size_t errlen)
{
    const char *fixed = app->cfg->os_id;
    if (fixed != NULL && fixed[0] != '\0') {
        if (!ids_valid(fixed, strlen(fixed))) {
            snprintf(err, errlen, "AGENTOS_ID: must be 1 to 128 bytes of UTF-8 without controls");
            return -1;
        }
        snprintf(app->os_id, sizeof(app->os_id), "%s", fixed);
        return 0;
    }
    char candidate[IDS_UUID_LEN + 1];
    ids_uuid4(candidate);
    char got[STORE_META_VALUE_MAX + 1] = "";
    store_rc_t rc = store_meta_get_or_set(store_conn_get(app->store), "os_id", candidate, got);
    if (rc != STORE_OK) {
        snprintf(err, errlen, "the os_id could not be read from the store (rc %d)", (int)rc);
        return -1;
    }
    snprintf(app->os_id, sizeof(app->os_id), "%s", got);
    return 0;
}

void app_free(app_t *app)
{
    api_statics_free(&app->statics);
    free(app->config_body);
    app->config_body = NULL;
    ratelimit_local_free(app->rl_local);
    app->rl_local = NULL;
    live_runs_free(app->live);
    app->live = NULL;
    registry_free(&app->agents);
    free_control_plane(app);
    jwks_source_free(app->jwks);
    app->jwks = NULL;
    secret_wipe(app->fallback_secret, sizeof(app->fallback_secret));
}

void *app_loop_init(int worker, uv_loop_t *loop, void *arg)
{
    const app_t *app = arg;
    app_loop_t *l = must(calloc(1, sizeof(*l)), worker, "the loop state");
    l->app = app;
    list_init(&l->runs);
    l->auth =
        must(auth_ctx_new(&app->jwt, app->cfg->token_cache_size), worker, "the token verifier");
    char cp_err[256];
    if (app->has_cp && auth_ctx_enable_control_plane(l->auth, &app->cp, cp_err, sizeof cp_err) != 0)
        must(NULL, worker, "the Control Plane token verifier");
    if (app->jwks != NULL &&
        auth_ctx_enable_jwks(l->auth, app->jwks, app->jwks_algs, app->hs_allowed) != 0)
        must(NULL, worker, "the JWKS token verifier");
    if (app->cfg->redis_url != NULL) {
        char err[256];
        l->redis = must(redis_client_new(loop, app->cfg->redis_url, NULL, err, sizeof(err)), worker,
                        "the Redis client");
    }
    ratelimit_config_t rl = {.limit = app->cfg->rate_limit_per_minute, .local = app->rl_local};
    l->ratelimit = must(ratelimit_new(l->redis, &rl), worker, "the rate limiter");
    l->uv = loop;
    l->worker = worker;
    l->inbox = must(live_inbox_new(loop, runs_on_cancel, l), worker, "the run inbox");
    return l;
}

/* Made at the loop's first model or tool call, not at start: an idle
 * service holds no curl multi handle (issue 11, idle footprint). */
http_client_t *app_loop_http(app_loop_t *l)
{
    if (l->http == NULL)
        l->http = must(http_client_new(l->uv), l->worker, "the HTTP client");
    return l->http;
}

void app_loop_free(void *loop_data)
{
    app_loop_t *l = loop_data;
    if (l == NULL)
        return;
    if (l->nruns > 0) {
        /* The grace period ended with runs in flight: they still point at
         * this state, and the process is about to exit. Leave it be. */
        log_msg(LOG_LEVEL_WARN, "loop stopped with %zu runs in flight", l->nruns);
        return;
    }
    auth_ctx_free(l->auth);
    ratelimit_free(l->ratelimit);
    if (l->redis != NULL)
        redis_client_free(l->redis);
    http_client_free(l->http);
    live_inbox_close(l->inbox);
    free(l);
}

size_t app_loop_busy(void *loop_data)
{
    return ((app_loop_t *)loop_data)->nruns;
}

void app_loop_grace_over(void *loop_data)
{
    app_loop_t *l = loop_data;
    if (l->nruns > 0)
        log_msg(LOG_LEVEL_WARN, "shutdown grace period over: cancelling %zu runs", l->nruns);
    runs_cancel_all(l, "shutdown");
}
