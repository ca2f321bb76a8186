/* A finished run's record: everything its finish write needs, as one JSON
 * object (the same object the journal keeps on a line), and the write
 * itself. The write is idempotent, so a record may be written twice (a
 * retry, a replay after a crash) without counting tokens or usage twice.
 *
 * Record keys: workspace_id, run_id, session_id, status (required);
 * agent_id, user_id, model, model_provider, content, day ("YYYY-MM-DD"),
 * messages, tools, metrics, input_tokens, output_tokens. */
#ifndef AGENTOS_STORE_STORE_FINISH_H
#define AGENTOS_STORE_STORE_FINISH_H

#include <jansson.h>

#include "store/store.h"

/* What the owner sweep writes into a run whose process stopped; a finish
 * write still lands on such a row (the sweep only guessed). */
#define STORE_INTERRUPTED_TEXT "interrupted: the process running it stopped"

/* In one transaction: the row's final status, content, messages, tools and
 * metrics; the session's total_tokens; the day's usage (not for CANCELLED).
 * Only a row still RUNNING or PENDING, or marked interrupted by the sweep,
 * is written: a row already finished means the record landed before, and
 * the call is STORE_OK without writing anything. STORE_NOT_FOUND when the
 * run is not there (its session was deleted), STORE_ERROR for a record
 * that is not one. */
store_rc_t store_finish_write(store_conn_t *c, const json_t *rec);

/* 0 when rec has the shape above (the ids non-empty strings), else -1. */
int store_finish_check(const json_t *rec);

#endif
