/* The per-connection statement cache (store_sqlite_stmt.h). A linear scan
 * over at most STORE_STMT_CACHE_MAX hashes costs less than one prepare. */
#include "store/store_sqlite_stmt.h"

#include "core/hash.h"

#include <stdlib.h>
#include <string.h>

store_sqlite_conn_t *store_sqlite_conn_wrap(sqlite3 *db)
{
    store_sqlite_conn_t *sc = calloc(1, sizeof *sc);
    if (sc == NULL) {
        sqlite3_close(db);
        return NULL;
    }
    sc->db = db;
    return sc;
}

void store_stmt_clear(store_sqlite_conn_t *sc)
{
    for (int i = 0; i < sc->n; i++)
        sqlite3_finalize(sc->e[i].st);
    sc->n = 0;
}

void store_sqlite_conn_close(store_sqlite_conn_t *sc)
{
    if (sc == NULL)
        return;
    store_stmt_clear(sc);
    sqlite3_close(sc->db);
    /* Dropped inside a write transaction (a ROLLBACK that failed): the
     * closing thread is the one that took it. */
    if (sc->writing)
        uv_mutex_unlock(sc->write_mu);
    free(sc);
}

static store_stmt_entry_t *find(store_sqlite_conn_t *sc, uint64_t h, const char *sql)
{
    for (int i = 0; i < sc->n; i++) {
        if (sc->e[i].hash == h && strcmp(sqlite3_sql(sc->e[i].st), sql) == 0)
            return &sc->e[i];
    }
    return NULL;
}

/* A free slot, finalizing the least recently used statement when full. */
static store_stmt_entry_t *slot(store_sqlite_conn_t *sc)
{
    if (sc->n < STORE_STMT_CACHE_MAX)
        return &sc->e[sc->n++];
    store_stmt_entry_t *old = &sc->e[0];
    for (int i = 1; i < sc->n; i++) {
        if (sc->e[i].used < old->used)
            old = &sc->e[i];
    }
    sqlite3_finalize(old->st);
    return old;
}

int store_stmt_get(store_sqlite_conn_t *sc, const char *sql, sqlite3_stmt **st)
{
    uint64_t h = hash_fnv1a_str(HASH_FNV1A_INIT, sql);
    store_stmt_entry_t *e = find(sc, h, sql);
    if (e == NULL) {
        sqlite3_stmt *fresh = NULL;
        int code = sqlite3_prepare_v3(sc->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &fresh, NULL);
        *st = fresh;
        if (code != SQLITE_OK || fresh == NULL)
            return code;
        /* Text after the first statement is not in sqlite3_sql, so such a
         * statement could never be found again: it is not cached. */
        if (strcmp(sqlite3_sql(fresh), sql) != 0)
            return SQLITE_OK;
        e = slot(sc);
        e->st = fresh;
        e->hash = h;
    }
    e->used = ++sc->tick;
    *st = e->st;
    return SQLITE_OK;
}

void store_stmt_put(store_sqlite_conn_t *sc, sqlite3_stmt *st)
{
    for (int i = 0; i < sc->n; i++) {
        if (sc->e[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return;
        }
    }
    sqlite3_finalize(st); /* not cached (see store_stmt_get); NULL is a no-op */
}
