#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "api/app.h"
#include "core/log.h"

int app_init(app_t *app, const config_t *cfg, char *err, size_t errlen)
{
    memset(app, 0, sizeof(*app));
    app->cfg = cfg;
    ids_uuid4(app->os_id);
    timeutil_iso8601(timeutil_wall_us(), app->instantiated_at);
    if (jwt_algorithms_parse(cfg->jwt_algorithms, &app->jwt.algorithms) != 0) {
        snprintf(err, errlen, "JWT_ALGORITHMS: must list HS256, HS384 or HS512");
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
        log_msg(LOG_WARN, "BETTER_AUTH_SECRET is not set (development): every token will be "
                          "refused; set it to use protected routes");
    }
    app->jwt.leeway_s = cfg->jwt_leeway;
    app->jwt.issuer = cfg->jwt_issuer;
    app->jwt.audience = cfg->jwt_audience;
    return 0;
}

void *app_loop_init(int worker, uv_loop_t *loop, void *arg)
{
    (void)loop;
    const app_t *app = arg;
    app_loop_t *l = calloc(1, sizeof(*l));
    if (l == NULL)
        abort(); /* a loop without its state cannot serve anything */
    l->app = app;
    l->auth = auth_ctx_new(&app->jwt, app->cfg->token_cache_size);
    if (l->auth == NULL) {
        log_msg(LOG_ERROR, "worker %d: could not create the token verifier", worker);
        abort();
    }
    return l;
}

void app_loop_free(void *loop_data)
{
    app_loop_t *l = loop_data;
    if (l == NULL)
        return;
    auth_ctx_free(l->auth);
    free(l);
}
