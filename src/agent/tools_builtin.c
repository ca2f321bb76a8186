/* Built-in tools. Each is a pure function of its arguments and the clock:
 * no files, no network, no environment, no process-wide state (time zones
 * are fixed offsets because switching TZ is not thread-safe). */
#include "agent/tools_builtin.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Arguments are model output: bound what we are willing to parse. */
#define ARGS_MAX_BYTES 65536
#define CALC_MAX_LEN 256
#define CALC_MAX_DEPTH 32
#define CALC_MAX_NUMBER 64
#define DATE_ADD_MAX_DAYS 3660000L /* about 10,000 years: any valid date to any other */
#define ERR_MAX 256

typedef char *(*builtin_fn)(json_t *args, int *is_error);

typedef struct builtin {
    const char *name;
    const char *description;
    const char *parameters; /* JSON schema, as text to keep the table readable */
    builtin_fn fn;
} builtin_t;

/* ---- results ---- */

static char *error_result(int *is_error, const char *fmt, ...)
{
    char buf[ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    *is_error = 1;
    return strdup(buf);
}

/* Takes the reference to obj. Fifteen digits so 0.1 + 0.2 reads 0.3. */
static char *json_result(json_t *obj, int *is_error)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(obj);
    if (!text)
        return error_result(is_error, "out of memory");
    *is_error = 0;
    return text;
}

/* ---- arguments ---- */

static int blank(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    return *s == '\0';
}

/* Models often send "" for a tool without arguments: that means {}. */
static json_t *parse_args(const char *text, char *err, size_t errlen)
{
    if (!text || blank(text))
        return json_object();
    if (strlen(text) > ARGS_MAX_BYTES) {
        snprintf(err, errlen, "arguments are too long (at most %d bytes)", ARGS_MAX_BYTES);
        return NULL;
    }
    json_error_t jerr;
    json_t *args = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!args) {
        snprintf(err, errlen, "arguments are not valid JSON: %s", jerr.text);
        return NULL;
    }
    if (!json_is_object(args)) {
        json_decref(args);
        snprintf(err, errlen, "arguments must be a JSON object");
        return NULL;
    }
    return args;
}

/* Unknown keys are reported so the model learns the right names. */
static int check_keys(json_t *args, const char *const *allowed, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(args, key, v)
    {
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            ok |= strcmp(key, allowed[i]) == 0;
        if (!ok) {
            snprintf(err, errlen, "unknown argument '%.64s'", key);
            return -1;
        }
    }
    return 0;
}

/* *out is NULL when the optional key is absent. */
static int get_string(json_t *args, const char *key, int required, const char **out, char *err,
                      size_t errlen)
{
    json_t *v = json_object_get(args, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (!required)
            return 0;
        snprintf(err, errlen, "missing argument '%s'", key);
        return -1;
    }
    if (!json_is_string(v)) {
        snprintf(err, errlen, "argument '%s' must be a string", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

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
    if (get_string(args, key, 1, &s, err, errlen))
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

static char *tool_current_time(json_t *args, int *is_error)
{
    static const char *const keys[] = {"timezone", NULL};
    char err[ERR_MAX];
    const char *tz;
    long offset = 0;
    if (check_keys(args, keys, err, sizeof(err)) ||
        get_string(args, "timezone", 0, &tz, err, sizeof(err)))
        return error_result(is_error, "%s", err);
    if (tz && parse_zone(tz, &offset))
        return error_result(is_error,
                            "unsupported timezone '%.64s': use UTC or an offset from UTC such "
                            "as +02:00 or -05:30 (named zones like Europe/Paris are not "
                            "supported; use the zone's current offset)",
                            tz);
    return json_result(time_object(time(NULL), offset), is_error);
}

/* ---- calculator: a recursive-descent parser over doubles ----
 *   expr  := term (('+' | '-') term)*
 *   term  := unary (('*' | '/' | '%') unary)*
 *   unary := ('+' | '-') unary | '(' expr ')' | number            */

typedef struct calc {
    const char *s;
    size_t pos;
    int depth;
    char err[ERR_MAX];
} calc_t;

static int calc_fail(calc_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    return -1;
}

static char calc_peek(calc_t *c)
{
    while (c->s[c->pos] == ' ' || c->s[c->pos] == '\t')
        c->pos++;
    return c->s[c->pos];
}

static int calc_unexpected(calc_t *c)
{
    char ch = calc_peek(c);
    if (!ch)
        return calc_fail(c, "unexpected end of expression");
    return calc_fail(c, "unexpected '%c' at position %zu", isprint((unsigned char)ch) ? ch : '?',
                     c->pos + 1);
}

static int calc_number(calc_t *c, double *out)
{
    size_t start = c->pos, n = 0;
    for (int seen_dot = 0;; c->pos++) {
        char ch = c->s[c->pos];
        if (isdigit((unsigned char)ch))
            n++;
        else if (ch == '.' && !seen_dot)
            seen_dot = 1;
        else
            break;
    }
    if (n == 0) {
        c->pos = start;
        return calc_unexpected(c);
    }
    char buf[CALC_MAX_NUMBER];
    if (c->pos - start >= sizeof(buf))
        return calc_fail(c, "number too long at position %zu", start + 1);
    /* Only digits and one '.' reach strtod: no hex, exponent, inf or nan. */
    memcpy(buf, c->s + start, c->pos - start);
    buf[c->pos - start] = '\0';
    *out = strtod(buf, NULL);
    return isfinite(*out) ? 0 : calc_fail(c, "number too large at position %zu", start + 1);
}

static int calc_expr(calc_t *c, double *out);

static int calc_unary(calc_t *c, double *out)
{
    if (++c->depth > CALC_MAX_DEPTH)
        return calc_fail(c, "expression nested too deeply (at most %d levels)", CALC_MAX_DEPTH);
    int rc;
    char ch = calc_peek(c);
    if (ch == '+' || ch == '-') {
        c->pos++;
        rc = calc_unary(c, out);
        if (ch == '-')
            *out = -*out;
    } else if (ch == '(') {
        c->pos++;
        rc = calc_expr(c, out);
        if (rc == 0 && calc_peek(c) != ')')
            rc = calc_peek(c) ? calc_unexpected(c) : calc_fail(c, "missing ')'");
        c->pos += rc == 0;
    } else {
        rc = calc_number(c, out);
    }
    c->depth--;
    return rc;
}

static int calc_apply(calc_t *c, char op, double *acc, double rhs)
{
    if ((op == '/' || op == '%') && rhs == 0)
        return calc_fail(c, op == '/' ? "division by zero" : "modulo by zero");
    switch (op) {
    case '+':
        *acc += rhs;
        break;
    case '-':
        *acc -= rhs;
        break;
    case '*':
        *acc *= rhs;
        break;
    case '/':
        *acc /= rhs;
        break;
    default:
        *acc = fmod(*acc, rhs);
        break;
    }
    return isfinite(*acc) ? 0 : calc_fail(c, "result is too large");
}

static int calc_term(calc_t *c, double *out)
{
    if (calc_unary(c, out))
        return -1;
    for (char op = calc_peek(c); op == '*' || op == '/' || op == '%'; op = calc_peek(c)) {
        double rhs;
        c->pos++;
        if (calc_unary(c, &rhs) || calc_apply(c, op, out, rhs))
            return -1;
    }
    return 0;
}

static int calc_expr(calc_t *c, double *out)
{
    if (calc_term(c, out))
        return -1;
    for (char op = calc_peek(c); op == '+' || op == '-'; op = calc_peek(c)) {
        double rhs;
        c->pos++;
        if (calc_term(c, &rhs) || calc_apply(c, op, out, rhs))
            return -1;
    }
    return 0;
}

static int calc_eval(const char *expr, double *out, char *err, size_t errlen)
{
    calc_t c = {.s = expr};
    int rc = calc_expr(&c, out);
    if (rc == 0 && calc_peek(&c))
        rc = calc_unexpected(&c);
    if (rc)
        snprintf(err, errlen, "%s", c.err);
    return rc;
}

/* Integral results print without a fraction; -0 prints as 0. */
static json_t *calc_number_json(double v)
{
    if (v == 0)
        return json_integer(0);
    if (v == trunc(v) && fabs(v) < 9007199254740992.0) /* 2^53: exact as an integer */
        return json_integer((json_int_t)v);
    return json_real(v);
}

static char *tool_calculator(json_t *args, int *is_error)
{
    static const char *const keys[] = {"expression", NULL};
    char err[ERR_MAX];
    const char *expr;
    if (check_keys(args, keys, err, sizeof(err)) ||
        get_string(args, "expression", 1, &expr, err, sizeof(err)))
        return error_result(is_error, "%s", err);
    if (strlen(expr) > CALC_MAX_LEN)
        return error_result(is_error, "expression is too long (at most %d characters)",
                            CALC_MAX_LEN);
    if (blank(expr))
        return error_result(is_error, "expression is empty");
    double v;
    if (calc_eval(expr, &v, err, sizeof(err)))
        return error_result(is_error, "cannot evaluate: %s", err);
    return json_result(json_pack("{s:s, s:o}", "expression", expr, "result", calc_number_json(v)),
                       is_error);
}

/* ---- date_diff, date_add ---- */

static char *tool_date_diff(json_t *args, int *is_error)
{
    static const char *const keys[] = {"start", "end", NULL};
    char err[ERR_MAX];
    long from, to;
    if (check_keys(args, keys, err, sizeof(err)) ||
        get_date(args, "start", &from, err, sizeof(err)) ||
        get_date(args, "end", &to, err, sizeof(err)))
        return error_result(is_error, "%s", err);
    long business = from <= to ? business_days(from, to) : -business_days(to, from);
    return json_result(json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "start",
                                 json_string_value(json_object_get(args, "start")), "end",
                                 json_string_value(json_object_get(args, "end")), "days",
                                 (json_int_t)(to - from), "business_days", (json_int_t)business,
                                 "start_weekday", weekdays[weekday_of(from)], "end_weekday",
                                 weekdays[weekday_of(to)]),
                       is_error);
}

static char *tool_date_add(json_t *args, int *is_error)
{
    static const char *const keys[] = {"date", "days", NULL};
    char err[ERR_MAX], out[16];
    long from;
    if (check_keys(args, keys, err, sizeof(err)) || get_date(args, "date", &from, err, sizeof(err)))
        return error_result(is_error, "%s", err);
    json_t *days = json_object_get(args, "days");
    if (!days)
        return error_result(is_error, "missing argument 'days'");
    if (!json_is_integer(days) || json_integer_value(days) < -DATE_ADD_MAX_DAYS ||
        json_integer_value(days) > DATE_ADD_MAX_DAYS)
        return error_result(
            is_error, "argument 'days' must be a whole number of days, at most %ld either way",
            DATE_ADD_MAX_DAYS);
    long to = from + (long)json_integer_value(days);
    if (to < days_from_civil(1, 1, 1) || to > days_from_civil(9999, 12, 31))
        return error_result(is_error, "the resulting date is outside the years 1 to 9999");
    format_date(to, out);
    return json_result(json_pack("{s:s, s:s}", "date", out, "weekday", weekdays[weekday_of(to)]),
                       is_error);
}

/* ---- the table ---- */

static const builtin_t builtins[] = {
    {"current_time",
     "The current date, time and weekday. Use it whenever the answer depends on today's date "
     "or the time of day.",
     "{\"type\":\"object\",\"properties\":{\"timezone\":{\"type\":\"string\",\"description\":"
     "\"UTC (the default) or an offset from UTC such as +02:00 or -05:30\"}},"
     "\"additionalProperties\":false}",
     tool_current_time},
    {"calculator",
     "Evaluates an arithmetic expression exactly as written: numbers with decimals, + - * / "
     "% (remainder) and parentheses. Use it for any arithmetic instead of computing in your "
     "head.",
     "{\"type\":\"object\",\"properties\":{\"expression\":{\"type\":\"string\",\"description\":"
     "\"for example (1250.50 - 200) * 0.2\"}},\"required\":[\"expression\"],"
     "\"additionalProperties\":false}",
     tool_calculator},
    {"date_diff",
     "The number of days from one date to another (negative when end is before start), and "
     "how many of them are business days (Monday to Friday; holidays are not counted out).",
     "{\"type\":\"object\",\"properties\":{\"start\":{\"type\":\"string\",\"description\":"
     "\"YYYY-MM-DD\"},\"end\":{\"type\":\"string\",\"description\":\"YYYY-MM-DD\"}},"
     "\"required\":[\"start\",\"end\"],\"additionalProperties\":false}",
     tool_date_diff},
    {"date_add",
     "The date a number of days after (or, when negative, before) a given date, with its "
     "weekday. Use it for due dates and deadlines.",
     "{\"type\":\"object\",\"properties\":{\"date\":{\"type\":\"string\",\"description\":"
     "\"YYYY-MM-DD\"},\"days\":{\"type\":\"integer\",\"description\":\"days to add; negative to "
     "go back\"}},\"required\":[\"date\",\"days\"],\"additionalProperties\":false}",
     tool_date_add},
};

#define NBUILTINS (sizeof(builtins) / sizeof(builtins[0]))

static const builtin_t *find(const char *name)
{
    for (size_t i = 0; name && i < NBUILTINS; i++)
        if (strcmp(builtins[i].name, name) == 0)
            return &builtins[i];
    return NULL;
}

int tools_builtin_known(const char *name)
{
    return find(name) != NULL;
}

const char *tools_builtin_name(size_t i)
{
    return i < NBUILTINS ? builtins[i].name : NULL;
}

json_t *tools_builtin_schema(const char *name)
{
    const builtin_t *b = find(name);
    if (!b)
        return NULL;
    json_t *params = json_loads(b->parameters, 0, NULL);
    if (!params)
        return NULL;
    return json_pack("{s:s, s:s, s:o}", "name", b->name, "description", b->description,
                     "parameters", params);
}

char *tools_builtin_call(const char *name, const char *arguments_json, const char *workspace_id,
                         const char *user_id, int *is_error)
{
    (void)workspace_id;
    (void)user_id;
    const builtin_t *b = find(name);
    if (!b)
        return error_result(is_error, "unknown tool '%.64s'", name ? name : "");
    char err[ERR_MAX];
    json_t *args = parse_args(arguments_json, err, sizeof(err));
    if (!args)
        return error_result(is_error, "%s", err);
    char *result = b->fn(args, is_error);
    json_decref(args);
    return result;
}
