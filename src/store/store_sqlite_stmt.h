/* One SQLite connection with its prepared statements, cached by SQL text.
 * The queries are a fixed set of templates, so preparing each once per
 * connection instead of once per call takes the parser off every request.
 * A connection belongs to one store thread, so the cache takes no lock. */
#ifndef AGENTOS_STORE_STORE_SQLITE_STMT_H
#define AGENTOS_STORE_STORE_SQLITE_STMT_H

#include <sqlite3.h>
#include <stdint.h>
#include <uv.h>

/* More than the distinct templates the store runs; past it the least
 * recently used statement is finalized (migrations' one-off DDL). */
#define STORE_STMT_CACHE_MAX 64

typedef struct store_stmt_entry {
    sqlite3_stmt *st;
    uint64_t hash;
    uint64_t used; /* tick of the last get: the LRU order */
} store_stmt_entry_t;

typedef struct store_sqlite_conn {
    sqlite3 *db;
    int writing;          /* holds write_mu (store_sqlite.c) */
    uv_mutex_t *write_mu; /* the store's, set when first taken */
    int n;
    uint64_t tick;
    store_stmt_entry_t e[STORE_STMT_CACHE_MAX];
} store_sqlite_conn_t;

/* Wraps an open db (taking it); NULL when out of memory (db is closed). */
store_sqlite_conn_t *store_sqlite_conn_wrap(sqlite3 *db);
/* Finalizes every statement and closes the db. NULL is a no-op. */
void store_sqlite_conn_close(store_sqlite_conn_t *sc);
/* The statement for sql, prepared on first use; *st is NULL when sql holds
 * no statement. Give it back with store_stmt_put. */
int store_stmt_get(store_sqlite_conn_t *sc, const char *sql, sqlite3_stmt **st);
/* Resets st, which ends its read, and drops its bindings (they point at
 * the caller's strings); finalizes it if it was not cached. */
void store_stmt_put(store_sqlite_conn_t *sc, sqlite3_stmt *st);
/* Finalizes every cached statement: after a schema change, and at close. */
void store_stmt_clear(store_sqlite_conn_t *sc);

#endif
