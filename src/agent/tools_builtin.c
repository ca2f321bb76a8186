/* Built-in tools. Each is a pure function of its arguments and the clock:
 * no files, no network, no environment, no process-wide state (time zones
 * are fixed offsets because switching TZ is not thread-safe). */
#include "agent/tools_builtin.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/tools_builtin_internal.h"

typedef char *(*builtin_fn)(json_t *args, int *is_error);

typedef struct builtin {
    const char *name;
    const char *description;
    const char *parameters; /* JSON schema, as text to keep the table readable */
    builtin_fn fn;
} builtin_t;

/* ---- results ---- */

char *tb_error_result(int *is_error, const char *fmt, ...)
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
char *tb_json_result(json_t *obj, int *is_error)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(obj);
    if (!text)
        return tb_error_result(is_error, "out of memory");
    *is_error = 0;
    return text;
}

/* ---- arguments ---- */

int tb_blank(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    return *s == '\0';
}

/* Models often send "" for a tool without arguments: that means {}. */
static json_t *parse_args(const char *text, char *err, size_t errlen)
{
    if (!text || tb_blank(text))
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
int tb_check_keys(json_t *args, const char *const *allowed, char *err, size_t errlen)
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
int tb_get_string(json_t *args, const char *key, int required, const char **out, char *err,
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

/* ---- the table ---- */

static const builtin_t builtins[] = {
    {"current_time",
     "The current date, time and weekday. Use it whenever the answer depends on today's date "
     "or the time of day.",
     "{\"type\":\"object\",\"properties\":{\"timezone\":{\"type\":\"string\",\"description\":"
     "\"UTC (the default) or an offset from UTC such as +02:00 or -05:30\"}},"
     "\"additionalProperties\":false}",
     tb_current_time},
    {"calculator",
     "Evaluates an arithmetic expression exactly as written: numbers with decimals, + - * / "
     "% (remainder) and parentheses. Use it for any arithmetic instead of computing in your "
     "head.",
     "{\"type\":\"object\",\"properties\":{\"expression\":{\"type\":\"string\",\"description\":"
     "\"for example (1250.50 - 200) * 0.2\"}},\"required\":[\"expression\"],"
     "\"additionalProperties\":false}",
     tb_calculator},
    {"date_diff",
     "The number of days from one date to another (negative when end is before start), and "
     "how many of them are business days (Monday to Friday; holidays are not counted out).",
     "{\"type\":\"object\",\"properties\":{\"start\":{\"type\":\"string\",\"description\":"
     "\"YYYY-MM-DD\"},\"end\":{\"type\":\"string\",\"description\":\"YYYY-MM-DD\"}},"
     "\"required\":[\"start\",\"end\"],\"additionalProperties\":false}",
     tb_date_diff},
    {"date_add",
     "The date a number of days after (or, when negative, before) a given date, with its "
     "weekday. Use it for due dates and deadlines.",
     "{\"type\":\"object\",\"properties\":{\"date\":{\"type\":\"string\",\"description\":"
     "\"YYYY-MM-DD\"},\"days\":{\"type\":\"integer\",\"description\":\"days to add; negative to "
     "go back\"}},\"required\":[\"date\",\"days\"],\"additionalProperties\":false}",
     tb_date_add},
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
        return tb_error_result(is_error, "unknown tool '%.64s'", name ? name : "");
    char err[ERR_MAX];
    json_t *args = parse_args(arguments_json, err, sizeof(err));
    if (!args)
        return tb_error_result(is_error, "%s", err);
    char *result = b->fn(args, is_error);
    json_decref(args);
    return result;
}
