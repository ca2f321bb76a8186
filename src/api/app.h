/* The application's shared, read-only state and its per-loop state. */
#ifndef AGENTOS_API_APP_H
#define AGENTOS_API_APP_H

#include <uv.h>

#include "net/http_client.h"
#include "agent/registry.h"
#include "api/live_runs.h"
#include "api/static_files.h"
#include "auth/auth.h"
#include "cache/ratelimit.h"
#include "cache/redis.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/list.h"
#include "core/timeutil.h"
#include "store/store.h"
#include "store/store_finisher.h"

#define APP_OS_ID_MAX 128
#define APP_HEALTH_MAX 160

typedef struct app {
    const config_t *cfg;
    store_t *store;              /* opened by main */
    store_finisher_t *finisher;  /* started by main: finish writes not landed yet */
    ratelimit_local_t *rl_local; /* the process's rate-limit counter, shared by the loops */
    agent_registry_t agents;     /* loaded by main */
    live_runs_t *live;           /* the runs in flight, across loops */
    jwt_config_t jwt;
    cp_jwt_config_t cp; /* Control Plane tokens: used when has_cp */
    int has_cp;
    char *cp_pem;                      /* JWT_VERIFICATION_KEY's key text, owned */
    char *cp_jwks;                     /* JWT_JWKS_FILE's text, owned */
    jwks_source_t *jwks;               /* better-auth's key set, or NULL; owned */
    unsigned jwks_algs;                /* JWT_ALGORITHMS' asymmetric ones (JWK_ALG_*) */
    int hs_allowed;                    /* JWT_ALGORITHMS names an HS* */
    unsigned char fallback_secret[32]; /* development without a secret: nothing verifies */
    char owner_id[IDS_UUID_LEN + 1];   /* this process, in run_owners: never shared */
    char os_id[APP_OS_ID_MAX + 1];     /* AGENTOS_ID, else os_meta's: app_os_id */
    char instantiated_at[TIMEUTIL_ISO_LEN];
    char health_body[APP_HEALTH_MAX]; /* GET /health, rendered once: it never changes */
    size_t health_len;                /* 0 when it did not fit: rendered per request */
    api_statics_t statics;            /* /openapi.json and /docs, read by main */
    char *config_body;                /* GET /config, built once by main: it never changes */
    size_t config_len;
} app_t;

typedef struct app_loop {
    const app_t *app;
    auth_ctx_t *auth;
    redis_client_t *redis; /* NULL without REDIS_URL */
    ratelimit_t *ratelimit;
    uv_loop_t *uv;       /* the loop this state lives on */
    int worker;          /* its index, for the logs */
    http_client_t *http; /* model and tool calls: NULL until app_loop_http */
    live_inbox_t *inbox; /* cancels sent from other loops */
    list_t runs;         /* the runs this loop is running (api/runs.c's api_run_t) */
    size_t nruns;
} app_loop_t;

/* This AgentOS's id: AGENTOS_ID, or the one its database holds (os_meta,
 * made at first start). The Control Plane token's audience. */
const char *app_os_id(const app_t *app);
/* Sets os_id at start, before anything serves: AGENTOS_ID when set, else
 * the database's (made on first start). -1 with err when neither can be had. */
int app_load_os_id(app_t *app, char *err, size_t errlen);
/* Fills app from cfg. Returns -1 with a message in err on a bad value. */
int app_init(app_t *app, const config_t *cfg, char *err, size_t errlen);
void app_free(app_t *app);
/* http_server_config_t's loop_init / loop_free. */
void *app_loop_init(int worker, uv_loop_t *loop, void *arg);
void app_loop_free(void *loop_data);
/* The loop's HTTP client for model and tool calls, made at first use; a
 * loop that cannot make it aborts, as one that cannot start. */
http_client_t *app_loop_http(app_loop_t *l);
/* http_server_config_t's loop_busy: the runs this loop still runs. */
size_t app_loop_busy(void *loop_data);
/* http_server_config_t's loop_grace_over: the runs still going end
 * CANCELLED ("shutdown"), their clients told, their rows written. */
void app_loop_grace_over(void *loop_data);

#endif
