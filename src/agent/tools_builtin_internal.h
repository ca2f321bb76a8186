/* Private to the built-in tools' files (tools_builtin.c: the table, the
 * API and the shared argument and result helpers; tools_builtin_calc.c:
 * the calculator; tools_builtin_dates.c: the date and time tools). The tb_
 * prefix marks these names as not for other modules. */
#ifndef AGENTOS_AGENT_TOOLS_BUILTIN_INTERNAL_H
#define AGENTOS_AGENT_TOOLS_BUILTIN_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

/* Arguments are model output: bound what we are willing to parse. */
#define ARGS_MAX_BYTES 65536
#define CALC_MAX_LEN 256
#define CALC_MAX_DEPTH 32
#define CALC_MAX_NUMBER 64
#define DATE_ADD_MAX_DAYS 3660000L /* about 10,000 years: any valid date to any other */
#define ERR_MAX 256

/* 1 when s is only white space. */
int tb_blank(const char *s);
/* A readable error text for the model; sets *is_error. */
char *tb_error_result(int *is_error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes the reference to obj. */
char *tb_json_result(json_t *obj, int *is_error);
/* Unknown keys are reported so the model learns the right names. */
int tb_check_keys(json_t *args, const char *const *allowed, char *err, size_t errlen);
/* *out is NULL when the optional key is absent. */
int tb_get_string(json_t *args, const char *key, int required, const char **out, char *err,
                  size_t errlen);

/* The tools: args is a JSON object (not taken). */
char *tb_current_time(json_t *args, int *is_error);
char *tb_calculator(json_t *args, int *is_error);
char *tb_date_diff(json_t *args, int *is_error);
char *tb_date_add(json_t *args, int *is_error);

#endif
