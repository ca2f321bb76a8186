/* The built-in date and time tools: current_time, date_diff, date_add.
 * Time zones are fixed offsets because switching TZ is not thread-safe. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "agent/tools_builtin_internal.h"

/* ---- dates (proleptic Gregorian, days since 1970-01-01) ---- */

static const char *const weekdays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};

/* Howard Hinnant's days_from_civil: exact for every year we accept. */
static long days_from_civil(long y, long m, long d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, long *y, long *m, long *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static int weekday_of(long days) /* 0 = Sunday */
{
    return (int)(days >= -4 ? (days + 4) % 7 : (days + 5) % 7 + 6);
}

static int days_in_month(long y, long m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : dim[m - 1];
}

static int digits(const char *s, int n, long *out)
{
    *out = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        *out = *out * 10 + (s[i] - '0');
    }
    return 0;
}

/* Exactly YYYY-MM-DD, year 0001..9999, a day that exists. */
static int parse_date(const char *s, long *days)
{
    long y, m, d;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    if (digits(s, 4, &y) || digits(s + 5, 2, &m) || digits(s + 8, 2, &d))
        return -1;
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return -1;
    *days = days_from_civil(y, m, d);
    return 0;
}

static void format_date(long days, char out[16])
{
    long y, m, d;
    civil_from_days(days, &y, &m, &d);
    /* Month and day are 1-12 and 1-31; the casts tell the compiler so. */
    snprintf(out, 16, "%04d-%02d-%02d", (int)(y % 10000), (int)(m % 100), (int)(d % 100));
}

static int get_date(json_t *args, const char *key, long *days, char *err, size_t errlen)
{
    const char *s;
    if (tb_get_string(args, key, 1, &s, err, errlen))
        return -1;
    if (parse_date(s, days)) {
        snprintf(err, errlen, "argument '%s' must be a date as YYYY-MM-DD, got '%.32s'", key, s);
        return -1;
    }
    return 0;
}

/* Monday to Friday in [from, to) (holidays are not known here). */
static long business_days(long from, long to)
{
    long n = to - from, count = n / 7 * 5;
    for (long day = from + n / 7 * 7; day < to; day++) {
        int wd = weekday_of(day);
        count += wd != 0 && wd != 6;
    }
    return count;
}

/* ---- current_time ---- */

/* "2", "02", "0530" or "05:30" after the sign. */
static int parse_hhmm(const char *s, long *seconds)
{
    long h = 0, m = 0;
    size_t n = strlen(s);
    int ok = ((n == 1 || n == 2) && !digits(s, (int)n, &h)) ||
             (n == 4 && !digits(s, 2, &h) && !digits(s + 2, 2, &m)) ||
             (n == 5 && s[2] == ':' && !digits(s, 2, &h) && !digits(s + 3, 2, &m));
    if (!ok || h > 14 || m > 59 || (h == 14 && m > 0))
        return -1;
    *seconds = h * 3600 + m * 60;
    return 0;
}

/* "UTC", "Z", "GMT", "Etc/UTC", or an offset: "+02:00", "-0530", "UTC+2", "GMT-03:00".
 * Offsets range from -12:00 to +14:00, as real zones do. */
static int parse_zone(const char *tz, long *offset)
{
    static const char *const utc[] = {"UTC", "Z", "GMT", "Etc/UTC", "Etc/GMT", "UT", NULL};
    for (size_t i = 0; utc[i]; i++)
        if (strcasecmp(tz, utc[i]) == 0) {
            *offset = 0;
            return 0;
        }
    if (strncasecmp(tz, "UTC", 3) == 0 || strncasecmp(tz, "GMT", 3) == 0)
        tz += 3;
    if (*tz != '+' && *tz != '-')
        return -1;
    long secs;
    if (parse_hhmm(tz + 1, &secs))
        return -1;
    *offset = *tz == '-' ? -secs : secs;
    return *offset < -12 * 3600 ? -1 : 0;
}

static json_t *time_object(time_t now, long offset)
{
    time_t local = now + offset;
    struct tm tm;
    if (!gmtime_r(&local, &tm))
        return NULL;
    char date[16], clock[16], zone[24], iso[64];
    strftime(date, sizeof(date), "%Y-%m-%d", &tm);
    strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
    long a = labs(offset);
    snprintf(zone, sizeof(zone), "%c%02ld:%02ld", offset < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
    snprintf(iso, sizeof(iso), "%sT%s%s", date, clock, offset ? zone : "Z");
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "timezone", offset ? zone : "UTC",
                     "datetime", iso, "date", date, "time", clock, "weekday", weekdays[tm.tm_wday],
                     "unix", (json_int_t)now);
}

char *tb_current_time(json_t *args, int *is_error)
{
    static const char *const keys[] = {"timezone", NULL};
    char err[ERR_MAX];
    const char *tz;
    long offset = 0;
    if (tb_check_keys(args, keys, err, sizeof(err)) ||
        tb_get_string(args, "timezone", 0, &tz, err, sizeof(err)))
        return tb_error_result(is_error, "%s", err);
    if (tz && parse_zone(tz, &offset))
        return tb_error_result(is_error,
                               "unsupported timezone '%.64s': use UTC or an offset from UTC such "
                               "as +02:00 or -05:30 (named zones like Europe/Paris are not "
                               "supported; use the zone's current offset)",
                               tz);
    return tb_json_result(time_object(time(NULL), offset), is_error);
}

/* ---- date_diff, date_add ---- */

char *tb_date_diff(json_t *args, int *is_error)
{
    static const char *const keys[] = {"start", "end", NULL};
    char err[ERR_MAX];
    long from, to;
    if (tb_check_keys(args, keys, err, sizeof(err)) ||
        get_date(args, "start", &from, err, sizeof(err)) ||
        get_date(args, "end", &to, err, sizeof(err)))
        return tb_error_result(is_error, "%s", err);
    long business = from <= to ? business_days(from, to) : -business_days(to, from);
    return tb_json_result(json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "start",
                                    json_string_value(json_object_get(args, "start")), "end",
                                    json_string_value(json_object_get(args, "end")), "days",
                                    (json_int_t)(to - from), "business_days", (json_int_t)business,
                                    "start_weekday", weekdays[weekday_of(from)], "end_weekday",
                                    weekdays[weekday_of(to)]),
                          is_error);
}

char *tb_date_add(json_t *args, int *is_error)
{
    static const char *const keys[] = {"date", "days", NULL};
    char err[ERR_MAX], out[16];
    long from;
    if (tb_check_keys(args, keys, err, sizeof(err)) ||
        get_date(args, "date", &from, err, sizeof(err)))
        return tb_error_result(is_error, "%s", err);
    json_t *days = json_object_get(args, "days");
    if (!days)
        return tb_error_result(is_error, "missing argument 'days'");
    if (!json_is_integer(days) || json_integer_value(days) < -DATE_ADD_MAX_DAYS ||
        json_integer_value(days) > DATE_ADD_MAX_DAYS)
        return tb_error_result(
            is_error, "argument 'days' must be a whole number of days, at most %ld either way",
            DATE_ADD_MAX_DAYS);
    long to = from + (long)json_integer_value(days);
    if (to < days_from_civil(1, 1, 1) || to > days_from_civil(9999, 12, 31))
        return tb_error_result(is_error, "the resulting date is outside the years 1 to 9999");
    format_date(to, out);
    return tb_json_result(json_pack("{s:s, s:s}", "date", out, "weekday", weekdays[weekday_of(to)]),
                          is_error);
}
