/* The per-connection statement cache (store_pg_stmt.h). A linear scan over
 * at most STORE_PG_STMT_MAX hashes costs far less than a parse and plan on
 * the server. */
#include "store/store_pg_stmt.h"

#include "core/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

store_pg_conn_t *store_pg_conn_wrap(PGconn *pg)
{
    store_pg_conn_t *pc = calloc(1, sizeof *pc);
    if (pc == NULL) {
        PQfinish(pg);
        return NULL;
    }
    pc->pg = pg;
    return pc;
}

void store_pg_conn_close(store_pg_conn_t *pc)
{
    if (pc == NULL)
        return;
    for (int i = 0; i < pc->n; i++)
        free(pc->e[i].sql);
    PQfinish(pc->pg); /* the server drops the session's statements */
    free(pc);
}

store_pg_stmt_t *store_pg_stmt_find(store_pg_conn_t *pc, const char *sql)
{
    uint64_t h = hash_fnv1a_str(HASH_FNV1A_INIT, sql);
    for (int i = 0; i < pc->n; i++) {
        store_pg_stmt_t *e = &pc->e[i];
        if (e->hash == h && strcmp(e->sql, sql) == 0) {
            e->used = ++pc->tick;
            return e;
        }
    }
    return NULL;
}

static store_pg_stmt_t *lru(store_pg_conn_t *pc)
{
    store_pg_stmt_t *old = &pc->e[0];
    for (int i = 1; i < pc->n; i++) {
        if (pc->e[i].used < old->used)
            old = &pc->e[i];
    }
    return old;
}

store_pg_stmt_t *store_pg_stmt_add(store_pg_conn_t *pc, const char *sql,
                                   char evicted[STORE_PG_STMT_NAME])
{
    evicted[0] = '\0';
    char *copy = strdup(sql);
    if (copy == NULL)
        return NULL;
    store_pg_stmt_t *e;
    if (pc->n < STORE_PG_STMT_MAX) {
        e = &pc->e[pc->n++];
    } else {
        e = lru(pc);
        snprintf(evicted, STORE_PG_STMT_NAME, "%s", e->name);
        free(e->sql);
    }
    e->sql = copy;
    e->hash = hash_fnv1a_str(HASH_FNV1A_INIT, sql);
    e->used = ++pc->tick;
    /* Names are never reused on a connection: one still being evicted
     * cannot be confused with a new one. */
    snprintf(e->name, sizeof e->name, "agentos_%llu", (unsigned long long)++pc->next_id);
    return e;
}

void store_pg_stmt_drop(store_pg_conn_t *pc, store_pg_stmt_t *e)
{
    free(e->sql);
    *e = pc->e[--pc->n];
}
