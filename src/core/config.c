/* Validates the configuration once at start; a bad value stops start-up
 * with one line naming the variable. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/config_jwt.h"
#include "core/secret.h"

#define SECRET_MIN_BYTES 32

typedef struct loader {
    const config_source_t *src;
    char *err;
    size_t errlen;
    int failed;
} loader_t;

static void fail(loader_t *l, const char *name, const char *what)
{
    if (!l->failed)
        snprintf(l->err, l->errlen, "%s: %s", name, what);
    l->failed = 1;
}

/* Returns a malloc'd copy of the value, or of def (NULL stays NULL).
 * An empty value counts as unset. */
static char *get_str(loader_t *l, const char *name, const char *def)
{
    const char *v = config_source_get(l->src, name);
    if (v == NULL || *v == '\0')
        v = def;
    if (v == NULL)
        return NULL;
    char *copy = strdup(v);
    if (copy == NULL)
        fail(l, name, "out of memory");
    return copy;
}

static long long get_int(loader_t *l, const char *name, long long def, long long min, long long max)
{
    const char *v = config_source_get(l->src, name);
    if (v == NULL || *v == '\0')
        return def;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max) {
        char what[96];
        snprintf(what, sizeof(what), "must be a whole number from %lld to %lld", min, max);
        fail(l, name, what);
        return def;
    }
    return n;
}

static int default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static int get_bool(loader_t *l, const char *name, int def);

static char *get_claim(loader_t *l, const char *name, const char *def)
{
    char *v = get_str(l, name, def);
    const char *problem = v != NULL ? config_jwt_claim_problem(v) : NULL;
    if (problem != NULL)
        fail(l, name, problem);
    return v;
}

/* The end-user token rules: exp, the claims mapped, and the iss/aud that
 * better-auth's jwt() plugin writes (its base URL's origin). */
static void load_token_rules(loader_t *l, config_t *cfg)
{
    cfg->jwt_require_exp = get_bool(l, "JWT_REQUIRE_EXP", !cfg->development);
    cfg->jwt_workspace_claim = get_claim(l, "JWT_WORKSPACE_CLAIM", "workspaceId");
    cfg->jwt_session_claim = get_claim(l, "JWT_SESSION_CLAIM", "sessionId");
    if (cfg->jwt_workspace_claim != NULL && cfg->jwt_session_claim != NULL &&
        strcmp(cfg->jwt_workspace_claim, cfg->jwt_session_claim) == 0)
        fail(l, "JWT_SESSION_CLAIM", "must differ from JWT_WORKSPACE_CLAIM");
    const char *url = config_source_get(l->src, "BETTER_AUTH_URL");
    if (url == NULL || *url == '\0')
        return;
    cfg->better_auth_origin = config_jwt_origin(url);
    if (cfg->better_auth_origin == NULL)
        fail(l, "BETTER_AUTH_URL", "must be an http:// or https:// URL with a host");
}

static void load_auth(loader_t *l, config_t *cfg)
{
    cfg->auth_secret = get_str(l, "BETTER_AUTH_SECRET", NULL);
    size_t len = cfg->auth_secret ? strlen(cfg->auth_secret) : 0;
    if (!cfg->development && len == 0)
        fail(l, "BETTER_AUTH_SECRET", "is required (set AGENTOS_ENV=development to run without)");
    else if (!cfg->development && len < SECRET_MIN_BYTES)
        fail(l, "BETTER_AUTH_SECRET", "must be at least 32 bytes");
    else if (!cfg->development && strncmp(cfg->auth_secret, "change-me", 9) == 0)
        fail(l, "BETTER_AUTH_SECRET", "is still the .env.example placeholder");
    cfg->jwt_algorithms = get_str(l, "JWT_ALGORITHMS", "HS256");
    cfg->jwt_leeway = (int)get_int(l, "JWT_LEEWAY_SECONDS", 30, 0, 3600);
    cfg->jwt_issuer = get_str(l, "JWT_ISSUER", NULL);
    cfg->jwt_audience = get_str(l, "JWT_AUDIENCE", NULL);
    load_token_rules(l, cfg);
    cfg->token_cache_size = (size_t)get_int(l, "TOKEN_CACHE_SIZE", 4096, 0, 1 << 20);
}

static void load_env(loader_t *l, config_t *cfg)
{
    cfg->env = get_str(l, "AGENTOS_ENV", "production");
    if (cfg->env == NULL)
        return;
    if (strcmp(cfg->env, "development") == 0)
        cfg->development = 1;
    else if (strcmp(cfg->env, "production") != 0 && strcmp(cfg->env, "test") != 0)
        fail(l, "AGENTOS_ENV", "must be production, test or development");
}

static int get_bool(loader_t *l, const char *name, int def);

static void load_store(loader_t *l, config_t *cfg)
{
    const char *url = cfg->database_url;
    if (url != NULL && strncmp(url, "postgres://", 11) != 0 &&
        strncmp(url, "postgresql://", 13) != 0)
        fail(l, "DATABASE_URL", "must start with postgres:// or postgresql://");
    cfg->db_schema = get_str(l, "DATABASE_SCHEMA", "agentos");
    /* public is where Prisma keeps its tables: ours beside them would show
     * as drift to prisma migrate, and a reset would drop them. */
    int shared_ok = get_bool(l, "DATABASE_SCHEMA_SHARED_OK", 0);
    if (url != NULL && cfg->db_schema != NULL && strcmp(cfg->db_schema, "public") == 0 &&
        !shared_ok)
        fail(l, "DATABASE_SCHEMA",
             "public is refused: our tables would mix with Prisma's and prisma migrate would "
             "see drift (use agentos, or set DATABASE_SCHEMA_SHARED_OK=true)");
    cfg->db_pool = (int)get_int(l, "AGENTOS_DB_POOL", 4, 1, 128);
    cfg->db_connect_timeout_s = (int)get_int(l, "DATABASE_CONNECT_TIMEOUT_SECONDS", 3, 1, 60);
    cfg->db_statement_timeout_ms =
        (int)get_int(l, "DATABASE_STATEMENT_TIMEOUT_MS", 5000, 100, 600000);
    /* Bounded: too short wastes a thread on empty checkpoints, too long
     * lets the WAL grow (it is also checkpointed every 512 commits). */
    cfg->wal_checkpoint_ms = (int)get_int(l, "AGENTOS_WAL_CHECKPOINT_MS", 200, 10, 60000);
}

static void load_runs(loader_t *l, config_t *cfg)
{
    const char *dir = config_source_get(l->src, "AGENTS_DIR");
    cfg->agents_dir_default = dir == NULL || *dir == '\0';
    cfg->agents_dir = get_str(l, "AGENTS_DIR", "agents/platform");
    cfg->max_runs_per_workspace =
        (int)get_int(l, "MAX_CONCURRENT_RUNS_PER_WORKSPACE", 10, 1, 100000);
    cfg->sse_max_buffer = (size_t)get_int(l, "SSE_MAX_BUFFER_BYTES", 1 << 20, 1024, 1LL << 30);
    cfg->sse_ping_ms = (int)get_int(l, "SSE_PING_SECONDS", 15, 1, 3600) * 1000;
    cfg->sse_stall_ms = (int)get_int(l, "SSE_STALL_SECONDS", 10, 1, 3600) * 1000;
    cfg->model_connect_timeout_s = (int)get_int(l, "MODEL_CONNECT_TIMEOUT_SECONDS", 10, 1, 600);
    cfg->model_stall_timeout_s = (int)get_int(l, "MODEL_STALL_TIMEOUT_SECONDS", 60, 1, 3600);
    cfg->model_max_retries = (int)get_int(l, "MODEL_MAX_RETRIES", 3, 0, 10);
    cfg->model_retry_base_ms = (int)get_int(l, "MODEL_RETRY_BASE_MS", 500, 1, 60000);
    cfg->run_timeout_s = (int)get_int(l, "RUN_TIMEOUT_SECONDS", 600, 1, 86400);
    cfg->model_max_reply = (size_t)get_int(l, "MODEL_MAX_REPLY_BYTES", 4 << 20, 1024, 1LL << 30);
}

static int get_bool(loader_t *l, const char *name, int def)
{
    const char *v = config_source_get(l->src, name);
    if (v == NULL || *v == '\0')
        return def;
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "on") == 0)
        return 1;
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "off") == 0)
        return 0;
    fail(l, name, "must be true or false");
    return def;
}

#define OS_KEY_MIN_BYTES 16

static void load_control_plane(loader_t *l, config_t *cfg)
{
    cfg->os_security_key = get_str(l, "OS_SECURITY_KEY", NULL);
    const char *k = cfg->os_security_key;
    if (k != NULL && strlen(k) < OS_KEY_MIN_BYTES)
        fail(l, "OS_SECURITY_KEY", "must be at least 16 bytes");
    else if (k != NULL && !cfg->development && strncmp(k, "change-me", 9) == 0)
        fail(l, "OS_SECURITY_KEY", "is still the .env.example placeholder");
    cfg->jwt_verification_key = get_str(l, "JWT_VERIFICATION_KEY", NULL);
    cfg->jwt_jwks_file = get_str(l, "JWT_JWKS_FILE", NULL);
    cfg->jwt_cp_issuer = get_str(l, "JWT_CONTROL_PLANE_ISSUER", NULL);
    cfg->jwt_verify_audience = get_bool(l, "JWT_VERIFY_AUDIENCE", 0);
    cfg->os_id = get_str(l, "AGENTOS_ID", NULL);
    cfg->metrics_public = get_bool(l, "METRICS_PUBLIC", 0);
}

#define JWKS_DEFAULT_ALGORITHMS "HS256,EdDSA,ES256,ES512,RS256,PS256"

/* better-auth's JWKS: one source, a URL our fetch can speak, and bounds. */
static void load_jwks(loader_t *l, config_t *cfg)
{
    cfg->jwks_url = get_str(l, "BETTER_AUTH_JWKS_URL", NULL);
    cfg->jwks_file = get_str(l, "BETTER_AUTH_JWKS_FILE", NULL);
    const char *u = cfg->jwks_url;
    if (u != NULL && cfg->jwks_file != NULL)
        fail(l, "BETTER_AUTH_JWKS_URL", "set it or BETTER_AUTH_JWKS_FILE, not both");
    else if (u != NULL && strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
        fail(l, "BETTER_AUTH_JWKS_URL", "must start with http:// or https://");
    const char *algs = config_source_get(l->src, "JWT_ALGORITHMS");
    if ((u != NULL || cfg->jwks_file != NULL) && (algs == NULL || *algs == '\0')) {
        /* Unset with a JWKS: the seed's HS256 and what better-auth's plugin signs with. */
        free(cfg->jwt_algorithms);
        cfg->jwt_algorithms = get_str(l, "JWT_ALGORITHMS", JWKS_DEFAULT_ALGORITHMS);
    }
    cfg->jwks_max_bytes = (size_t)get_int(l, "JWKS_MAX_BYTES", 64 << 10, 1024, 16 << 20);
    cfg->jwks_max_keys = (int)get_int(l, "JWKS_MAX_KEYS", 32, 1, 1000);
    cfg->jwks_timeout_s = (int)get_int(l, "JWKS_TIMEOUT_SECONDS", 5, 1, 120);
    cfg->jwks_refetch_s = (int)get_int(l, "JWKS_REFETCH_MIN_SECONDS", 60, 0, 86400);
    cfg->jwks_refresh_s = (int)get_int(l, "JWKS_REFRESH_SECONDS", 300, 0, 604800);
}

static void load_limits(loader_t *l, config_t *cfg)
{
    cfg->max_header_bytes = (size_t)get_int(l, "MAX_HEADER_BYTES", 32 << 10, 1024, 1 << 20);
    cfg->max_request_line = (size_t)get_int(l, "MAX_REQUEST_LINE_BYTES", 8 << 10, 256, 1 << 20);
    if (cfg->max_request_line > cfg->max_header_bytes)
        fail(l, "MAX_REQUEST_LINE_BYTES", "must not exceed MAX_HEADER_BYTES");
    cfg->max_connections = (int)get_int(l, "MAX_CONNECTIONS", 10000, 1, 1000000);
    cfg->listen_backlog = (int)get_int(l, "LISTEN_BACKLOG", 4096, 16, 65535);
    cfg->access_log_flush_ms = (int)get_int(l, "ACCESS_LOG_FLUSH_MS", 100, 1, 10000);
    cfg->max_reply_bytes = (size_t)get_int(l, "MAX_REPLY_BYTES", 8 << 20, 4096, 1LL << 31);
    cfg->store_queue_max = (int)get_int(l, "STORE_QUEUE_MAX", 1024, 1, 1000000);
    char *h2 = get_str(l, "HTTP2", "off");
    if (h2 != NULL && strcmp(h2, "on") == 0)
        cfg->http2 = 1;
    else if (h2 != NULL && strcmp(h2, "off") != 0)
        fail(l, "HTTP2", "must be on or off");
    free(h2);
}

int config_load(config_t *cfg, const config_source_t *src, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    loader_t l = {src, err, errlen, 0};
    load_env(&l, cfg);
    cfg->host = get_str(&l, "HOST", "0.0.0.0");
    cfg->port = (int)get_int(&l, "PORT", 7777, 1, 65535);
    cfg->workers = (int)get_int(&l, "AGENTOS_WORKERS", default_workers(), 1, 256);
    load_auth(&l, cfg);
    cfg->max_body_bytes = (size_t)get_int(&l, "MAX_BODY_BYTES", 1 << 20, 1, 1LL << 32);
    cfg->request_timeout_ms = (int)get_int(&l, "REQUEST_TIMEOUT_SECONDS", 10, 1, 3600) * 1000;
    cfg->shutdown_grace_s = (int)get_int(&l, "SHUTDOWN_GRACE_SECONDS", 20, 0, 3600);
    cfg->log_level = get_str(&l, "LOG_LEVEL", "info");
    cfg->database_url = get_str(&l, "DATABASE_URL", NULL);
    cfg->data_dir = get_str(&l, "AGENTOS_DATA_DIR", "./data");
    cfg->static_dir = get_str(&l, "AGENTOS_STATIC_DIR", NULL);
    load_store(&l, cfg);
    cfg->redis_url = get_str(&l, "REDIS_URL", NULL);
    cfg->rate_limit_per_minute = (int)get_int(&l, "RATE_LIMIT_PER_MINUTE", 600, 0, 1000000);
    cfg->cors_origins = get_str(&l, "CORS_ORIGINS", NULL);
    load_runs(&l, cfg);
    load_limits(&l, cfg);
    load_control_plane(&l, cfg);
    load_jwks(&l, cfg);
    if (l.failed) {
        config_free(cfg);
        return -1;
    }
    return 0;
}

int config_load_database(config_t *cfg, const config_source_t *src, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    loader_t l = {src, err, errlen, 0};
    cfg->log_level = get_str(&l, "LOG_LEVEL", "info");
    cfg->database_url = get_str(&l, "DATABASE_URL", NULL);
    cfg->data_dir = get_str(&l, "AGENTOS_DATA_DIR", "./data");
    load_store(&l, cfg);
    if (l.failed) {
        config_free(cfg);
        return -1;
    }
    return 0;
}

void config_free(config_t *cfg)
{
    /* The secrets, and the URLs that may carry a password. */
    char **secrets[] = {&cfg->auth_secret, &cfg->os_security_key, &cfg->database_url,
                        &cfg->redis_url};
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        secret_free(*secrets[i]);
        *secrets[i] = NULL;
    }
    char **strs[] = {&cfg->host,
                     &cfg->env,
                     &cfg->jwt_algorithms,
                     &cfg->jwt_issuer,
                     &cfg->jwt_audience,
                     &cfg->log_level,
                     &cfg->data_dir,
                     &cfg->static_dir,
                     &cfg->cors_origins,
                     &cfg->db_schema,
                     &cfg->agents_dir,
                     &cfg->jwt_verification_key,
                     &cfg->jwt_jwks_file,
                     &cfg->jwt_cp_issuer,
                     &cfg->os_id,
                     &cfg->jwt_workspace_claim,
                     &cfg->jwt_session_claim,
                     &cfg->better_auth_origin,
                     &cfg->jwks_url,
                     &cfg->jwks_file};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
}
