/* Built-in tools: small, pure functions an agent may call without any
 * service behind it. They touch nothing but the clock, so they are safe for
 * every tenant and callable from any thread at once. Arguments arrive as the
 * model wrote them (JSON text); bad arguments give an error result the model
 * can read and correct, never a failed run. */
#ifndef AGENTOS_AGENT_TOOLS_BUILTIN_H
#define AGENTOS_AGENT_TOOLS_BUILTIN_H

#include <jansson.h>
#include <stddef.h>

/* 1 when name is a built-in tool, else 0. */
int tools_builtin_known(const char *name);

/* The name of the i-th built-in tool, or NULL past the last (to list them). */
const char *tools_builtin_name(size_t i);

/* {"name", "description", "parameters": <JSON schema>} as a new reference,
 * or NULL for an unknown name. */
json_t *tools_builtin_schema(const char *name);

/* Runs the tool. Returns the result text (malloc'd, never NULL unless out
 * of memory): JSON on success with *is_error = 0, or a readable message with
 * *is_error = 1 (unknown tool, bad JSON, missing or wrong arguments, a
 * calculation that fails). The workspace and user are accepted so every
 * tool has one signature; the current tools do not need them. */
char *tools_builtin_call(const char *name, const char *arguments_json, const char *workspace_id,
                         const char *user_id, int *is_error);

#endif
