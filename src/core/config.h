/* Service configuration: read once at start from the environment and an
 * optional .env file (the environment wins), validated, then read-only. */
#ifndef AGENTOS_CORE_CONFIG_H
#define AGENTOS_CORE_CONFIG_H

#include <stddef.h>

#define CONFIG_ERR_MAX 256

typedef struct config {
    char *host;
    int port;
    int workers;
    char *env;                 /* AGENTOS_ENV: "production" unless set */
    int development;           /* AGENTOS_ENV=development */
    char *auth_secret;         /* BETTER_AUTH_SECRET, raw UTF-8 bytes */
    char *jwt_algorithms;      /* JWT_ALGORITHMS, comma separated */
    int jwt_leeway;            /* JWT_LEEWAY_SECONDS */
    char *jwt_issuer;          /* JWT_ISSUER or NULL */
    char *jwt_audience;        /* JWT_AUDIENCE or NULL */
    int jwt_require_exp;       /* JWT_REQUIRE_EXP: default true, false in development */
    char *jwt_workspace_claim; /* JWT_WORKSPACE_CLAIM: "workspaceId" */
    char *jwt_session_claim;   /* JWT_SESSION_CLAIM: "sessionId" */
    char *better_auth_origin;  /* BETTER_AUTH_URL's origin, or NULL: JWKS tokens' iss/aud */
    size_t token_cache_size;
    size_t max_body_bytes;
    int request_timeout_ms; /* header/body read and keep-alive idle */
    int shutdown_grace_s;
    char *log_level;
    char *database_url; /* NULL: SQLite in data_dir */
    char *data_dir;
    char *static_dir; /* AGENTOS_STATIC_DIR: openapi.json, swagger-ui/; NULL: beside the binary */
    char *db_schema;  /* DATABASE_SCHEMA: PostgreSQL schema of our tables */
    int db_pool;      /* AGENTOS_DB_POOL: store threads */
    int db_connect_timeout_s;    /* DATABASE_CONNECT_TIMEOUT_SECONDS */
    int db_statement_timeout_ms; /* DATABASE_STATEMENT_TIMEOUT_MS */
    int wal_checkpoint_ms;       /* AGENTOS_WAL_CHECKPOINT_MS: SQLite's checkpoint timer */
    char *redis_url;             /* NULL: single-replica mode */
    int rate_limit_per_minute;   /* per workspace; 0: off */
    char *agents_dir;            /* AGENTS_DIR */
    int agents_dir_default;      /* not set: a missing dir means no agents */
    int max_runs_per_workspace;  /* MAX_CONCURRENT_RUNS_PER_WORKSPACE */
    size_t sse_max_buffer;       /* SSE_MAX_BUFFER_BYTES */
    int sse_ping_ms;             /* SSE_PING_SECONDS */
    int sse_stall_ms;            /* SSE_STALL_SECONDS */
    int model_connect_timeout_s; /* MODEL_CONNECT_TIMEOUT_SECONDS */
    int model_stall_timeout_s;   /* MODEL_STALL_TIMEOUT_SECONDS */
    int model_max_retries;       /* MODEL_MAX_RETRIES */
    int model_retry_base_ms;     /* MODEL_RETRY_BASE_MS */
    char *cors_origins;          /* extra allowed origins, comma separated */
    size_t max_header_bytes;     /* MAX_HEADER_BYTES: a request head, 431 past it */
    size_t max_request_line;     /* MAX_REQUEST_LINE_BYTES: 414 past it */
    int max_connections;         /* MAX_CONNECTIONS: open connections per process */
    int listen_backlog;          /* LISTEN_BACKLOG: listen(2) queue per loop */
    int access_log_flush_ms;     /* ACCESS_LOG_FLUSH_MS: buffered access lines' flush period */
    int http2;                   /* HTTP2=on: cleartext HTTP/2 (h2c) accepted */
    size_t max_reply_bytes;      /* MAX_REPLY_BYTES: one JSON reply, 413 past it */
    int store_queue_max;         /* STORE_QUEUE_MAX: store jobs waiting, 503 past it */
    int run_timeout_s;           /* RUN_TIMEOUT_SECONDS: a run's deadline */
    size_t model_max_reply;      /* MODEL_MAX_REPLY_BYTES: one model turn's reply */
    char *os_security_key;       /* OS_SECURITY_KEY: service and operator callers, or NULL */
    char *jwt_verification_key;  /* JWT_VERIFICATION_KEY: Control Plane PEM public key */
    char *jwt_jwks_file;         /* JWT_JWKS_FILE: Control Plane keys as a JWKS file */
    char *jwt_cp_issuer;         /* JWT_CONTROL_PLANE_ISSUER: its tokens' iss, or NULL */
    int jwt_verify_audience;     /* JWT_VERIFY_AUDIENCE: Control Plane aud must be os_id */
    char *os_id;                 /* AGENTOS_ID, or NULL: stable per database */
    int metrics_public;          /* METRICS_PUBLIC: /metrics/prometheus without auth */
    char *jwks_url;              /* BETTER_AUTH_JWKS_URL: better-auth's /api/auth/jwks, or NULL */
    char *jwks_file;             /* BETTER_AUTH_JWKS_FILE: the same set from a file, or NULL */
    size_t jwks_max_bytes;       /* JWKS_MAX_BYTES: the set's text at most */
    int jwks_max_keys;           /* JWKS_MAX_KEYS */
    int jwks_timeout_s;          /* JWKS_TIMEOUT_SECONDS: one fetch */
    int jwks_refetch_s; /* JWKS_REFETCH_MIN_SECONDS: unknown kids reload at most this often */
    int jwks_refresh_s; /* JWKS_REFRESH_SECONDS: reload anyway; 0: never */
} config_t;

/* Looks a name up: the process environment first, then the .env pairs. */
typedef struct config_source config_source_t;

config_source_t *config_source_new(void);
void config_source_free(config_source_t *src);
/* Adds the pairs of a .env file; a missing file is not an error. Returns -1
 * and fills err on a malformed line. */
int config_source_load_dotenv(config_source_t *src, const char *path, char *err, size_t errlen);
/* Adds one pair as if it came from a .env file (tests use it). */
int config_source_set(config_source_t *src, const char *name, const char *value);
const char *config_source_get(const config_source_t *src, const char *name);
/* Puts every .env pair the environment lacks into it (setenv, never
 * overwriting), so that what reads the environment later (agent YAML's
 * ${VAR}, api_key_env, provider keys) sees the .env too. At start, on the
 * main thread, before any other thread runs. 0, or -1 on failure. */
int config_source_export(const config_source_t *src);

/* Fills cfg from src. Returns 0, or -1 with one line naming the variable in err. */
int config_load(config_t *cfg, const config_source_t *src, char *err, size_t errlen);
/* Only the database's settings (DATABASE_*, AGENTOS_DATA_DIR, LOG_LEVEL),
 * for `agentos migrate`, which runs without the service's secrets. */
int config_load_database(config_t *cfg, const config_source_t *src, char *err, size_t errlen);
void config_free(config_t *cfg);

#endif
