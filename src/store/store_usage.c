/* Daily usage counters, one row per (workspace, day, agent, model,
 * provider), added to by an upsert so concurrent runs never lose a count;
 * and the distinct users of each day. */
#include <ctype.h>
#include <string.h>

#include "store/store_internal.h"

/* YYYY-MM-DD: days compare as text, so the shape must be exact. */
static int day_ok(const char *day)
{
    if (day == NULL || strlen(day) != 10)
        return 0;
    for (int i = 0; i < 10; i++) {
        int dash = i == 4 || i == 7;
        if (dash ? day[i] != '-' : !isdigit((unsigned char)day[i]))
            return 0;
    }
    return 1;
}

static store_rc_t add_counts(store_conn_t *c, const char *ws, const char *day, const char *agent_id,
                             const char *model, const char *provider, long long input_tokens,
                             long long output_tokens)
{
    store_sql_t q;
    store_sql_init(&q, c->store);
    /* The alias: PostgreSQL finds a bare "runs" ambiguous beside excluded. */
    store_sql_add(&q, "INSERT INTO {S}usage_daily AS u (workspace_id, day, agent_id, model,"
                      " model_provider, runs, input_tokens, output_tokens, updated_at)"
                      " VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)"
                      " ON CONFLICT (workspace_id, day, agent_id, model, model_provider)"
                      " DO UPDATE SET runs = u.runs + 1,"
                      " input_tokens = u.input_tokens + excluded.input_tokens,"
                      " output_tokens = u.output_tokens + excluded.output_tokens,"
                      " updated_at = excluded.updated_at");
    store_sql_text(&q, ws);
    store_sql_text(&q, day);
    store_sql_text(&q, agent_id != NULL ? agent_id : "");
    store_sql_text(&q, model != NULL ? model : "");
    store_sql_text(&q, provider != NULL ? provider : "");
    store_sql_int(&q, input_tokens);
    store_sql_int(&q, output_tokens);
    store_sql_int(&q, (long long)store_now_ms());
    return store_sql_exec(c, &q, NULL, NULL);
}

static store_rc_t add_user(store_conn_t *c, const char *ws, const char *day, const char *user_id)
{
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "INSERT INTO {S}usage_users (workspace_id, day, user_id) VALUES (?, ?, ?)"
                      " ON CONFLICT (workspace_id, day, user_id) DO NOTHING");
    store_sql_text(&q, ws);
    store_sql_text(&q, day);
    store_sql_text(&q, user_id);
    return store_sql_exec(c, &q, NULL, NULL);
}

store_rc_t store_usage_add(store_conn_t *c, const char *ws, const char *day, const char *agent_id,
                           const char *user_id, const char *model, const char *provider,
                           long long input_tokens, long long output_tokens)
{
    store_rc_t rc = store_check(c, ws);
    if (rc != STORE_OK)
        return rc;
    if (!day_ok(day))
        return STORE_ERROR;
    /* Inside a caller's transaction (a run's finish write), part of it. */
    int own_tx = !c->in_tx;
    rc = own_tx ? store_tx_begin(c) : STORE_OK;
    if (rc == STORE_OK)
        rc = add_counts(c, ws, day, agent_id, model, provider, input_tokens, output_tokens);
    if (rc == STORE_OK && user_id != NULL)
        rc = add_user(c, ws, day, user_id);
    if (!own_tx)
        return rc;
    if (rc == STORE_OK)
        return store_tx_commit(c);
    store_tx_rollback(c);
    return rc;
}

/* " AND day >= ? AND day <= ?" for the bounds given. */
static int add_days(store_sql_t *q, const char *from_day, const char *to_day)
{
    if ((from_day != NULL && !day_ok(from_day)) || (to_day != NULL && !day_ok(to_day)))
        return -1;
    if (from_day != NULL) {
        store_sql_add(q, " AND day >= ?");
        store_sql_text(q, from_day);
    }
    if (to_day != NULL) {
        store_sql_add(q, " AND day <= ?");
        store_sql_text(q, to_day);
    }
    return 0;
}

store_rc_t store_usage_list(store_conn_t *c, const char *ws, const char *from_day,
                            const char *to_day, json_t **rows)
{
    *rows = NULL;
    store_rc_t rc = store_check(c, ws);
    if (rc != STORE_OK)
        return rc;
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT day, NULLIF(agent_id, '') AS agent_id, NULLIF(model, '') AS model,"
                      " NULLIF(model_provider, '') AS model_provider, runs, input_tokens,"
                      " output_tokens FROM {S}usage_daily WHERE workspace_id = ?");
    store_sql_text(&q, ws);
    if (add_days(&q, from_day, to_day) != 0)
        return STORE_ERROR;
    store_sql_add(&q, " ORDER BY day, agent_id, model, model_provider");
    return store_sql_exec(c, &q, rows, NULL);
}

store_rc_t store_usage_users(store_conn_t *c, const char *ws, const char *from_day,
                             const char *to_day, json_t **rows)
{
    *rows = NULL;
    store_rc_t rc = store_check(c, ws);
    if (rc != STORE_OK)
        return rc;
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT day, count(*) AS users FROM {S}usage_users WHERE workspace_id = ?");
    store_sql_text(&q, ws);
    if (add_days(&q, from_day, to_day) != 0)
        return STORE_ERROR;
    store_sql_add(&q, " GROUP BY day ORDER BY day");
    return store_sql_exec(c, &q, rows, NULL);
}
