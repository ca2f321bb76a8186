/* Agno's daily metrics, read from the rollups that a run's finish write
 * keeps (usage_daily, usage_users): a few rows per day and model, never a
 * scan of the runs. The sums are cast: PostgreSQL's sum(bigint) is numeric.
 * Sessions per day are counted on the sessions index (workspace_id,
 * created_at), as Agno counts the sessions created each day. */
#include <stdio.h>
#include <string.h>
#include <time.h>

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

#define DAY_MS 86400000LL

/* "YYYY-MM-DD" (checked by day_ok) as epoch ms of its UTC midnight. */
static long long day_ms(const char *day)
{
    struct tm tm = {0};
    if (sscanf(day, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm) * 1000;
}

/* {day, sessions}: sessions created per day. Days are whole numbers of
 * days since the epoch in SQL (the same in both back ends), named in C. */
static store_rc_t sessions(store_conn_t *c, const char *ws, const char *from_day,
                           const char *to_day, json_t **rows)
{
    store_sql_t q;
    store_sql_init(&q, c->store);
    store_sql_add(&q, "SELECT CAST(created_at / 86400000 AS BIGINT) AS dayn,"
                      " CAST(count(*) AS BIGINT) AS sessions FROM {S}sessions"
                      " WHERE created_at >= ? AND created_at < ?");
    store_sql_int(&q, day_ms(from_day));
    store_sql_int(&q, day_ms(to_day) + DAY_MS);
    if (ws != NULL) {
        store_sql_add(&q, " AND workspace_id = ?");
        store_sql_text(&q, ws);
    }
    store_sql_add(&q, " GROUP BY CAST(created_at / 86400000 AS BIGINT) ORDER BY dayn");
    return store_sql_exec(c, &q, rows, NULL);
}

static json_t *user_row_of(json_t *user_rows, const char *day)
{
    size_t i;
    json_t *row;
    json_array_foreach(user_rows, i, row)
    {
        const char *d = json_string_value(json_object_get(row, "day"));
        if (d != NULL && strcmp(d, day) == 0)
            return row;
    }
    json_t *fresh = json_pack("{s:s, s:I}", "day", day, "users", (json_int_t)0);
    json_array_append_new(user_rows, fresh);
    return fresh;
}

/* Each day's session count joins that day's user row (one is made for a
 * day with sessions and no users). */
static void merge_sessions(json_t *user_rows, json_t *session_rows)
{
    size_t i;
    json_t *row;
    json_array_foreach(session_rows, i, row)
    {
        time_t t = (time_t)(json_integer_value(json_object_get(row, "dayn")) * 86400);
        struct tm tm;
        char day[16];
        if (gmtime_r(&t, &tm) == NULL || strftime(day, sizeof day, "%Y-%m-%d", &tm) == 0)
            continue;
        json_object_set(user_row_of(user_rows, day), "sessions", json_object_get(row, "sessions"));
    }
}

static store_rc_t days(store_conn_t *c, const char *ws, const char *from_day, const char *to_day,
                       json_t **model_rows, json_t **user_rows)
{
    *model_rows = NULL;
    *user_rows = NULL;
    if (!day_ok(from_day) || !day_ok(to_day))
        return STORE_ERROR;
    json_t *session_rows = NULL;
    store_rc_t rc = models(c, ws, from_day, to_day, model_rows);
    if (rc == STORE_OK)
        rc = users(c, ws, from_day, to_day, user_rows);
    if (rc == STORE_OK)
        rc = sessions(c, ws, from_day, to_day, &session_rows);
    if (rc == STORE_OK)
        merge_sessions(*user_rows, session_rows);
    json_decref(session_rows);
    if (rc != STORE_OK) {
        json_decref(*model_rows);
        json_decref(*user_rows);
        *model_rows = NULL;
        *user_rows = NULL;
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
