/* The PostgreSQL back end (libpq): connecting with time limits, running one
 * parameterised statement, and mapping errors. A failure that means the
 * connection is gone marks it broken, so the next call reconnects. */
#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/hash.h"
#include "core/log.h"
#include "store/store_internal.h"
#include "store/store_pg_stmt.h"
#include "store/store_pg_url.h"

/* Type OIDs (pg_type.h is server-side): the integers come back as JSON
 * numbers. */
#define INT8OID 20
#define INT2OID 21
#define INT4OID 23

/* How much longer than statement_timeout the client waits for an answer:
 * the server's own timeout should fire first whenever the server is alive. */
#define PG_WAIT_SLACK_MS 1000

static int schema_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > STORE_SCHEMA_MAX || strncmp(name, "pg_", 3) == 0)
        return 0;
    if (!(islower((unsigned char)name[0]) || name[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (!(islower(ch) || isdigit(ch) || ch == '_'))
            return 0;
    }
    return 1;
}

static int pg_init(store_t *s, const store_config_t *cfg, char *err, size_t errlen)
{
    const char *schema = cfg->schema != NULL && cfg->schema[0] ? cfg->schema : "agentos";
    if (!schema_ok(schema)) {
        snprintf(err, errlen,
                 "DATABASE_SCHEMA must match [a-z_][a-z0-9_]*, at most %d characters, "
                 "and not start with pg_",
                 STORE_SCHEMA_MAX);
        return -1;
    }
    snprintf(s->schema, sizeof s->schema, "%s", schema);
    /* The only identifier ever put into SQL text, validated above. */
    snprintf(s->prefix, sizeof s->prefix, "\"%s\".", schema);
    char note[256];
    if (store_pg_url_clean(cfg->database_url, &s->url, note, sizeof note, err, errlen) != 0)
        return -1;
    if (note[0])
        log_msg(LOG_LEVEL_INFO,
                "store: DATABASE_URL: Prisma's own parameters ignored (%s); our tables are in "
                "DATABASE_SCHEMA (%s)",
                note, schema);
    return 0;
}

/* libpq's messages end in a newline and may add hint lines: keep the first. */
static void first_line(char *dst, size_t n, const char *msg)
{
    size_t len = strcspn(msg != NULL ? msg : "", "\n");
    if (len >= n)
        len = n - 1;
    memcpy(dst, msg != NULL ? msg : "", len);
    dst[len] = '\0';
}

static int set_statement_timeout(PGconn *pg, int ms)
{
    char value[16];
    snprintf(value, sizeof value, "%d", ms);
    const char *vals[] = {value};
    PGresult *r = PQexecParams(pg, "SELECT set_config('statement_timeout', $1, false)", 1, NULL,
                               vals, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    return ok ? 0 : -1;
}

/* NOTICEs ("already exists, skipping") are expected chatter: debug only,
 * never libpq's default of printing to stderr. */
static void pg_notice(void *arg, const char *message)
{
    (void)arg;
    char line[256];
    first_line(line, sizeof line, message);
    log_msg(LOG_LEVEL_DEBUG, "store: postgres notice: %s", line);
}

static void *pg_connect(const store_t *s, int statement_timeout_ms, char *err, size_t errlen)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", s->connect_timeout_s);
    /* dbname is expanded from the URL; keywords before it are defaults the
     * URL may override, so an explicit connect_timeout in it wins. */
    const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *vals[] = {timeout, "agentos", s->url, NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (pg == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (PQstatus(pg) != CONNECTION_OK) {
        first_line(err, errlen, PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, pg_notice, NULL);
    if (set_statement_timeout(pg, statement_timeout_ms) != 0) {
        first_line(err, errlen, PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    store_pg_conn_t *pc = store_pg_conn_wrap(pg);
    if (pc == NULL)
        snprintf(err, errlen, "out of memory");
    return pc;
}

static void pg_disconnect(void *db)
{
    store_pg_conn_close(db);
}

static PGconn *native(const store_conn_t *c)
{
    return ((const store_pg_conn_t *)c->db)->pg;
}

/* An idle connection has nothing to read. Data or EOF waiting means the
 * server ended it (a restart sends FATAL 57P01, a crash closes the socket):
 * reconnect now rather than fail the next request on a dead socket. */
static int pg_alive(store_conn_t *c)
{
    PGconn *pg = native(c);
    if (PQstatus(pg) != CONNECTION_OK || PQtransactionStatus(pg) != PQTRANS_IDLE)
        return 0;
    struct pollfd pfd = {.fd = PQsocket(pg), .events = POLLIN};
    return pfd.fd >= 0 && poll(&pfd, 1, 0) == 0;
}

static int state_is(const char *state, const char *code)
{
    return strncmp(state, code, strlen(code)) == 0;
}

/* Connection exceptions (08), shutdowns (57P01-57P03). */
static int state_lost(const char *state)
{
    return state_is(state, "08") || state_is(state, "57P0");
}

/* Worth a retry later: statement timeout or cancel, resources, lock and
 * serialisation failures. */
static int state_busy(const char *state)
{
    return state_is(state, "57014") || state_is(state, "53") || state_is(state, "40001") ||
           state_is(state, "40P01") || state_is(state, "55P03");
}

static store_rc_t pg_fail(store_conn_t *c, const PGresult *r)
{
    PGconn *pg = native(c);
    if (c->broken) { /* pg_query dropped it: no answer in time */
        snprintf(c->last_error, sizeof c->last_error, "no answer in time");
        return STORE_UNAVAILABLE;
    }
    const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(pg);
    first_line(c->last_error, sizeof c->last_error, msg);
    /* The message may quote a parameter's value: debug level only. */
    log_msg(LOG_LEVEL_DEBUG, "store: postgres error %s: %s", state ? state : "-", c->last_error);
    if (PQstatus(pg) != CONNECTION_OK || state == NULL || state_lost(state)) {
        log_msg(LOG_LEVEL_WARN, "store: postgres connection lost (%s); will reconnect",
                state ? state : "no sqlstate");
        store_conn_mark_broken(c);
        return STORE_UNAVAILABLE;
    }
    if (strcmp(state, "23505") == 0)
        return STORE_CONFLICT;
    if (strcmp(state, "23503") == 0)
        return STORE_NOT_FOUND; /* the row it refers to is not in this workspace */
    if (state_busy(state)) {
        log_msg(LOG_LEVEL_WARN, "store: postgres busy or timed out (%s)", state);
        return STORE_UNAVAILABLE;
    }
    log_msg(LOG_LEVEL_WARN, "store: postgres error (%s)", state);
    return STORE_ERROR;
}

static json_t *pg_cell(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return json_null();
    const char *text = PQgetvalue(r, row, col);
    Oid type = PQftype(r, col);
    if (type == INT8OID || type == INT4OID || type == INT2OID)
        return json_integer(strtoll(text, NULL, 10));
    return store_json_value(PQfname(r, col), text);
}

static store_rc_t pg_rows(const PGresult *r, json_t *rows)
{
    int nrows = PQntuples(r), ncols = PQnfields(r);
    for (int i = 0; i < nrows; i++) {
        json_t *obj = json_object();
        if (obj == NULL || json_array_append_new(rows, obj) != 0)
            return STORE_ERROR;
        for (int j = 0; j < ncols; j++) {
            if (json_object_set_new(obj, PQfname(r, j), pg_cell(r, i, j)) != 0)
                return STORE_ERROR;
        }
    }
    return STORE_OK;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until libpq has a whole result to hand over (or has sent all it
 * must). Returns -1 on a dead socket or at the deadline. */
static int pg_wait(PGconn *pg, int64_t deadline)
{
    int flushing = 1;
    for (;;) {
        if (flushing && (flushing = PQflush(pg)) < 0)
            return -1;
        if (!flushing && !PQisBusy(pg))
            return 0;
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            return -1;
        struct pollfd pfd = {.fd = PQsocket(pg), .events = POLLIN | (flushing ? POLLOUT : 0)};
        int pr = poll(&pfd, 1, (int)(left < 1000 ? left : 1000));
        if (pr < 0 && errno != EINTR)
            return -1;
        if (pr > 0 && (pfd.revents & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(pg))
            return -1;
    }
}

/* libpq's blocking calls wait forever on a server that stops answering
 * without closing the socket (a hung host, a partition): statement_timeout
 * runs on the server and cannot fire then. So the wait for the result is
 * bounded here; past it the connection is dropped and the call fails as
 * unavailable. NULL: no result (pg_fail reads the connection's error). */
static PGresult *pg_collect(store_conn_t *c, int64_t deadline)
{
    PGconn *pg = native(c);
    PGresult *last = NULL, *r;
    for (;;) {
        if (pg_wait(pg, deadline) != 0) {
            PQclear(last);
            log_msg(LOG_LEVEL_WARN,
                    "store: postgres did not answer in time; dropping the connection");
            store_conn_mark_broken(c);
            return NULL;
        }
        if ((r = PQgetResult(pg)) == NULL)
            return last;
        /* One statement gives one result; keep the first error if any. */
        if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR) {
            PQclear(r);
            continue;
        }
        PQclear(last);
        last = r;
    }
}

/* Best effort: a name that stays is only a few bytes on the server until
 * the connection ends, and names are never reused. */
static void pg_deallocate(store_conn_t *c, const char *name, int64_t deadline)
{
    char sql[STORE_PG_STMT_NAME + 16];
    snprintf(sql, sizeof sql, "DEALLOCATE %s", name); /* our own name, not input */
    if (PQsendQuery(native(c), sql))
        PQclear(pg_collect(c, deadline));
}

/* The prepared statement for sql, prepared now on its first use; NULL to
 * run it unnamed (the cache is full inside a transaction, where an
 * eviction could fail), or with *bad the failed prepare's result. */
static store_pg_stmt_t *pg_prepared(store_conn_t *c, const char *sql, int n, int64_t deadline,
                                    PGresult **bad)
{
    store_pg_conn_t *pc = c->db;
    store_pg_stmt_t *e = store_pg_stmt_find(pc, sql);
    if (e != NULL)
        return e;
    if (pc->n >= STORE_PG_STMT_MAX && PQtransactionStatus(pc->pg) != PQTRANS_IDLE)
        return NULL;
    char evicted[STORE_PG_STMT_NAME];
    if ((e = store_pg_stmt_add(pc, sql, evicted)) == NULL)
        return NULL;
    if (evicted[0])
        pg_deallocate(c, evicted, deadline);
    PGresult *r = PQsendPrepare(pc->pg, e->name, sql, n, NULL) ? pg_collect(c, deadline) : NULL;
    if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK) {
        PQclear(r);
        pc->prepares++;
        return e;
    }
    store_pg_stmt_drop(pc, e);
    *bad = r;
    return NULL;
}

/* "cached plan must not change result type": another replica's migration
 * changed a table under a prepared SELECT *. The next call prepares anew. */
static void pg_forget_stale(store_conn_t *c, store_pg_stmt_t *e, const PGresult *r)
{
    const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (e != NULL && state != NULL && strcmp(state, "0A000") == 0)
        store_pg_stmt_drop(c->db, e);
}

/* Statements with parameters (the data queries) run prepared; the rest
 * (BEGIN, COMMIT, savepoints, migrations' DDL) as before, unnamed. */
static PGresult *pg_query(store_conn_t *c, const char *sql, int n, const char *const *vals)
{
    PGconn *pg = native(c);
    int64_t deadline = mono_ms() + c->store->statement_timeout_ms + PG_WAIT_SLACK_MS;
    store_pg_stmt_t *e = NULL;
    if (n > 0) {
        PGresult *bad = NULL;
        e = pg_prepared(c, sql, n, deadline, &bad);
        if (bad != NULL || c->broken)
            return bad;
    }
    int sent = e != NULL ? PQsendQueryPrepared(pg, e->name, n, vals, NULL, NULL, 0)
                         : PQsendQueryParams(pg, sql, n, NULL, vals, NULL, NULL, 0);
    PGresult *r = sent ? pg_collect(c, deadline) : NULL;
    if (r != NULL && PQresultStatus(r) == PGRES_FATAL_ERROR)
        pg_forget_stale(c, e, r);
    return r;
}

static store_rc_t pg_exec(store_conn_t *c, const char *sql, const store_param_t *p, int n,
                          json_t *rows, long long *changes)
{
    const char *vals[STORE_SQL_PARAMS];
    char nums[STORE_SQL_PARAMS][24];
    for (int i = 0; i < n && i < STORE_SQL_PARAMS; i++) {
        vals[i] = p[i].type == STORE_P_TEXT ? p[i].text : NULL;
        if (p[i].type == STORE_P_INT) {
            snprintf(nums[i], sizeof nums[i], "%lld", p[i].num);
            vals[i] = nums[i];
        }
    }
    PGresult *r = pg_query(c, sql, n, n > 0 ? vals : NULL);
    ExecStatusType st = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    store_rc_t rc;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        rc = rows != NULL ? pg_rows(r, rows) : STORE_OK;
        if (changes != NULL)
            *changes = strtoll(PQcmdTuples(r), NULL, 10);
    } else {
        rc = pg_fail(c, r);
    }
    PQclear(r);
    return rc;
}

static store_rc_t pg_begin(store_conn_t *c)
{
    return pg_exec(c, "BEGIN", NULL, 0, NULL, NULL);
}

static store_rc_t pg_commit(store_conn_t *c)
{
    return pg_exec(c, "COMMIT", NULL, 0, NULL, NULL);
}

static void pg_rollback(store_conn_t *c)
{
    if (!c->broken)
        pg_exec(c, "ROLLBACK", NULL, 0, NULL, NULL);
}

/* The advisory lock key: FNV-1a of the schema name, so replicas sharing a
 * schema serialise and different schemas do not. */
static long long lock_key(const char *schema)
{
    uint64_t h = hash_fnv1a_str(hash_fnv1a_str(HASH_FNV1A_INIT, "agentos.migrate:"), schema);
    return (long long)(h & INT64_MAX);
}

static store_rc_t advisory(store_conn_t *c, const char *fn)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT %s($1::bigint)", fn);
    store_param_t key = {.type = STORE_P_INT, .num = lock_key(c->store->schema)};
    return pg_exec(c, sql, &key, 1, NULL, NULL);
}

/* Only the lock: the schema is made under it by store_pg_migrate_prepare,
 * because two concurrent CREATE SCHEMA can fail with a unique violation on
 * the catalog. */
static store_rc_t pg_migrate_lock(store_conn_t *c)
{
    return advisory(c, "pg_advisory_lock");
}

static store_rc_t pg_migrate_unlock(store_conn_t *c, int ok)
{
    (void)ok; /* each migration committed or rolled back on its own */
    if (c->broken)
        return STORE_UNAVAILABLE; /* the lock went with the session */
    return advisory(c, "pg_advisory_unlock");
}

const store_backend_t store_pg_backend = {
    .name = "postgres",
    .ilike = "ILIKE",
    .placeholder = '$',
    .write_tx = 0, /* a single statement is atomic on its own */
    .migration_tx_each = 1,
    .migrations = store_pg_migrations,
    .init = pg_init,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .alive = pg_alive,
    .exec = pg_exec,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .migrate_lock = pg_migrate_lock,
    .migrate_unlock = pg_migrate_unlock,
    .migrate_prepare = store_pg_migrate_prepare,
    .check_access = store_pg_check_access,
};
