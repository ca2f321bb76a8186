/* The fast path of the providers' decoders: a strict scanner for the one
 * shape most stream events have, a plain text delta (OpenAI's
 * chat.completion.chunk with choices[0].delta.content, Anthropic's
 * content_block_delta with a text_delta), that reads it without building
 * a jansson tree. For anything else it says "not mine" and the caller
 * parses the event with jansson as before: tool calls, usage, finish
 * reasons, errors, nested or unknown values, duplicate keys, escaped keys.
 *
 * It never accepts what json_loadb (flags 0) would refuse, and never reads
 * a value other than the one jansson's tree would hold: strings are
 * checked as jansson checks them (strict UTF-8, no raw control character,
 * no \u0000, surrogates only in pairs), numbers are accepted only as
 * integers of at most 18 digits, and every duplicate of a key it reads is
 * a fall back (jansson keeps the last one). Used by model_openai.c and
 * model_anthropic.c only. */
#ifndef AGENTOS_AGENT_MODEL_SCAN_H
#define AGENTOS_AGENT_MODEL_SCAN_H

#include <stddef.h>

#include "core/buf.h"

typedef struct model_scan {
    /* The delta's text, unescaped: into data when it had no escape,
     * else into the scratch buffer. NULL when the event has none. */
    const char *text;
    size_t text_len;
    /* OpenAI's "id", as it is in data (an id with an escape is a fall
     * back); NULL when absent. Not NUL-terminated. */
    const char *id;
    size_t id_len;
} model_scan_t;

/* 1 when data is a plain OpenAI text delta (out filled), 0 when it is not
 * ours. scratch (reset here) takes the text when it must be unescaped;
 * past its limit the event is not ours either. */
int model_scan_openai(const char *data, size_t len, buf_t *scratch, model_scan_t *out);
/* The same for Anthropic's content_block_delta with a text_delta. */
int model_scan_anthropic(const char *data, size_t len, buf_t *scratch, model_scan_t *out);

#endif
