/* JSON-lines logging. Each line is built whole and written with one write(2)
 * so lines from different loop threads never interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timeutil.h"

static log_level_t min_level = LOG_LEVEL_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_set_level_name(const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            min_level = (log_level_t)i;
            return 0;
        }
    }
    if (strcmp(name, "warning") == 0) {
        min_level = LOG_LEVEL_WARN;
        return 0;
    }
    return -1;
}

void log_set_level(log_level_t level)
{
    min_level = level;
}

int log_enabled(log_level_t level)
{
    return level >= min_level;
}

void log_json(log_level_t level, const char *msg, json_t *fields)
{
    if (!log_enabled(level)) {
        json_decref(fields);
        return;
    }
    char ts[TIMEUTIL_ISO_LEN];
    timeutil_iso8601(timeutil_wall_us(), ts);
    json_t *line = json_object();
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "level", json_string(level_names[level]));
    if (msg != NULL)
        json_object_set_new(line, "msg", json_string(msg));
    if (fields != NULL) {
        json_object_update(line, fields);
        json_decref(fields);
    }
    char *text = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(line);
    if (text == NULL)
        return;
    size_t n = strlen(text);
    text[n] = '\n'; /* json_dumps' terminator becomes the newline */
    ssize_t rc = write(STDERR_FILENO, text, n + 1);
    (void)rc;
    free(text);
}

void log_msg(log_level_t level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_json(level, buf, NULL);
}
