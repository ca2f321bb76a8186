/* RunContent events as JSON text without a jansson tree: the run's
 * constant fields are serialised once (by jansson, so they read exactly as
 * the tree-built event did), and each delta only adds its created_at and
 * its escaped text between them. The bytes are those json_dumps
 * (JSON_COMPACT) gives for the event run_events.c would build:
 *
 *   {"created_at":N,"event":"RunContent","agent_id":..,"agent_name":..,
 *    "run_id":..,"session_id":..,"nested_depth":0,"content":"<delta>",
 *    "workflow_agent":false,"content_type":"str","reasoning_content":"",
 *    "model_provider_data":{"id":<reply id>}}      (the last when there is one) */
#ifndef AGENTOS_AGENT_RUN_FRAME_H
#define AGENTOS_AGENT_RUN_FRAME_H

#include <stddef.h>

#include "core/buf.h"

/* The largest frame built: a delta is cut to at most 16 KiB before it
 * gets here (run_model.c), six times that escaped. */
#define RUN_FRAME_MAX ((size_t)1 << 20)

typedef struct run_frame_ids {
    const char *agent_id, *agent_name, *run_id, *session_id;
} run_frame_ids_t;

/* A zeroed run_frame_t is ready; the fields are this module's. */
typedef struct run_frame {
    char *head; /* ,"event":"RunContent",...,"content":"   built at the first frame */
    size_t head_len;
    char *tail; /* ","workflow_agent":false,...}             rebuilt when the id changes */
    size_t tail_len;
    char *tail_id; /* the reply id in tail; NULL: none */
    buf_t out;     /* the last frame; grows on demand, let go past 4 KiB */
} run_frame_t;

void run_frame_free(run_frame_t *f);
/* Builds the RunContent frame of text (valid UTF-8) into f: 0, or -1 when
 * text is not valid UTF-8 (as json_stringn refuses it) or memory ran out. */
int run_frame_content(run_frame_t *f, const run_frame_ids_t *ids, long long created_at,
                      const char *reply_id, const char *text, size_t len);
/* The frame built last, and its length. */
const char *run_frame_data(const run_frame_t *f);
size_t run_frame_len(const run_frame_t *f);
/* Lets go of a large frame's bytes once it was sent. */
void run_frame_sent(run_frame_t *f);
/* text as json_dumps writes a string's contents (without the quotes):
 * '"', '\\' and control characters escaped, UTF-8 kept; -1 on invalid
 * UTF-8 or past out's limit. */
int run_frame_escape(buf_t *out, const char *text, size_t len);

#endif
