/* Agent definitions: YAML files in AGENTS_DIR (agents/platform by default),
 * loaded at start and read-only after. Field names follow Agno's Agent. */
#ifndef AGENTOS_AGENT_REGISTRY_H
#define AGENTOS_AGENT_REGISTRY_H

#include <jansson.h>
#include <stddef.h>

#include "agent/model.h"

typedef enum { TOOL_BUILTIN = 0, TOOL_HTTP } tool_kind_t;

typedef struct tool_header {
    char *name;
    char *value_env; /* the value comes from this environment variable... */
    char *value;     /* ...resolved at load time (never logged); or, with value_env
                        NULL, a plain string from the YAML (${VAR} expanded) */
} tool_header_t;

typedef struct tool_def {
    tool_kind_t kind;
    char *name;
    char *description;
    json_t *parameters; /* JSON schema object (built-ins: copied from their schema) */
    /* HTTP tools */
    char *url;
    char *method; /* "POST" by default; POST, PUT, PATCH (a JSON body), GET or DELETE (a query) */
    tool_header_t *headers;
    size_t nheaders;
    long timeout_ms; /* default 10000 */
} tool_def_t;

typedef struct agent_def {
    char *id;
    char *name;
    char *description;    /* NULL when absent */
    char *instructions;   /* NULL when absent; a list is joined with "\n" */
    char *provider;       /* as written: "openai", "anthropic", "ollama", ... */
    model_config_t model; /* strings point into this def; api_key resolved from api_key_env */
    char *model_id, *base_url, *api_key_env, *api_key; /* api_key_env, api_key may be NULL */
    tool_def_t *tools;
    size_t ntools;
    int add_history_to_context;
    int num_history_runs;        /* default 3 */
    int tool_call_limit;         /* default 10 */
    int max_model_turns;         /* model calls per run at most; default 16 */
    int timeout_seconds;         /* the run's deadline; 0 (default): RUN_TIMEOUT_SECONDS */
    int retries, has_retries;    /* model call retries; not set (default): MODEL_MAX_RETRIES */
    int add_datetime_to_context; /* the time of the run's start in the system message */
    char *expected_output;       /* NULL when absent (Agno's <expected_output>) */
    char *additional_context;    /* NULL when absent (appended to the system message) */
    int key_missing;  /* the provider needs a key (api_key_env) and the environment has none */
    json_t *metadata; /* object or NULL */
    char *file;       /* where it came from */
} agent_def_t;

typedef struct agent_registry {
    agent_def_t *agents;
    size_t nagents;
} agent_registry_t;

/* Loads every *.yaml / *.yml file in dir, in name order. Returns 0, or -1
 * with "file:line: what is wrong" in err. A missing dir is an error; an
 * empty one is not. Duplicate ids are an error. Built-in tool names are
 * checked against tools_builtin_known(). reg is overwritten (not freed
 * first) and is left empty on failure. */
int registry_load(agent_registry_t *reg, const char *dir, char *err, size_t errlen);
/* Loads one file (tests) and appends its agent to reg (zeroed or loaded
 * before); on failure reg is unchanged. */
int registry_load_file(agent_registry_t *reg, const char *path, char *err, size_t errlen);
void registry_free(agent_registry_t *reg);
/* Checks every agent's model key (start-up): each agent whose key is
 * missing is a warning naming it and the variable. require is
 * AGENTS_REQUIRE_KEYS as written (NULL: unset); when true, a missing key is
 * an error instead. Returns 0, or -1 with err (a bad require value, or the
 * first agent without its key). */
int registry_check_keys(const agent_registry_t *reg, const char *require, char *err, size_t errlen);
/* 1 when url's host is this machine (localhost, 127.x.x.x, [::1]): a local
 * model server (Ollama, vLLM) needs no key. */
int registry_url_is_local(const char *url);
/* The system message of a run of a that starts at now (wall clock, epoch
 * microseconds), as Agno's get_system_message builds it from the fields we
 * support: the instructions, then the current time, expected_output and
 * additional_context. malloc'd; NULL when there is none (or out of memory,
 * with *oom set). */
char *registry_system_message(const agent_def_t *a, long long now_us, int *oom);
const agent_def_t *registry_find(const agent_registry_t *reg, const char *id);

/* Implemented by agent/tools_builtin.c: 1 when name is a built-in tool. */
int tools_builtin_known(const char *name);

#endif
