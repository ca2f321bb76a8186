/* GET /metrics and POST /metrics/refresh in Agno's MetricsResponse shape,
 * from the daily rollups a run's finish write keeps current: a refresh has
 * nothing to recompute, so it reads the same days. The caller's workspace;
 * an operator's GET reads the one ?workspace_id= names or every workspace
 * (the refresh is a POST, so it needs X-Workspace-Id). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/app.h"
#include "api/body.h"
#include "api/handlers.h"
#include "api/store_job.h"
#include "api/views.h"
#include "core/timeutil.h"
#include "http/reply.h"

#define MAX_RANGE_DAYS 366
#define DAY_S 86400
#define NOT_A_DATE "date_from_datetime_parsing"

/* "YYYY-MM-DD" that is a real calendar day, as the UTC midnight. */
static int parse_day(const char *s, time_t *out)
{
    int y, m, d, n = 0;
    if (s == NULL || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 ||
        n != 10 || s[4] != '-' || s[7] != '-' || y < 1970 || y > 9999)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    time_t t = timegm(&tm);
    struct tm back;
    if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL || back.tm_mday != d || back.tm_mon != m - 1)
        return -1;
    *out = t;
    return 0;
}

static void format_day(time_t t, char out[11])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* type: pydantic's, as FastAPI names it ("date_from_datetime_parsing" for
 * what is not a date at all, "value_error" for a range we refuse). */
static int bad_date(http_request_t *r, const char *field, const char *type, const char *msg)
{
    const char *v = field != NULL ? http_request_query(r, field) : NULL;
    api_reply_422(r, "query", field, type, msg, v != NULL ? json_string(v) : NULL);
    return -1;
}

/* The range, both ends included: ending_date defaults to today,
 * starting_date to the start of the longest range allowed. */
static int parse_range(http_request_t *r, char from[11], char to[11])
{
    const char *s = http_request_query(r, "starting_date");
    const char *e = http_request_query(r, "ending_date");
    time_t start, end = timeutil_now() / DAY_S * DAY_S;
    if (e != NULL && parse_day(e, &end) != 0)
        return bad_date(r, "ending_date", NOT_A_DATE, "must be a date, YYYY-MM-DD");
    start = end - (time_t)(MAX_RANGE_DAYS - 1) * DAY_S;
    if (s != NULL && parse_day(s, &start) != 0)
        return bad_date(r, "starting_date", NOT_A_DATE, "must be a date, YYYY-MM-DD");
    if (start > end)
        return bad_date(r, "starting_date", "value_error", "must not be after ending_date");
    if ((end - start) / DAY_S + 1 > MAX_RANGE_DAYS)
        return bad_date(r, "starting_date", "value_error", "the range may cover at most 366 days");
    format_day(start, from);
    format_day(end, to);
    return 0;
}

static void iso_of_ms(json_int_t ms, char out[TIMEUTIL_ISO_LEN])
{
    timeutil_iso8601((uint64_t)(ms > 0 ? ms : 0) * 1000, out);
}

/* Agno's nine counters, by its names; the rollups keep input and output
 * tokens only (our providers report no audio, cache or reasoning split). */
static json_t *zero_tokens(void)
{
    return json_pack("{s:I, s:I, s:I, s:i, s:i, s:i, s:i, s:i, s:i}", "input_tokens", (json_int_t)0,
                     "output_tokens", (json_int_t)0, "total_tokens", (json_int_t)0,
                     "audio_total_tokens", 0, "audio_input_tokens", 0, "audio_output_tokens", 0,
                     "cache_read_tokens", 0, "cache_write_tokens", 0, "reasoning_tokens", 0);
}

/* A day's entry. We have no teams or workflows: their counts are 0. */
static json_t *new_day(const char *day)
{
    char id[32], date[32];
    snprintf(id, sizeof id, "%s_daily", day);
    snprintf(date, sizeof date, "%sT00:00:00Z", day);
    return json_pack("{s:s, s:I, s:i, s:i, s:i, s:i, s:i, s:I, s:o, s:o, s:s, s:I, s:I}", "id", id,
                     "agent_runs_count", (json_int_t)0, "agent_sessions_count", 0,
                     "team_runs_count", 0, "team_sessions_count", 0, "workflow_runs_count", 0,
                     "workflow_sessions_count", 0, "users_count", (json_int_t)0, "token_metrics",
                     zero_tokens(), "model_metrics", json_array(), "date", date, "first_ms",
                     (json_int_t)0, "last_ms", (json_int_t)0);
}

static void add_int(json_t *o, const char *key, json_int_t n)
{
    json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) + n));
}

static void add_model_row(json_t *d, json_t *row)
{
    json_int_t runs = json_integer_value(json_object_get(row, "runs"));
    json_int_t in = json_integer_value(json_object_get(row, "input_tokens"));
    json_int_t out = json_integer_value(json_object_get(row, "output_tokens"));
    json_int_t at = json_integer_value(json_object_get(row, "updated_at"));
    add_int(d, "agent_runs_count", runs);
    json_t *tok = json_object_get(d, "token_metrics");
    add_int(tok, "input_tokens", in);
    add_int(tok, "output_tokens", out);
    add_int(tok, "total_tokens", in + out);
    json_int_t first = json_integer_value(json_object_get(d, "first_ms"));
    if (first == 0 || at < first)
        json_object_set_new(d, "first_ms", json_integer(at));
    if (at > json_integer_value(json_object_get(d, "last_ms")))
        json_object_set_new(d, "last_ms", json_integer(at));
    const char *model = json_string_value(json_object_get(row, "model"));
    /* Spelled as Agno does ("OpenAI"): the rollups keep the YAML's name. */
    const char *provider = view_provider(json_string_value(json_object_get(row, "model_provider")));
    json_array_append_new(json_object_get(d, "model_metrics"),
                          json_pack("{s:s, s:s, s:I}", "model_id", model ? model : "",
                                    "model_provider", provider ? provider : "", "count", runs));
}

/* first_ms/last_ms become created_at/updated_at. */
static void finish_day(json_t *d, json_int_t *latest)
{
    char created[TIMEUTIL_ISO_LEN], updated[TIMEUTIL_ISO_LEN];
    json_int_t last = json_integer_value(json_object_get(d, "last_ms"));
    iso_of_ms(json_integer_value(json_object_get(d, "first_ms")), created);
    iso_of_ms(last, updated);
    json_object_del(d, "first_ms");
    json_object_del(d, "last_ms");
    json_object_set_new(d, "created_at", json_string(created));
    json_object_set_new(d, "updated_at", json_string(updated));
    if (last > *latest)
        *latest = last;
}

/* Rows by day (both ordered by day) into Agno's days, in date order. */
static json_t *build_days(json_t *model_rows, json_t *user_rows, json_int_t *latest)
{
    json_t *by_day = json_object(), *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(model_rows, i, row)
    {
        const char *day = json_string_value(json_object_get(row, "day"));
        if (day == NULL)
            continue;
        json_t *d = json_object_get(by_day, day);
        if (d == NULL) {
            d = new_day(day);
            json_object_set_new(by_day, day, d);
            json_array_append(list, d);
        }
        add_model_row(d, row);
    }
    json_array_foreach(user_rows, i, row)
    {
        json_t *d = json_object_get(by_day, json_string_value(json_object_get(row, "day")));
        if (d == NULL)
            continue;
        json_object_set(d, "users_count", json_object_get(row, "users"));
        json_t *n = json_object_get(row, "sessions");
        if (json_is_integer(n))
            json_object_set(d, "agent_sessions_count", n);
    }
    json_array_foreach(list, i, row) finish_day(row, latest);
    json_decref(by_day);
    return list;
}

/* The caller's workspace, the one an operator names with ?workspace_id=,
 * or for an operator's GET without it every workspace. */
static store_rc_t days_work(store_conn_t *c, api_job_t *job)
{
    const char *from = json_string_value(json_object_get(job->in, "from"));
    const char *to = json_string_value(json_object_get(job->in, "to"));
    if (job->all_workspaces)
        return store_metrics_days_all_workspaces(c, from, to, &job->out, &job->out2);
    return store_metrics_days(c, job->ws, from, to, &job->out, &job->out2);
}

/* On the pool: the days, then the reply's bytes; GET wraps them with the
 * latest update, refresh answers the list. */
static store_rc_t render_days(store_conn_t *c, api_job_t *job, int wrapped)
{
    store_rc_t rc = days_work(c, job);
    if (rc != STORE_OK)
        return rc;
    json_int_t latest = 0;
    json_t *days = build_days(job->out, job->out2, &latest);
    if (!wrapped)
        return api_job_render(job, 200, days);
    char updated[TIMEUTIL_ISO_LEN];
    iso_of_ms(latest, updated);
    return api_job_render(job, 200,
                          json_pack("{s:o, s:o}", "metrics", days, "updated_at",
                                    latest > 0 ? json_string(updated) : json_null()));
}

static store_rc_t get_work(store_conn_t *c, void *data)
{
    return render_days(c, data, 1);
}

static store_rc_t refresh_work(store_conn_t *c, void *data)
{
    return render_days(c, data, 0);
}

static void submit_days(http_request_t *r, store_work_fn work)
{
    char from[11], to[11];
    if (parse_range(r, from, to) != 0)
        return;
    api_job_t *job = api_job_new(r, work, NULL);
    if (job != NULL) {
        json_object_set_new(job->in, "from", json_string(from));
        json_object_set_new(job->in, "to", json_string(to));
    }
    api_job_submit(r, job);
}

void metrics_get(http_request_t *r)
{
    submit_days(r, get_work);
}

/* The rollups are current as each run finishes: a refresh recomputes
 * nothing, and background=true has nothing to wait for either. */
void metrics_refresh(http_request_t *r)
{
    const char *bg = http_request_query(r, "background");
    if (bg != NULL && strcmp(bg, "true") == 0) {
        http_reply_json(r, 202,
                        json_pack("{s:s, s:s}", "status", "completed", "message",
                                  "Metrics are kept current as runs finish"));
        return;
    }
    submit_days(r, refresh_work);
}
