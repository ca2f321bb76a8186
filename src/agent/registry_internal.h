/* Shared internals of the agent registry: the parse context, limits and the
 * YAML helpers the registry_*.c pieces call across files. */
#ifndef AGENTOS_REGISTRY_INTERNAL_H
#define AGENTOS_REGISTRY_INTERNAL_H

#include "agent/registry.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#include "agent/tools_builtin.h"

#define FILE_MAX_BYTES (1 << 20)
#define JSON_MAX_DEPTH 32
/* Aliases share nodes, so a small file can name a huge (or cyclic) tree:
 * converting a mapping to JSON visits at most this many nodes. */
#define NODE_BUDGET 100000
#define MAX_TOOLS 128 /* OpenAI's limit for one request */
#define NAME_MAX_LEN 64
#define HEADER_LINE_MAX 480 /* the run's header buffer is 512 bytes */

typedef struct ctx {
    const char *file;
    yaml_document_t *doc;
    char *err;
    size_t errlen;
    size_t budget;
} ctx_t;

typedef int (*pair_fn)(ctx_t *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *ud);

int registry_fail(ctx_t *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int registry_fail_line(ctx_t *c, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
yaml_node_t *registry_node_at(ctx_t *c, int index);
const char *registry_text(const yaml_node_t *n);
int registry_is_null(const yaml_node_t *n);
int registry_check_scalar(ctx_t *c, const yaml_node_t *n, const char *what, const char *type);
int registry_get_str(ctx_t *c, const yaml_node_t *n, const char *what, int expand, char **out);
int registry_get_int(ctx_t *c, const yaml_node_t *n, const char *what, long lo, long hi, long *out);
int registry_get_bool(ctx_t *c, const yaml_node_t *n, const char *what, int *out);
int registry_get_num(ctx_t *c, const yaml_node_t *n, const char *what, double lo, double hi,
                     double *out);
int registry_each_pair(ctx_t *c, const yaml_node_t *map, const char *what, pair_fn fn, void *ud);
int registry_get_object(ctx_t *c, yaml_node_t *n, const char *what, json_t **out);
void registry_agent_free(agent_def_t *a);
int registry_name_ok(const char *s, int upper_ok);
int registry_f_tools(ctx_t *c, yaml_node_t *v, agent_def_t *a);
int registry_f_model(ctx_t *c, yaml_node_t *v, agent_def_t *a);
/* For a key of Agno's Agent that we do not implement: the rest of the
 * error message (a hint, or ""); NULL for any other key. */
const char *registry_agno_unsupported(const char *key);

#endif
