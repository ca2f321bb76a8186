/* Wires config, the route table and the server; handles signals and drain. */
#include <curl/curl.h>
#include <getopt.h>
#include <rhonabwy.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "agent/run_store.h"
#include "api/app.h"
#include "api/config_view.h"
#include "api/routes.h"
#include "api/middleware.h"
#include "api/upkeep.h"
#include "banner.h"
#include "core/config.h"
#include "core/counters.h"
#include "cache/redis.h"
#include "core/log.h"
#include "core/secret.h"
#include "core/timeutil.h"
#include "http/reply.h"
#include "http/server.h"
#include "store/store_finish.h"
#include "store/store_finisher.h"
#include "store/store_journal.h"

/* The finisher's back-off between tries while the database is away. */
#define FINISH_RETRY_BASE_MS 250
#define FINISH_RETRY_MAX_MS 5000
/* How long shutdown waits for a finish write in progress on the
 * finisher's thread once its records are journalled. */
#define FINISH_JOIN_MS 1000

/* Stopped loops are not torn down (see http_server_wait); keeping the server
 * reachable until exit tells leak checkers its memory is not lost. */
static http_server_t *volatile running_server; /* volatile: the store must not be optimised away */
/* The same for a store left open because a write on it had not returned. */
static store_t *volatile busy_store;
static store_finisher_t *volatile busy_finisher;

typedef int (*config_loader_fn)(config_t *, const config_source_t *, char *, size_t);

static int load_config(config_t *cfg, config_loader_fn load)
{
    char err[CONFIG_ERR_MAX] = "";
    config_source_t *src = config_source_new();
    const char *env_file = getenv("AGENTOS_ENV_FILE");
    int rc =
        src ? config_source_load_dotenv(src, env_file ? env_file : ".env", err, sizeof(err)) : -1;
    if (rc == 0)
        rc = load(cfg, src, err, sizeof(err));
    if (rc == 0 && config_source_export(src) != 0) {
        snprintf(err, sizeof err, ".env: could not export its values: %s", strerror(errno));
        config_free(cfg);
        rc = -1;
    }
    if (rc != 0)
        fprintf(stderr, "agentos: configuration: %s\n", err[0] ? err : "out of memory");
    /* NO_COLOR (no-color.org): set and not empty turns colour off. */
    const char *no_color = rc == 0 ? config_source_get(src, "NO_COLOR") : NULL;
    if (rc == 0 && log_set_format_name(config_source_get(src, "LOG_FORMAT"),
                                       no_color != NULL && no_color[0] != '\0') != 0) {
        fprintf(stderr, "agentos: configuration: LOG_FORMAT: must be text or json\n");
        config_free(cfg);
        rc = -1;
    }
    config_source_free(src);
    return rc;
}

/* The main thread's loop: signals and upkeep; the loop threads serve. */
typedef struct main_loop {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    http_server_t *server;
    upkeep_t *upkeep;
    uint64_t signal_us; /* when the drain began (monotonic) */
} main_loop_t;

static void on_signal(uv_signal_t *sig, int signum)
{
    main_loop_t *m = sig->data;
    log_msg(LOG_LEVEL_INFO, "received %s: draining", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    m->signal_us = timeutil_mono_us();
    http_server_stop(m->server);
    upkeep_stop(m->upkeep);
    m->upkeep = NULL;
    uv_close((uv_handle_t *)&m->sigterm, NULL);
    uv_close((uv_handle_t *)&m->sigint, NULL);
}

/* Returns once a signal came and the upkeep's last job is back: when the
 * signal came (monotonic). */
static uint64_t run_main_loop(http_server_t *server, const app_t *app, const config_t *cfg)
{
    main_loop_t m = {.server = server};
    uv_loop_init(&m.loop);
    uv_signal_init(&m.loop, &m.sigterm);
    uv_signal_init(&m.loop, &m.sigint);
    m.sigterm.data = m.sigint.data = &m;
    uv_signal_start(&m.sigterm, on_signal, SIGTERM);
    uv_signal_start(&m.sigint, on_signal, SIGINT);
    /* The banner says "ready": only once a SIGTERM would drain, not kill. */
    banner_log(cfg, app);
    m.upkeep = upkeep_start(app, &m.loop);
    uv_run(&m.loop, UV_RUN_DEFAULT);
    uv_loop_close(&m.loop);
    return m.signal_us;
}

/* libuv sizes its thread pool from the environment on first use: set it
 * before anything queues work, so each store thread holds one connection. */
static void size_store_pool(int threads)
{
    char n[16];
    snprintf(n, sizeof(n), "%d", threads);
    setenv("UV_THREADPOOL_SIZE", n, 1);
}

static store_t *open_store(const config_t *cfg)
{
    store_config_t scfg = {
        .database_url = cfg->database_url,
        .data_dir = cfg->data_dir,
        .schema = cfg->db_schema,
        .connect_timeout_s = cfg->db_connect_timeout_s,
        .statement_timeout_ms = cfg->db_statement_timeout_ms,
        .wal_checkpoint_ms = cfg->wal_checkpoint_ms,
    };
    char err[CONFIG_ERR_MAX] = "";
    store_t *store = store_open(&scfg, err, sizeof(err));
    if (store == NULL)
        log_msg(LOG_LEVEL_ERROR, "store: %s", err);
    else
        log_json(LOG_LEVEL_DEBUG, "store open",
                 json_pack("{s:s}", "backend", store_backend_name(store)));
    return store;
}

/* ---- what start prepares once: the os_id, /config, the served files ---- */

static int prepare_connect(app_t *app)
{
    char err[CONFIG_ERR_MAX] = "";
    if (app_load_os_id(app, err, sizeof(err)) != 0) {
        log_msg(LOG_LEVEL_ERROR, "os_id: %s", err);
        return -1;
    }
    json_t *cfg = config_view_build(app_os_id(app), store_backend_name(app->store), &app->agents);
    int rc = cfg != NULL ? http_json_render(cfg, 0, &app->config_body, &app->config_len) : -1;
    json_decref(cfg);
    if (rc != 0) {
        log_msg(LOG_LEVEL_ERROR, "/config could not be built");
        return -1;
    }
    char dir[4096];
    const char *static_dir = app->cfg->static_dir;
    if (static_dir == NULL || static_dir[0] == '\0')
        static_dir = static_default_dir(dir, sizeof(dir)) == 0 ? dir : "docs";
    api_statics_load(&app->statics, static_dir);
    log_json(LOG_LEVEL_DEBUG, "connect ready",
             json_pack("{s:s, s:s, s:b, s:b}", "os_id", app_os_id(app), "static_dir", static_dir,
                       "openapi", app->statics.openapi.data != NULL, "docs",
                       app->statics.docs_ready));
    return 0;
}

/* ---- finish writes: the journal of the last run, the finisher ---- */

typedef struct replay {
    store_conn_t *conn;
    store_finisher_t *finisher;
    int down; /* the database went away: the rest is the finisher's */
} replay_t;

static store_journal_verdict_t replay_one(json_t *rec, void *ud)
{
    replay_t *r = ud;
    store_rc_t rc = r->down ? STORE_UNAVAILABLE : store_finish_write(r->conn, rec);
    if (rc == STORE_UNAVAILABLE) {
        r->down = 1;
        char *line = json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(15));
        if (line == NULL || store_finisher_add(r->finisher, line, 1) == 0)
            log_msg(LOG_LEVEL_ERROR, "journal: a record could not be held for retries");
        free(line);
        return STORE_JOURNAL_KEEP;
    }
    if (rc != STORE_OK)
        log_json(LOG_LEVEL_WARN, "journal: a record that cannot land dropped",
                 json_pack("{s:s?, s:s?, s:i}", "run_id",
                           json_string_value(json_object_get(rec, "run_id")), "workspace_id",
                           json_string_value(json_object_get(rec, "workspace_id")), "store_rc",
                           (int)rc));
    return STORE_JOURNAL_DONE;
}

/* Before anything serves (and before the sweep could call a journalled run
 * interrupted): the rows the last process could not write, in order. What
 * cannot land now stays in the file and goes to the finisher. */
static void replay_journal(store_t *store, store_finisher_t *f, const char *path)
{
    replay_t r = {.conn = store_conn_get(store), .finisher = f, .down = 0};
    store_journal_stats_t st;
    char err[512] = "";
    if (store_journal_replay(path, STORE_JOURNAL_MAX_BYTES, replay_one, &r, &st, err,
                             sizeof(err)) != 0) {
        log_json(LOG_LEVEL_ERROR, "journal: cannot be replayed (kept)",
                 json_pack("{s:s}", "error", err));
        return;
    }
    if (st.done + st.kept + st.skipped > 0)
        log_json(st.kept > 0 ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, "journal replayed",
                 json_pack("{s:s, s:I, s:I, s:I}", "journal", path, "landed", (json_int_t)st.done,
                           "pending", (json_int_t)st.kept, "skipped", (json_int_t)st.skipped));
}

static store_finisher_t *start_finisher(store_t *store, const config_t *cfg)
{
    char path[4096];
    if (store_journal_path(cfg->data_dir, path, sizeof(path)) != 0) {
        log_msg(LOG_LEVEL_ERROR, "journal: AGENTOS_DATA_DIR is too long");
        return NULL;
    }
    store_finisher_config_t fc = {.store = store,
                                  .journal_path = path,
                                  .max_bytes = STORE_JOURNAL_MAX_BYTES,
                                  .retry_base_ms = FINISH_RETRY_BASE_MS,
                                  .retry_max_ms = FINISH_RETRY_MAX_MS};
    store_finisher_t *f = store_finisher_start(&fc);
    if (f == NULL)
        log_msg(LOG_LEVEL_ERROR, "could not start the finisher");
    else
        replay_journal(store, f, path);
    return f;
}

/* Pending finish writes get what is left of the grace period, then go to
 * the journal. 0, or 1 when a row was neither written nor journalled. */
static int stop_finisher(app_t *app, uint64_t signal_us)
{
    uint64_t deadline = signal_us + (uint64_t)app->cfg->shutdown_grace_s * 1000000u;
    store_finisher_result_t res = store_finisher_stop(app->finisher, deadline, FINISH_JOIN_MS);
    if (res.joined)
        store_finisher_free(app->finisher);
    else
        busy_finisher = app->finisher;
    if (!res.joined || res.in_flight > 0) {
        /* A write still waits on the database (it was journalled too): the
         * store stays open under it, and the process exits. */
        log_json(LOG_LEVEL_WARN, "finish writes still in progress at exit (journalled)",
                 json_pack("{s:I}", "writes", (json_int_t)res.in_flight));
        busy_store = app->store;
        app->store = NULL;
    }
    app->finisher = NULL;
    return res.lost > 0;
}

/* The counters, the app, the checks of its configuration and the agents:
 * 0, or the exit status. */
static int serve_load(app_t *app, const config_t *cfg)
{
    char err[CONFIG_ERR_MAX];
    if (counters_init(cfg->workers) != 0) {
        fprintf(stderr, "agentos: out of memory\n");
        return 2;
    }
    if (app_init(app, cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "agentos: configuration: %s\n", err);
        return 2;
    }
    redis_url_t url;
    if (cfg->redis_url != NULL) {
        if (redis_url_parse(cfg->redis_url, &url, err, sizeof(err)) != 0) {
            fprintf(stderr, "agentos: configuration: REDIS_URL: %s\n", err);
            return 2;
        }
        redis_url_free(&url);
    }
    if (cfg->agents_dir_default && access(cfg->agents_dir, F_OK) != 0)
        log_msg(LOG_LEVEL_WARN, "no agents: %s does not exist here (set AGENTS_DIR)",
                cfg->agents_dir);
    else if (registry_load(&app->agents, cfg->agents_dir, err, sizeof(err)) != 0) {
        fprintf(stderr, "agentos: agents: %s\n", err);
        app_free(app);
        return 2;
    }
    /* From the process environment, as the model keys themselves. */
    if (registry_check_keys(&app->agents, getenv("AGENTS_REQUIRE_KEYS"), err, sizeof(err)) != 0) {
        fprintf(stderr, "agentos: agents: %s\n", err);
        app_free(app);
        return 2;
    }
    log_json(
        LOG_LEVEL_DEBUG, "agents loaded",
        json_pack("{s:s, s:I}", "dir", cfg->agents_dir, "agents", (json_int_t)app->agents.nagents));
    return 0;
}

/* The store, its connect step and the finisher: 0, or (the app freed) 1. */
static int serve_open_store(app_t *app, const config_t *cfg)
{
    size_store_pool(cfg->db_pool);
    if ((app->store = open_store(cfg)) == NULL) {
        app_free(app);
        return 1;
    }
    store_set_queue_max(app->store, cfg->store_queue_max);
    if (prepare_connect(app) != 0) {
        store_close(app->store);
        app_free(app);
        return 1;
    }
    if ((app->finisher = start_finisher(app->store, cfg)) == NULL) {
        store_close(app->store);
        app_free(app);
        return 1;
    }
    run_store_use_finisher(app->finisher);
    return 0;
}

/* Fills scfg, which the server keeps a pointer to: the caller's. */
static void serve_server_config(http_server_config_t *scfg, const config_t *cfg, app_t *app)
{
    *scfg = (http_server_config_t){
        .host = cfg->host,
        .port = cfg->port,
        .workers = cfg->workers,
        .max_body_bytes = cfg->max_body_bytes,
        .max_header_bytes = cfg->max_header_bytes,
        .max_request_line = cfg->max_request_line,
        .max_connections = cfg->max_connections,
        .listen_backlog = cfg->listen_backlog,
        .log_flush_ms = cfg->access_log_flush_ms,
        .http2 = cfg->http2,
        .request_timeout_ms = cfg->request_timeout_ms,
        .shutdown_grace_s = cfg->shutdown_grace_s,
        .cors_origins = cfg->cors_origins,
        .routes = api_routes,
        .nroutes = api_routes_count,
        .middleware = api_middleware,
        .loop_init = app_loop_init,
        .loop_free = app_loop_free,
        .loop_busy = app_loop_busy,
        .loop_grace_over = app_loop_grace_over,
        .loop_arg = app,
    };
}

static int serve(const config_t *cfg)
{
    app_t app;
    int rc = serve_load(&app, cfg);
    if (rc == 0)
        rc = serve_open_store(&app, cfg);
    if (rc != 0)
        return rc;
    http_server_config_t scfg;
    serve_server_config(&scfg, cfg, &app);
    http_server_t *server = running_server = http_server_start(&scfg);
    if (server == NULL) {
        stop_finisher(&app, timeutil_mono_us());
        if (app.store != NULL)
            store_close(app.store);
        app_free(&app);
        return 1;
    }
    uint64_t signal_us = run_main_loop(server, &app, cfg);
    int drained = http_server_wait(server) == 0;
    int lost = stop_finisher(&app, signal_us);
    if (app.store != NULL)
        store_close(app.store);
    app_free(&app);
    counters_free();
    log_json(LOG_LEVEL_INFO, "stopped", json_pack("{s:b}", "drained", drained));
    return lost ? 1 : 0;
}

/* `agentos migrate`: the migrations once, as the role in DATABASE_URL (one
 * that may create tables), so that the service can run as a role that may
 * not. Needs only the database's settings. */
static int migrate(void)
{
    config_t cfg;
    if (load_config(&cfg, config_load_database) != 0)
        return 2;
    if (log_set_level_name(cfg.log_level) != 0) {
        fprintf(stderr, "agentos: configuration: LOG_LEVEL: must be debug, info, warn or error\n");
        config_free(&cfg);
        return 2;
    }
    store_t *store = open_store(&cfg);
    if (store != NULL) {
        printf("agentos: migrations current (%s)\n", store_backend_name(store));
        store_close(store);
    }
    config_free(&cfg);
    return store != NULL ? 0 : 1;
}

static int usage(FILE *out)
{
    fprintf(out, "usage: agentos                 serve the API (configured by environment / .env)\n"
                 "       agentos migrate         run the store's migrations once, then exit\n"
                 "       agentos token --sub USER [--workspace ID] [--email E] [--name N] "
                 "[--ttl SECONDS]\n"
                 "                               print a development token signed with "
                 "BETTER_AUTH_SECRET\n"
                 "       agentos --version\n");
    return out == stdout ? 0 : 2;
}

static int mint(const config_t *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"sub", required_argument, NULL, 's'},   {"workspace", required_argument, NULL, 'w'},
        {"email", required_argument, NULL, 'e'}, {"name", required_argument, NULL, 'n'},
        {"ttl", required_argument, NULL, 't'},   {NULL, 0, NULL, 0}};
    const char *sub = NULL, *ws = NULL, *email = NULL, *name = NULL;
    long ttl = 3600;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            sub = optarg;
            break;
        case 'w':
            ws = optarg;
            break;
        case 'e':
            email = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 't':
            ttl = strtol(optarg, NULL, 10);
            break;
        default:
            return usage(stderr);
        }
    }
    if (sub == NULL || ttl <= 0)
        return usage(stderr);
    if (cfg->auth_secret == NULL) {
        fprintf(stderr, "agentos: BETTER_AUTH_SECRET is not set: nothing to sign with\n");
        return 2;
    }
    char *tok = jwt_mint_hs256((const unsigned char *)cfg->auth_secret, strlen(cfg->auth_secret),
                               sub, ws, email, name, ttl, time(NULL));
    if (tok == NULL) {
        fprintf(stderr, "agentos: could not sign the token\n");
        return 1;
    }
    printf("%s\n", tok);
    secret_free(tok);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--version") == 0)) {
        printf("agentos %s\n", AGENTOS_VERSION);
        return 0;
    }
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return usage(stdout);
    if (argc == 2 && strcmp(argv[1], "migrate") == 0)
        return migrate();
    if (argc > 1 && strcmp(argv[1], "token") != 0)
        return usage(stderr);
    signal(SIGPIPE, SIG_IGN); /* a write to a closed socket must fail, not kill us */
    config_t cfg;
    if (load_config(&cfg, config_load) != 0)
        return 2;
    if (log_set_level_name(cfg.log_level) != 0) {
        fprintf(stderr, "agentos: configuration: LOG_LEVEL: must be debug, info, warn or error\n");
        config_free(&cfg);
        return 2;
    }
    /* libcurl and rhonabwy are initialised when first loaded
     * (core/lazy_lib.h); their cleanups do nothing if they never were. */
    int rc = argc > 1 ? mint(&cfg, argc - 1, argv + 1) : serve(&cfg);
    curl_global_cleanup();
    r_global_close();
    config_free(&cfg);
    return rc;
}
