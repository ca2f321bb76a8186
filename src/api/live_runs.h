/* The runs this process has in flight, across its loops: for the
 * per-workspace concurrency cap and for cancelling a run from a request
 * that arrived on another loop. Thread-safe; a run itself is only touched on
 * its own loop: a cancel is handed to that loop's inbox. */
#ifndef AGENTOS_API_LIVE_RUNS_H
#define AGENTOS_API_LIVE_RUNS_H

#include <stddef.h>
#include <uv.h>

typedef struct live_runs live_runs_t;

/* A loop's mailbox for cancels, made on that loop. */
typedef struct live_inbox live_inbox_t;
typedef void (*live_cancel_fn)(void *loop_data, const char *run_id);

live_runs_t *live_runs_new(void);
void live_runs_free(live_runs_t *lr);

live_inbox_t *live_inbox_new(uv_loop_t *loop, live_cancel_fn on_cancel, void *loop_data);
/* Closes the inbox; its memory goes in the close callback. */
void live_inbox_close(live_inbox_t *in);

/* Admits run_id (of agent_id) for workspace unless it already has max
 * runs: 0, or -1. */
int live_runs_add(live_runs_t *lr, const char *workspace, const char *agent_id, const char *run_id,
                  live_inbox_t *in, int max);
void live_runs_remove(live_runs_t *lr, const char *run_id);
/* Sends a cancel to the loop running run_id in workspace, when it is a run
 * of agent_id (NULL: of any agent; the cancel route always names one, so a
 * grant on one agent never cancels another's run): 1 sent, 0 not running
 * here. */
int live_runs_cancel(live_runs_t *lr, const char *workspace, const char *agent_id,
                     const char *run_id);
size_t live_runs_count(live_runs_t *lr);

#endif
