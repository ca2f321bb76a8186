/* The SQLite back end: the embedded default, one file in the data dir.
 * Each pool thread has its own connection; WAL lets readers run beside the
 * one writer, and writers queue on busy_timeout. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "store/store_internal.h"
#include "store/store_sqlite_ckpt.h"
#include "store/store_sqlite_stmt.h"

#define BUSY_TIMEOUT_MS 5000
#define MODE_LEN 16

/* mkdir -p: the data dir may be a fresh path several levels deep. */
static int make_dirs(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        snprintf(err, errlen, "AGENTOS_DATA_DIR is too long");
        return -1;
    }
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
            return -1;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "AGENTOS_DATA_DIR %s is not a directory", path);
        return -1;
    }
    return 0;
}

static int sqlite_init(store_t *s, const store_config_t *cfg, char *err, size_t errlen)
{
    const char *dir = cfg->data_dir != NULL && cfg->data_dir[0] ? cfg->data_dir : "data";
    if (make_dirs(dir, err, errlen) != 0)
        return -1;
    size_t n = strlen(dir) + sizeof "/agentos.db";
    s->path = malloc(n);
    if (s->path == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(s->path, n, "%s/agentos.db", dir);
    /* wal_autocheckpoint is off on every connection: this thread does it. */
    s->ckpt = store_ckpt_start(
        s, cfg->wal_checkpoint_ms > 0 ? (unsigned)cfg->wal_checkpoint_ms : 0,
        cfg->wal_checkpoint_commits > 0 ? (unsigned)cfg->wal_checkpoint_commits : 0);
    if (s->ckpt == NULL) {
        snprintf(err, errlen, "cannot start the WAL checkpoint thread");
        return -1;
    }
    return 0;
}

static int first_text(void *out, int ncols, char **vals, char **names)
{
    (void)names;
    if (ncols > 0 && vals[0] != NULL)
        snprintf(out, MODE_LEN, "%s", vals[0]);
    return 0;
}

/* Switching a new file to WAL needs an exclusive lock, and where waiting
 * could deadlock SQLite answers SQLITE_BUSY without calling the busy
 * handler: two processes opening a fresh database at once hit this. So
 * the switch is retried here, within the same time limit. */
static int exec_retry(sqlite3 *db, const char *sql, int (*cb)(void *, int, char **, char **),
                      void *arg)
{
    uint64_t deadline = timeutil_mono_us() + BUSY_TIMEOUT_MS * 1000ull;
    int rc;
    while ((rc = sqlite3_exec(db, sql, cb, arg, NULL)) != SQLITE_OK && (rc & 0xff) == SQLITE_BUSY &&
           timeutil_mono_us() < deadline)
        sqlite3_sleep(10);
    return rc;
}

static int configure(sqlite3 *db, char *err, size_t errlen)
{
    char mode[MODE_LEN] = "";
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    if (exec_retry(db, "PRAGMA journal_mode=WAL", first_text, mode) != SQLITE_OK ||
        exec_retry(db,
                   "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                   "PRAGMA wal_autocheckpoint=0",
                   NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(db));
        return -1;
    }
    if (strcmp(mode, "wal") != 0)
        log_msg(LOG_LEVEL_WARN, "store: sqlite journal mode is %s, not wal", mode);
    return 0;
}

static void *sqlite_connect(const store_t *s, int statement_timeout_ms, char *err, size_t errlen)
{
    (void)statement_timeout_ms; /* SQLite's limit is the busy timeout */
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(s->path, &db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", s->path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    if (configure(db, err, errlen) != 0) {
        sqlite3_close(db);
        return NULL;
    }
    store_sqlite_conn_t *sc = store_sqlite_conn_wrap(db);
    if (sc == NULL)
        snprintf(err, errlen, "out of memory");
    return sc;
}

static void sqlite_disconnect(void *db)
{
    store_sqlite_conn_close(db);
}

static sqlite3 *native(const store_conn_t *c)
{
    return ((const store_sqlite_conn_t *)c->db)->db;
}

/* A connection left inside a transaction is not handed out again. */
static int sqlite_alive(store_conn_t *c)
{
    return sqlite3_get_autocommit(native(c));
}

static store_rc_t sqlite_fail(store_conn_t *c, int code)
{
    snprintf(c->last_error, sizeof c->last_error, "%s", sqlite3_errmsg(native(c)));
    log_msg(LOG_LEVEL_DEBUG, "store: sqlite error %d: %s", code, c->last_error);
    switch (code) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
        return STORE_CONFLICT;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return STORE_NOT_FOUND; /* the row it refers to is not in this workspace */
    }
    switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        log_msg(LOG_LEVEL_WARN, "store: sqlite busy (%d)", code);
        return STORE_UNAVAILABLE;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FULL:
    case SQLITE_READONLY:
        log_msg(LOG_LEVEL_WARN, "store: sqlite file error (%d); will reopen", code);
        store_conn_mark_broken(c);
        return STORE_UNAVAILABLE;
    }
    log_msg(LOG_LEVEL_WARN, "store: sqlite error (%d)", code);
    return STORE_ERROR;
}

static int bind_all(sqlite3_stmt *st, const store_param_t *p, int n)
{
    int rc = SQLITE_OK;
    for (int i = 0; i < n && rc == SQLITE_OK; i++) {
        if (p[i].type == STORE_P_TEXT)
            rc = sqlite3_bind_text(st, i + 1, p[i].text, -1, SQLITE_STATIC);
        else if (p[i].type == STORE_P_INT)
            rc = sqlite3_bind_int64(st, i + 1, p[i].num);
        else
            rc = sqlite3_bind_null(st, i + 1);
    }
    return rc;
}

static json_t *sqlite_cell(sqlite3_stmt *st, int col)
{
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_NULL:
        return json_null();
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(st, col));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(st, col));
    default:
        return store_json_value(sqlite3_column_name(st, col),
                                (const char *)sqlite3_column_text(st, col));
    }
}

static int sqlite_row(sqlite3_stmt *st, json_t *rows)
{
    json_t *obj = json_object();
    if (obj == NULL || json_array_append_new(rows, obj) != 0)
        return -1;
    for (int i = 0; i < sqlite3_column_count(st); i++) {
        if (json_object_set_new(obj, sqlite3_column_name(st, i), sqlite_cell(st, i)) != 0)
            return -1;
    }
    return 0;
}

static store_rc_t sqlite_exec(store_conn_t *c, const char *sql, const store_param_t *p, int n,
                              json_t *rows, long long *changes)
{
    sqlite3_stmt *st = NULL;
    int code = store_stmt_get(c->db, sql, &st);
    if (code == SQLITE_OK)
        code = bind_all(st, p, n);
    while (code == SQLITE_OK && (code = sqlite3_step(st)) == SQLITE_ROW) {
        code = rows == NULL || sqlite_row(st, rows) == 0 ? SQLITE_OK : SQLITE_NOMEM;
    }
    store_rc_t rc = code == SQLITE_DONE ? STORE_OK : sqlite_fail(c, code);
    if (rc == STORE_OK && changes != NULL)
        *changes = sqlite3_stmt_readonly(st) ? 0 : sqlite3_changes64(native(c));
    store_stmt_put(c->db, st);
    return rc;
}

/* SQLite has one writer at a time. Threads of this process queue for it
 * on a mutex, handed over at once, instead of in SQLite's busy handler,
 * which sleeps in steps of up to 100 ms and so made a run's setup wait
 * behind a finish for far longer than the finish took. busy_timeout still
 * covers another process on the same file. */
static void write_release(store_conn_t *c)
{
    store_sqlite_conn_t *sc = c->db;
    if (sc->writing && sqlite3_get_autocommit(sc->db)) {
        sc->writing = 0;
        uv_mutex_unlock(&c->store->write_mu);
    }
}

static store_rc_t sqlite_begin(store_conn_t *c)
{
    store_sqlite_conn_t *sc = c->db;
    uv_mutex_lock(&c->store->write_mu);
    sc->write_mu = &c->store->write_mu;
    sc->writing = 1;
    /* IMMEDIATE takes the write lock now, waiting on busy_timeout, instead
     * of failing with SQLITE_BUSY when a read later turns into a write. */
    store_rc_t rc = sqlite_exec(c, "BEGIN IMMEDIATE", NULL, 0, NULL, NULL);
    write_release(c);
    return rc;
}

static store_rc_t sqlite_commit(store_conn_t *c)
{
    store_rc_t rc = sqlite_exec(c, "COMMIT", NULL, 0, NULL, NULL);
    write_release(c);
    /* The checkpoint is the checkpoint thread's (store_sqlite_ckpt.c): a
     * commit at most wakes it. store_tx_commit counts this one next. */
    if (rc == STORE_OK)
        store_ckpt_committed(c->store->ckpt, atomic_load(&c->store->commits) + 1);
    return rc;
}

static void sqlite_rollback(store_conn_t *c)
{
    if (!sqlite3_get_autocommit(native(c)))
        sqlite_exec(c, "ROLLBACK", NULL, 0, NULL, NULL);
    write_release(c);
}

static store_rc_t sqlite_migrate_lock(store_conn_t *c)
{
    return store_tx_begin(c);
}

/* The migrations' DDL is one-off: its statements leave the cache. */
static store_rc_t sqlite_migrate_unlock(store_conn_t *c, int ok)
{
    store_rc_t rc = STORE_OK;
    if (ok)
        rc = store_tx_commit(c);
    else
        store_tx_rollback(c);
    store_stmt_clear(c->db);
    return rc;
}

const store_backend_t store_sqlite_backend = {
    .name = "sqlite",
    .ilike = "LIKE", /* case-insensitive for ASCII unless case_sensitive_like */
    .placeholder = '?',
    .write_tx = 1,
    .migration_tx_each = 0, /* the migrate lock is itself one transaction */
    .migrations = store_sqlite_migrations,
    .init = sqlite_init,
    .connect = sqlite_connect,
    .disconnect = sqlite_disconnect,
    .alive = sqlite_alive,
    .exec = sqlite_exec,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .migrate_lock = sqlite_migrate_lock,
    .migrate_unlock = sqlite_migrate_unlock,
};
