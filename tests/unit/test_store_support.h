/* Fixtures shared by the store's tests: each back end in a place of its
 * own (SQLite in a temporary directory, PostgreSQL in a random schema of
 * TEST_DATABASE_URL's database), removed afterwards. Included by one test
 * file each; everything is static. */
#ifndef AGENTOS_TEST_STORE_SUPPORT_H
#define AGENTOS_TEST_STORE_SUPPORT_H

#include <arpa/inet.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/log.h"
#include "store/store.h"
#include "store/store_internal.h"

typedef struct fx_location {
    int postgres;
    char dir[256];      /* SQLite: the temporary root */
    char data_dir[300]; /* SQLite: the store's data dir, inside it */
    char schema[64];    /* PostgreSQL */
    char url[512];      /* PostgreSQL */
} fx_location_t;

typedef struct fixture {
    const char *backend;
    fx_location_t loc;
    store_config_t cfg;
    store_t *store;
    store_conn_t *conn; /* the test thread's */
    char *saved;        /* fx_break_database's stash */
} fixture_t;

static fixture_t *F;

static const char *fx_pg_url(void)
{
    const char *url = getenv("TEST_DATABASE_URL");
    return url != NULL && url[0] ? url : NULL;
}

/* 12 random lowercase hex digits. */
static inline void fx_random_hex(char out[13])
{
    char uuid[IDS_UUID_LEN + 1];
    ids_uuid4(uuid);
    int n = 0;
    for (const char *p = uuid; *p && n < 12; p++) {
        if (*p != '-')
            out[n++] = *p;
    }
    out[n] = '\0';
}

static inline void fx_new_ws(char out[64])
{
    char hex[13];
    fx_random_hex(hex);
    snprintf(out, 64, "ws-%s", hex);
}

static inline store_config_t fx_config(const fx_location_t *loc)
{
    store_config_t cfg = {.connect_timeout_s = 2, .statement_timeout_ms = 5000};
    if (loc->postgres) {
        cfg.database_url = loc->url;
        cfg.schema = loc->schema;
    } else {
        cfg.data_dir = loc->data_dir;
    }
    return cfg;
}

/* A place nothing has used yet, for the back end under test. */
static inline store_config_t fx_fresh_location(fx_location_t *loc)
{
    int postgres = F->loc.postgres; /* loc may be &F->loc */
    memset(loc, 0, sizeof *loc);
    loc->postgres = postgres;
    if (loc->postgres) {
        char hex[13];
        fx_random_hex(hex);
        snprintf(loc->schema, sizeof loc->schema, "agentos_t_%s", hex);
        snprintf(loc->url, sizeof loc->url, "%s", fx_pg_url());
    } else {
        snprintf(loc->dir, sizeof loc->dir, "/tmp/agentos-store-XXXXXX");
        if (mkdtemp(loc->dir) == NULL)
            abort();
        /* Two levels the store must create itself. */
        snprintf(loc->data_dir, sizeof loc->data_dir, "%s/a/data", loc->dir);
    }
    return fx_config(loc);
}

static inline int fx_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void fx_drop_location(fx_location_t *loc)
{
    if (!loc->postgres) {
        if (loc->dir[0])
            nftw(loc->dir, fx_rm, 16, FTW_DEPTH | FTW_PHYS);
        return;
    }
    if (!loc->schema[0] || !loc->url[0])
        return;
    PGconn *pg = PQconnectdb(loc->url);
    char sql[160];
    snprintf(sql, sizeof sql,
             "SET client_min_messages = warning; DROP SCHEMA IF EXISTS \"%s\" CASCADE",
             loc->schema);
    PGresult *r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fprintf(stderr, "warning: could not drop schema %s: %s", loc->schema, PQerrorMessage(pg));
    PQclear(r);
    PQfinish(pg);
}

/* A TCP port on 127.0.0.1 that nothing listens on (just released). */
static inline int fx_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        abort();
    close(fd);
    return ntohs(a.sin_port);
}

/* A database that cannot be reached: a port nobody listens on, or a data
 * dir that is a file. */
static inline store_config_t fx_unreachable_location(fx_location_t *loc)
{
    store_config_t cfg = fx_fresh_location(loc);
    if (loc->postgres) {
        snprintf(loc->url, sizeof loc->url, "postgres://postgres@127.0.0.1:%d/agentos_test",
                 fx_free_port());
        loc->schema[0] = '\0'; /* nothing to drop */
        cfg.connect_timeout_s = 1;
    } else {
        snprintf(loc->data_dir, sizeof loc->data_dir, "%s/file", loc->dir);
        FILE *f = fopen(loc->data_dir, "w");
        if (f != NULL)
            fclose(f);
    }
    return cfg;
}

/* Points the open store at nowhere (on), or back (off). */
static inline void fx_break_database(int on)
{
    char **field = F->loc.postgres ? &F->store->url : &F->store->path;
    if (on) {
        char dead[128];
        if (F->loc.postgres)
            snprintf(dead, sizeof dead, "postgres://postgres@127.0.0.1:%d/agentos_test",
                     fx_free_port());
        else
            snprintf(dead, sizeof dead, "/nonexistent-agentos-dir/agentos.db");
        F->saved = *field;
        *field = strdup(dead);
    } else {
        free(*field);
        *field = F->saved;
        F->saved = NULL;
    }
}

static inline void fx_open(void)
{
    char err[256] = "";
    F->store = store_open(&F->cfg, err, sizeof err);
    if (F->store == NULL) {
        fprintf(stderr, "store_open (%s): %s\n", F->backend, err);
        abort();
    }
    F->conn = store_conn_get(F->store);
    if (F->conn == NULL)
        abort();
}

static inline void fx_reopen(void)
{
    store_close(F->store);
    F->store = NULL;
    fx_open();
}

static inline int fx_setup(void **state, int postgres)
{
    F = calloc(1, sizeof *F);
    F->backend = postgres ? "postgres" : "sqlite";
    F->loc.postgres = postgres;
    F->cfg = fx_fresh_location(&F->loc);
    fx_open();
    *state = F;
    return 0;
}

static inline int fx_setup_sqlite(void **state)
{
    return fx_setup(state, 0);
}

static inline int fx_setup_pg(void **state)
{
    return fx_setup(state, 1);
}

static inline int fx_teardown(void **state)
{
    (void)state;
    store_close(F->store);
    fx_drop_location(&F->loc);
    free(F);
    F = NULL;
    return 0;
}

/* Whether the PostgreSQL group runs: TEST_DATABASE_URL is set. */
static inline int fx_pg_enabled(void)
{
    if (fx_pg_url() != NULL)
        return 1;
    printf("[  SKIPPED ] store/postgres: TEST_DATABASE_URL is not set "
           "(tests/support/pg_start.sh DIR prints one)\n");
    return 0;
}

static int fx_sqlite_failed __attribute__((unused));

/* Runs cases against SQLite, then PostgreSQL when enabled, with expected
 * warnings (a database made unreachable on purpose) kept out of the test
 * output. A macro, as cmocka's public runner needs the array itself; the
 * comma operator keeps the groups in order. */
#define FX_RUN_ALL(cases)                                                                          \
    (log_set_level(LOG_LEVEL_ERROR),                                                               \
     (fx_sqlite_failed =                                                                           \
          cmocka_run_group_tests_name("store/sqlite", cases, fx_setup_sqlite, fx_teardown)),       \
     fx_sqlite_failed + (fx_pg_enabled() ? cmocka_run_group_tests_name("store/postgres", cases,    \
                                                                       fx_setup_pg, fx_teardown)   \
                                         : 0))

#endif
