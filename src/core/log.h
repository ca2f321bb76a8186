/* Structured logs: one JSON object per line on stderr. Never pass a token,
 * a secret or a prompt body to these functions at info level. */
#ifndef AGENTOS_CORE_LOG_H
#define AGENTOS_CORE_LOG_H

#include <jansson.h>

typedef enum { LOG_LEVEL_DEBUG = 0, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR } log_level_t;

/* Returns -1 for an unknown level name. */
int log_set_level_name(const char *name);
void log_set_level(log_level_t level);
int log_enabled(log_level_t level);

/* Writes {"ts","level","msg", ...fields}; takes ownership of fields (may be NULL). */
void log_json(log_level_t level, const char *msg, json_t *fields);
/* printf-style message without extra fields. */
void log_msg(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
