/* Agno's daily metrics, read from the rollups that a run's finish write
 * keeps (usage_daily, usage_users): a few rows per day and model, never a
 * scan of the runs. The sums are cast: PostgreSQL's sum(bigint) is numeric. */
#include <string.h>

#include "store/store_internal.h"

static int day_ok(const char *day)
{
    if (day == NULL || strlen(day) != 10)
        return 0;
    for (int i = 0; i < 10; i++) {
        int dash = i == 4 || i == 7;
        if (dash ? day[i] != '-' : (day[i] < '0' || day[i] > '9'))
            return 0;
    }
    return 1;
}

/* " WHERE [workspace_id = ? AND] day >= ? AND day <= ?". */
static void add_filter(store_sql_t *q, const char *ws, const char *from_day, const char *to_day)
{
    store_sql_add(q, " WHERE day >= ? AND day <= ?");
    store_sql_text(q, from_day);
    store_sql_text(q, to_day);
    if (ws != NULL) {
        store_sql_add(q, " AND workspace_id = ?");
        store_sql_text(q, ws);
    }
}

static store_rc_t models(store_conn_t *c, const char *ws, const char *from_day, const char *to_day,
                         json_t **rows)
{
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT day, model, model_provider, CAST(sum(runs) AS BIGINT) AS runs,"
                      " CAST(sum(input_tokens) AS BIGINT) AS input_tokens,"
                      " CAST(sum(output_tokens) AS BIGINT) AS output_tokens,"
                      " CAST(max(updated_at) AS BIGINT) AS updated_at FROM {S}usage_daily");
    add_filter(&q, ws, from_day, to_day);
    store_sql_add(&q, " GROUP BY day, model, model_provider ORDER BY day, model, model_provider");
    return store_sql_exec(c, &q, rows, NULL);
}

/* A user counts once a day, whichever workspaces they ran in. */
static store_rc_t users(store_conn_t *c, const char *ws, const char *from_day, const char *to_day,
                        json_t **rows)
{
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT day, CAST(count(DISTINCT user_id) AS BIGINT) AS users"
                      " FROM {S}usage_users");
    add_filter(&q, ws, from_day, to_day);
    store_sql_add(&q, " GROUP BY day ORDER BY day");
    return store_sql_exec(c, &q, rows, NULL);
}

static store_rc_t days(store_conn_t *c, const char *ws, const char *from_day, const char *to_day,
                       json_t **model_rows, json_t **user_rows)
{
    *model_rows = NULL;
    *user_rows = NULL;
    if (!day_ok(from_day) || !day_ok(to_day))
        return STORE_ERROR;
    store_rc_t rc = models(c, ws, from_day, to_day, model_rows);
    if (rc == STORE_OK)
        rc = users(c, ws, from_day, to_day, user_rows);
    if (rc != STORE_OK) {
        json_decref(*model_rows);
        *model_rows = NULL;
    }
    return rc;
}

store_rc_t store_metrics_days(store_conn_t *c, const char *ws, const char *from_day,
                              const char *to_day, json_t **model_rows, json_t **user_rows)
{
    *model_rows = NULL;
    *user_rows = NULL;
    store_rc_t rc = store_check(c, ws);
    if (rc != STORE_OK)
        return rc;
    return days(c, ws, from_day, to_day, model_rows, user_rows);
}

store_rc_t store_metrics_days_all_workspaces(store_conn_t *c, const char *from_day,
                                             const char *to_day, json_t **model_rows,
                                             json_t **user_rows)
{
    *model_rows = NULL;
    *user_rows = NULL;
    if (c == NULL || c->db == NULL)
        return STORE_UNAVAILABLE;
    return days(c, NULL, from_day, to_day, model_rows, user_rows);
}
