/* Shared between the model_*.c files only: the state of one decoded
 * stream, and what the providers' hooks build on. Not for other modules. */
#ifndef AGENTOS_AGENT_MODEL_INTERNAL_H
#define AGENTOS_AGENT_MODEL_INTERNAL_H

#include <stddef.h>

#include "agent/model.h"
#include "core/buf.h"
#include "net/sse_parser.h"

/* What one reply may assemble (content, tool ids, names, arguments) unless
 * model_stream_set_max_reply says otherwise (MODEL_MAX_REPLY_BYTES):
 * max_event_bytes bounds one event, this bounds their sum. */
#define MODEL_DEFAULT_MAX_REPLY ((size_t)4 << 20)
/* One tool call's id and name, and its arguments: bounded on their own so
 * that no tool call can make an event larger than a client's stream takes. */
#define MODEL_MAX_TOOL_ID 256
#define MODEL_MAX_TOOL_NAME 256
#define MODEL_MAX_TOOL_ARGS ((size_t)256 << 10)
/* Parallel tool calls one reply may make. */
#define MODEL_MAX_TOOL_CALLS 128
/* Longest error text handed to a run (and so to a client). */
#define MODEL_MAX_ERROR_CHARS 300

/* Anthropic's system text, joined from the system messages: past any
 * provider's context window, so only a runaway history meets it. */
#define MODEL_MAX_SYSTEM_TEXT ((size_t)64 << 20)

/* Printable, valid UTF-8, at most cap bytes (cut on a character), control
 * characters as spaces; with first_line, only the first non-blank line. */
char *model_text_clean(const char *s, size_t len, size_t cap, int first_line);
/* The string at obj[key], or def. */
const char *model_json_str(const json_t *obj, const char *key, const char *def);
/* id, name and arguments of a neutral tool call; -1 without id or name.
 * args is borrowed but not const, as jansson's getters give it, so that a
 * request body can share it (json_incref) instead of copying it. */
int model_tool_call_fields(const json_t *tc, const char **id, const char **name, json_t **args);
/* "message (type)" from a provider's error JSON (either provider, or the
 * shapes OpenAI-compatible servers use); malloc'd, NULL when none. */
char *model_error_from_json(const json_t *root);
/* A JSON value's integer (also from a real); 0 otherwise. */
long long model_json_int(const json_t *v);

/* A tool call being assembled from its deltas, keyed by the provider's
 * index (OpenAI's tool_calls[].index, Anthropic's content block index). */
typedef struct model_slot {
    long index;
    buf_t id, name, args; /* bounded by MODEL_MAX_TOOL_* */
    int args_from_start;  /* args came whole with the block start: deltas replace them */
} model_slot_t;

struct model_stream {
    const model_provider_t *provider;
    model_events_t ev;
    sse_parser_t *sse;
    size_t bytes;
    size_t total;     /* assembled bytes, against max_reply */
    size_t max_reply; /* MODEL_MAX_REPLY_BYTES */
    size_t progress;  /* text and tool-call bytes ever assembled, +1 at the stop reason */
    buf_t content;    /* bounded by max_reply */
    buf_t scan;       /* the fast path's unescaped delta (model_scan.h), one event at most */
    model_slot_t *slots;
    size_t nslots;
    long long input_tokens, output_tokens;
    char *stop_reason;
    int done; /* OpenAI's [DONE], Anthropic's message_stop */
    int failed;
    int finished; /* model_stream_finish ran: the result was handed over */
    char *error;
    char *response_id; /* the provider's id of the reply ("chatcmpl-...", "msg_..."), or NULL */
};

/* Keeps the reply's id the first time the provider names it (bounded like
 * a tool call's id; a longer one is not kept). */
void model_stream_set_response_id(model_stream_t *s, const char *id);

struct model_scan;
/* The fast path's plain text delta (model_scan.h): the reply's id, then
 * the text, as the jansson path would have applied them. */
int model_stream_scanned(model_stream_t *s, const struct model_scan *sc);

/* Records the first error; always returns -1 so callers can return it. */
int model_stream_fail(model_stream_t *s, const char *msg);
/* Same, from provider text that must be cleaned first. */
int model_stream_fail_text(model_stream_t *s, const char *prefix, const char *text, size_t len);
/* Appends to the reply's text and reports it through on_text. */
int model_stream_text(model_stream_t *s, const char *text, size_t len);
/* The slot for index, made when new; NULL (and the stream failed) past the
 * limits. */
model_slot_t *model_stream_slot(model_stream_t *s, long index, int create);
/* Appends to a slot's field, counted against the reply bound. */
int model_stream_put(model_stream_t *s, buf_t *b, const char *text, size_t len);
/* The same for a tool call's id, name or arguments, each with its own
 * bound (MODEL_MAX_TOOL_*): past it the stream fails. */
int model_stream_put_id(model_stream_t *s, model_slot_t *slot, const char *text, size_t len);
int model_stream_put_name(model_stream_t *s, model_slot_t *slot, const char *text, size_t len);
int model_stream_put_args(model_stream_t *s, model_slot_t *slot, const char *text, size_t len);
int model_stream_set_stop(model_stream_t *s, const char *reason);

/* For the providers' header builders: the fixed headers, then
 * auth_prefix + api_key when there is a key (the line is wiped after curl
 * copies it). NULL when out of memory. */
struct curl_slist *model_headers(const char *const *fixed, size_t n, const char *auth_prefix,
                                 const char *api_key);

#endif
