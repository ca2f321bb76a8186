/* Model providers, as data in and events out: a request body, URL and
 * headers for one streamed call, and a decoder for its streamed reply.
 * Providers know nothing of curl's handles or of the run loop.
 *
 * Messages use one neutral shape, close to OpenAI's:
 *   {"role":"system"|"user"|"assistant"|"tool", "content": "...",
 *    "tool_calls":[{"id","name","arguments": "<JSON text>"}],   (assistant)
 *    "tool_call_id": "..."}                                       (tool)
 * Tools: [{"name","description","parameters": <JSON schema>}]. */
#ifndef AGENTOS_AGENT_MODEL_H
#define AGENTOS_AGENT_MODEL_H

#include <jansson.h>
#include <stddef.h>

#include "agent/model_provider.h"

/* Header lists are curl's, but this interface only passes them on: the
 * files that build or free one include curl. */
struct curl_slist;

typedef struct model_config {
    const model_provider_t *provider; /* NULL: the table's first (OpenAI) */
    const char *id;                   /* "gpt-4o-mini", "claude-3-5-haiku-latest", ... */
    const char *base_url; /* "https://api.openai.com/v1", "https://api.anthropic.com/v1" */
    const char *api_key;  /* may be NULL (a local server) */
    double temperature;   /* used when has_temperature */
    int has_temperature;
    int max_tokens; /* 0: the provider's default (Anthropic needs one: 4096) */
} model_config_t;

/* cfg's provider: the table's first when none is set. */
const model_provider_t *model_config_provider(const model_config_t *cfg);

/* The JSON body of a streamed call (stream usage on, for OpenAI). */
json_t *model_request_body(const model_config_t *cfg, const json_t *messages, const json_t *tools);
/* Keeps the tools declared but tells the model not to call any (the run's
 * tool_call_limit is reached). */
void model_request_forbid_tools(const model_config_t *cfg, json_t *body);
/* base_url (or the provider's default) + the provider's path; malloc'd. */
char *model_request_url(const model_config_t *cfg);
/* Content-Type, Accept, and the auth header of the provider (the key
 * trimmed of surrounding whitespace). NULL when out of memory, or when the
 * key holds a control character (it could smuggle in another header). */
struct curl_slist *model_request_headers(const model_config_t *cfg);
/* 0 when the key (if any) can go in a header; -1 when it holds a control
 * character, the one reason model_request_headers refuses it. */
int model_request_key_check(const model_config_t *cfg);
/* A readable message from an error reply's body (provider JSON or not);
 * malloc'd, never NULL. */
char *model_error_message(const model_config_t *cfg, long http_status, const char *body,
                          size_t len);

typedef struct model_tool_call {
    char *id;
    char *name;
    char *arguments; /* JSON text as the model wrote it ("{}" when empty) */
} model_tool_call_t;

typedef struct model_result {
    char *content; /* the whole text (never NULL) */
    model_tool_call_t *tool_calls;
    size_t ntool_calls;
    long long input_tokens, output_tokens;
    char *stop_reason; /* "stop", "tool_calls", "length", ... (may be NULL) */
} model_result_t;

void model_result_free(model_result_t *r);

/* Streamed deltas as they arrive. */
typedef struct model_events {
    void (*on_text)(void *ud, const char *text, size_t len);
    void *ud;
} model_events_t;

typedef struct model_stream model_stream_t;

/* max_event_bytes bounds any one SSE event (0: 1 MiB); the text and tool
 * calls of one reply are bounded too (4 MiB in all unless set below), and a
 * tool call's name and id (256 bytes each) and arguments (256 KiB). */
model_stream_t *model_stream_new(const model_provider_t *provider, const model_events_t *ev,
                                 size_t max_event_bytes);
/* The bound on one reply's text and tool calls (MODEL_MAX_REPLY_BYTES); 0
 * keeps the default. */
void model_stream_set_max_reply(model_stream_t *s, size_t max_reply);
void model_stream_free(model_stream_t *s);
/* Feeds raw bytes of the HTTP reply body, in chunks of any size. Returns 0,
 * or -1 on a protocol error or an error event (see model_stream_error). */
int model_stream_feed(model_stream_t *s, const char *buf, size_t len);
/* At the end of the body: 0 and *out filled (tool calls assembled from
 * their deltas), or -1 when the stream ended early or said it failed. */
int model_stream_finish(model_stream_t *s, model_result_t *out);
/* The error text after -1, or NULL. */
const char *model_stream_error(const model_stream_t *s);
/* The provider's id of this reply (Agno's model_provider_data.id), once
 * the stream named it; NULL before or without one. */
const char *model_stream_response_id(const model_stream_t *s);
/* The reply's text so far (its text deltas; moved out by finish). */
const char *model_stream_text_so_far(const model_stream_t *s, size_t *len);
/* Bytes of body seen so far: 0 means nothing arrived yet. */
size_t model_stream_bytes(const model_stream_t *s);
/* Bytes of text, tool-call and reasoning deltas so far, and 1 for the
 * first stop reason: what a stall watchdog counts (comments, pings, empty deltas,
 * usage and repeated stop reasons add nothing). */
size_t model_stream_progress(const model_stream_t *s);

#endif
