/* Stored rows as the API shows them (Agno's schemas): ISO-8601 times for
 * resources, only the fields a client may see. */
#ifndef AGENTOS_API_VIEWS_H
#define AGENTOS_API_VIEWS_H

#include <jansson.h>

#include "agent/registry.h"

/* A session row as a list item. */
json_t *view_session(const json_t *row);
/* A session row plus its latest runs as the detail view: chat_history
 * from those runs, runs_count all the session's runs; agent_data from the
 * loaded agent (NULL: null). */
json_t *view_session_detail(const json_t *row, const json_t *runs, long long runs_count,
                            const agent_def_t *agent);
/* A stored run as Agno's RunOutput (created_at in epoch seconds). */
json_t *view_run_output(const json_t *row);
/* Agno's spelling from the provider table ("openai" -> "OpenAI"); others as written. */
const char *view_provider(const char *p);
/* A run row as a session's run. */
json_t *view_run(const json_t *row);
/* An array of run rows. */
json_t *view_runs(const json_t *rows);
/* A run row (store_run_previews's columns) as Agno's
 * SessionRunPreviewSchema: ids, status, created_at, and run_input and
 * content_preview cut to 280 characters; fields that are null are left out
 * (Agno answers with exclude_none). */
json_t *view_run_preview(const json_t *row);
/* An array of those. */
json_t *view_run_previews(const json_t *rows);
/* A stored tool call ({id, name, arguments}) in OpenAI's form
 * {id, type: "function", function: {name, arguments as JSON text}}. */
json_t *view_openai_call(const json_t *tc);
/* A run's stored messages in Agno's Message form: id (run id and index),
 * from_history, OpenAI-form tool_calls, and on tool results tool_args and
 * tool_call_error (from the run's tools log). */
json_t *view_messages(const json_t *msgs, const char *run_id, const json_t *tools);
/* run["messages"] replaced by view_messages of itself. */
void view_run_messages(json_t *run);
/* Epoch milliseconds to an ISO-8601 JSON string (null for null). */
json_t *view_time(const json_t *ms);

#endif
