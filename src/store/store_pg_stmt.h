/* One PostgreSQL connection with its prepared statements, by SQL text: a
 * statement with parameters is prepared (PQsendPrepare) on its first use on
 * a connection and run by name after (PQsendQueryPrepared), so the server
 * parses and plans each template once per connection. The cache dies with
 * the connection: a reconnect starts empty and prepares again. A
 * connection belongs to one store thread, so the cache takes no lock. */
#ifndef AGENTOS_STORE_STORE_PG_STMT_H
#define AGENTOS_STORE_STORE_PG_STMT_H

#include <libpq-fe.h>
#include <stdint.h>

/* More than the templates the store runs; past it the least recently used
 * is deallocated (texts that vary, such as an IN list's length). */
#define STORE_PG_STMT_MAX 64
#define STORE_PG_STMT_NAME 24

typedef struct store_pg_stmt {
    uint64_t hash;
    char *sql; /* owned */
    uint64_t used;
    char name[STORE_PG_STMT_NAME];
} store_pg_stmt_t;

typedef struct store_pg_conn {
    PGconn *pg;
    int n;
    uint64_t tick, next_id;
    uint64_t prepares; /* statements prepared on this connection (tests count them) */
    store_pg_stmt_t e[STORE_PG_STMT_MAX];
} store_pg_conn_t;

/* Wraps an open connection (taking it); NULL when out of memory (pg is
 * closed). */
store_pg_conn_t *store_pg_conn_wrap(PGconn *pg);
/* Closes the connection and frees the cache. NULL is a no-op. */
void store_pg_conn_close(store_pg_conn_t *pc);
/* The cached statement for sql, NULL when it has not been prepared. */
store_pg_stmt_t *store_pg_stmt_find(store_pg_conn_t *pc, const char *sql);
/* A new entry for sql with a fresh name, to be prepared by the caller,
 * evicting the least recently used when full; *evicted gets the name to
 * DEALLOCATE then ("" otherwise). NULL when out of memory. */
store_pg_stmt_t *store_pg_stmt_add(store_pg_conn_t *pc, const char *sql,
                                   char evicted[STORE_PG_STMT_NAME]);
/* Forgets e (its prepare failed). */
void store_pg_stmt_drop(store_pg_conn_t *pc, store_pg_stmt_t *e);

#endif
