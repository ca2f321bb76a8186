/* One agent run: history from the store, model turns over the loop's curl
 * multi, tool calls, and the run row kept in the store. It reports what
 * happens as events through a sink and knows nothing of HTTP replies.
 * Everything here runs on the loop thread that started the run. */
#ifndef AGENTOS_AGENT_RUN_H
#define AGENTOS_AGENT_RUN_H

#include <jansson.h>
#include <uv.h>

#include "net/http_client.h"
#include "agent/registry.h"
#include "core/run_status.h"
#include "store/store.h"

typedef struct run run_t;

/* What a run borrows from its loop and process. */
typedef struct run_env {
    uv_loop_t *loop;
    store_t *store;
    http_client_t *http;
    const char *owner; /* this process, on the run rows */
    size_t max_event_bytes;
    long model_connect_timeout_ms;
    long model_stall_timeout_s;
    int model_max_retries;
    long model_retry_base_ms;
    long model_buffer_size; /* the most model bytes handled at once (back-pressure) */
    size_t model_max_reply; /* one model turn's text and tool calls; 0: 4 MiB */
    long run_timeout_s;     /* the run's deadline unless its agent sets one; 0: 600 */
    size_t content_chunk;   /* text longer than this goes out in several RunContent; 0: 16 KiB */
} run_env_t;

typedef struct run_params {
    const agent_def_t *agent;
    const char *workspace_id;
    const char *user_id;
    const char *session_id;
    const char *run_id;
    const char *message;
    /* Optional objects, borrowed for the call (the run copies them): keys
     * merged into the session's state, and the run row's metadata. */
    const json_t *session_state;
    const json_t *metadata;
} run_params_t;

#define RUN_SINK_TOO_LARGE 1

typedef struct run_sink {
    /* Each event: name is the SSE event name and equals event["event"].
     * The event is borrowed for the call. Returns 0, or RUN_SINK_TOO_LARGE
     * when the event is too large for where it goes (nothing was sent): a
     * RunCompleted then goes again without its content (the client had it
     * in RunContent), any other event ends the run with RunError. */
    int (*on_event)(void *ud, const char *name, const json_t *event);
    /* Optional: the same for an event already serialised as compact JSON
     * (len bytes, one line), with the same answer. RunContent goes this
     * way when it is set (agent/run_frame.h: no jansson tree per delta),
     * and to on_event as a tree when it is not. */
    int (*on_frame)(void *ud, const char *name, const char *json, size_t len);
    /* Once, after the final event and after the run row was written (or
     * could not be). The run is freed right after. */
    void (*on_end)(void *ud, run_t *run);
    /* Optional: 1 while the client is behind; the model's stream then
     * pauses until run_resume. */
    int (*backlogged)(void *ud);
    void *ud;
} run_sink_t;

/* curl's receive buffer for a model call (run_env_t.model_buffer_size)
 * under an SSE cap: an eighth of it (a chunk becomes about 2.5 times its
 * size in frames), at most RUN_MODEL_BUFFER: a streamed delta is a few
 * hundred bytes, and the buffer is allocated for every run in flight. At
 * least 1024, curl's minimum. */
#define RUN_MODEL_BUFFER 2048
long run_model_buffer_size(size_t sse_max_buffer);

/* Copies params; the agent must outlive the run. NULL when out of memory. */
run_t *run_start(const run_env_t *env, const run_params_t *p, const run_sink_t *sink);
/* Ends the run with RunCancelled: its model call and tool calls stop. */
void run_cancel(run_t *run, const char *reason);
/* The same, from anywhere on the run's loop, including inside the run's own
 * sink callbacks: it takes effect at the next safe point (the model's next
 * bytes); callers also send run_cancel through the loop for a quiet run. */
void run_cancel_soon(run_t *run, const char *reason);
/* The client caught up: a paused model stream goes on. */
void run_resume(run_t *run);

/* PENDING, RUNNING, then COMPLETED, CANCELLED or ERROR. */
run_status_t run_status(const run_t *run);
/* The run object of the API (non-streaming reply). */
json_t *run_object(const run_t *run);

#endif
