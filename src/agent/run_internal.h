/* Shared by the run's files: run.c (the state machine), run_events.c (the
 * events and the run object), run_model.c
 * (model turns), run_tools.c (tool calls), run_store.c (the run row),
 * run_clock.c (the deadline and the stall watchdog). */
#ifndef AGENTOS_AGENT_RUN_INTERNAL_H
#define AGENTOS_AGENT_RUN_INTERNAL_H

#include <stdint.h>

#include "agent/model.h"
#include "agent/run.h"
#include "agent/run_frame.h"
#include "core/buf.h"

/* Where a run is. Every change goes through run_enter (run.c), which
 * checks it against the table of legal transitions:
 *   SETUP -> MODEL | FINISHING
 *   MODEL -> TOOLS | PAUSED | FINISHING
 *   TOOLS -> MODEL | PAUSED | FINISHING
 *   PAUSED -> MODEL | TOOLS | FINISHING   (reserved: human-in-the-loop)
 *   FINISHING -> DONE */
typedef enum {
    RUN_SETUP = 0, /* the setup job: session, history, the row */
    RUN_MODEL,     /* a model call in flight */
    RUN_TOOLS,     /* the model's tool calls in flight */
    RUN_PAUSED,    /* reserved: waiting for a human; nothing enters it yet */
    RUN_FINISHING, /* the final event sent, the row being written */
    RUN_DONE,      /* the sink's on_end runs; the run is freed next */
    RUN_PHASE_COUNT
} run_phase_t;

typedef struct tool_exec {
    run_t *run;
    char *id, *name, *args;
    char *result;
    int is_error, done;
    double start_time, end_time; /* epoch seconds */
    http_call_t *call;           /* an HTTP tool in flight */
    buf_t body;                  /* the HTTP tool's answer, TOOL_RESULT_MAX at most */
    int truncated;
} tool_exec_t;

struct run {
    run_env_t env;
    const agent_def_t *agent;
    char *ws, *user, *session_id, *run_id, *message;
    run_sink_t sink;
    run_phase_t phase;
    run_status_t status;
    char *end_text;        /* the error message, or the cancel reason */
    json_t *messages;      /* what the model sees: system, history, this run */
    json_t *run_messages;  /* this run's messages, kept on the row */
    json_t *tools_log;     /* the tool executions, kept on the row */
    json_t *history;       /* earlier runs' messages, from the setup job */
    json_t *session_state; /* the session's state, from the setup job; NULL: none */
    json_t *state_in;      /* the caller's keys for that state; NULL: none */
    json_t *metadata;      /* the caller's metadata, kept on the row; NULL: none */
    int state_too_large;   /* the merged session_state passed RUN_STATE_MAX */
    json_t *tool_schemas;  /* the agent's tools as the model sees them */
    http_call_t *call;
    model_stream_t *stream;
    char *content;
    long long input_tokens, output_tokens;
    int tool_calls_used;
    tool_exec_t *execs;
    size_t nexecs, pending_execs;
    double created_at; /* epoch seconds */
    uint64_t start_us, first_token_us;
    /* the model call's start: its latency in the counters */
    uint64_t call_start_us;
    int row_written;      /* the setup job inserted the row */
    int cancel_pending;   /* cancelled while the setup job ran */
    int cancel_requested; /* run_cancel_soon: acted on at the next safe point */
    int paused;           /* the model call waits for the client to drain */
    int finish_tries;
    int model_turns;         /* model calls made, against agent->max_model_turns */
    uv_timer_t *clock;       /* run_clock.c; its own allocation, freed when closed */
    uint64_t clock_start_ms; /* loop ms */
    uint64_t deadline_ms;    /* loop ms */
    uint64_t last_delta_ms;  /* loop ms of the model's last text or tool delta */
    char *fail_text;         /* run_fail_soon: the run ends with this RunError */
    const char *error_type;  /* RunError's error_type ("timeout", ...), or NULL */
    buf_t streamed;          /* the ended turns' text: RunCancelled's content */
    uint64_t turn_first_us;  /* the model call's first body byte (mono us), 0 before */
    int model_results;       /* model calls that answered */
    char *reply_id;          /* the provider's id of the last reply: model_provider_data */
    run_frame_t frame;       /* RunContent's pre-serialised fields (run_frame.h) */
};

/* run.c: the state machine */
/* "SETUP", ...; "?" outside the enum. */
const char *run_phase_name(run_phase_t p);
/* 0 when from -> to is a legal transition, -1 when not. */
int run_phase_check(run_phase_t from, run_phase_t to);
/* The one way a run changes phase: logged at debug, asserted legal. */
void run_enter(run_t *run, run_phase_t to);
/* run_model.c reports a model answer (tokens and message already kept):
 * run.c chooses tools, the end, or an error. */
void run_model_done(run_t *run, model_result_t *res);
/* run_tools.c reports that every tool result joined the conversation. */
void run_tools_done(run_t *run);
/* Ends the run (any phase before FINISHING; later calls do nothing). */
void run_finish(run_t *run, run_status_t status, const char *text);
double run_now(void);
json_t *run_message(const char *role, const char *content);

/* run_events.c */
/* A refused event (RUN_SINK_TOO_LARGE) fails the run soon. */
void run_emit(run_t *run, const char *name, json_t *fields);
json_t *run_metrics(const run_t *run);
/* An event as JSON text, to the sink's on_frame: a refused one fails the
 * run soon, as in run_emit. */
void run_emit_frame(run_t *run, const char *name, const char *json, size_t len);
/* The final event for run->status. */
void run_events_final(run_t *run);
/* The provider as Agno names it in events and run objects ("OpenAI"). */
const char *run_provider_name(const run_t *run);
/* Agno's model_provider_data ({"id": ...}) for a reply id; NULL for none. */
json_t *run_provider_data(const char *reply_id);

/* run_model.c */
/* The most of a run's streamed text kept for RunCancelled's content. */
#define RUN_STREAMED_MAX ((size_t)4 << 20)
void run_model_turn(run_t *run);
void run_model_cancel(run_t *run);
void run_model_resume(run_t *run);
/* The model stream's on_text (ud is the run): the delta as RunContent
 * events, in pieces of at most env.content_chunk bytes. */
void run_model_text(void *ud, const char *text, size_t len);

/* run_tools.c */
json_t *run_tool_schemas(const agent_def_t *agent);
void run_tools_start(run_t *run, model_result_t *res);
void run_tools_cancel(run_t *run);
/* "name(k=v, ...)" as Agno's get_call_str prints a call (long string values
 * "...", the whole "name(...)" past 80 characters); malloc'd, NULL on OOM. */
char *run_tool_call_str(const char *name, const char *args_json);

/* run_tools_query.c */
/* The longest URL a GET or DELETE tool call may send. */
#define RUN_TOOL_URL_MAX ((size_t)8 << 10)
/* url with args (a JSON object) as its query: ?k=v&k2=v2, percent-encoded;
 * a string as it is, other values as compact JSON, a list as the key
 * repeated, a null left out. malloc'd; NULL when out of memory, or with
 * *too_long set when the URL would pass RUN_TOOL_URL_MAX. */
char *run_tool_query_url(const char *url, json_t *args, int *too_long);

/* run_clock.c */
int run_clock_start(run_t *run);
void run_clock_stop(run_t *run);
/* Ends the run with RunError (type, text) now: only from the loop, outside
 * the run's own callbacks. */
void run_fail(run_t *run, const char *type, const char *text);
/* The same from anywhere, at the next loop turn (or the model's next bytes). */
void run_fail_soon(run_t *run, const char *type, const char *text);

/* run_history.c */
/* Earlier runs a model call sees: at most this many rows read, and this
 * many bytes of their messages kept. */
#define RUN_HISTORY_MAX_ROWS 100
#define RUN_HISTORY_MAX_BYTES ((size_t)512 << 10)
/* The messages of the newest max_runs COMPLETED runs of rows (oldest
 * first, as store_run_list gives them), user, assistant (with tool_calls)
 * and tool messages in the neutral shape, oldest first; a run whose tool
 * calls and results do not pair up is left out, and the newest runs that
 * fit in max_bytes are kept. A new array; NULL when out of memory. */
json_t *run_history_build(const json_t *rows, int max_runs, size_t max_bytes);

/* run_store.c */
/* The most a session's state may hold after a run's keys are merged in,
 * as compact JSON (about what PATCH /sessions can set in one body). */
#define RUN_STATE_MAX ((size_t)1 << 20)
void run_store_setup(run_t *run, void (*done)(run_t *run, store_rc_t rc));
void run_store_finish(run_t *run, void (*done)(run_t *run));

#endif
