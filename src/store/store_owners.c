/* Run owners: the one place the store works across workspaces. A process
 * records a heartbeat; at start and then every minute, a sweep marks the
 * runs of owners that stopped beating as interrupted. Nothing here reads or
 * returns a workspace's data. */
#include <limits.h>

#include "store/store_finish.h"
#include "store/store_internal.h"

store_rc_t store_owner_heartbeat(store_conn_t *c, const char *owner)
{
    if (c == NULL || c->db == NULL)
        return STORE_UNAVAILABLE;
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "INSERT INTO {S}run_owners (owner, heartbeat_at) VALUES (?, ?)"
                      " ON CONFLICT (owner) DO UPDATE SET heartbeat_at = excluded.heartbeat_at");
    store_sql_text(&q, owner);
    store_sql_int(&q, (long long)store_now_ms());
    return store_sql_write(c, &q, NULL, NULL);
}

store_rc_t store_runs_interrupt_orphans(store_conn_t *c, const char *self, long long stale_ms,
                                        long long *count)
{
    if (c == NULL || c->db == NULL)
        return STORE_UNAVAILABLE;
    long long now = (long long)store_now_ms();
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "UPDATE {S}runs SET status = 'ERROR', content = COALESCE(content, ?),"
                      " updated_at = ? WHERE status IN ('RUNNING', 'PENDING') AND (owner IS NULL"
                      " OR (owner <> ? AND owner NOT IN"
                      " (SELECT owner FROM {S}run_owners WHERE heartbeat_at >= ?)))");
    store_sql_text(&q, STORE_INTERRUPTED_TEXT);
    store_sql_int(&q, now);
    store_sql_text(&q, self);
    /* Stale 0 (one replica): every other owner is gone, even one that beat
     * this millisecond or, after the clock stepped back, in the future. */
    store_sql_int(&q, stale_ms > 0 ? now - stale_ms : LLONG_MAX);
    return store_sql_write(c, &q, NULL, count);
}
