/* SQLite's WAL checkpoints, off the commit path: one thread per store,
 * with a connection of its own, copies the WAL back into the database
 * every interval, or sooner once the store has made every_commits commits
 * since the last one (the commit only signals it). PASSIVE: it copies
 * what no reader still needs and never waits on anyone, so the WAL stays
 * bounded (a few intervals' commits plus what an open reader pins) while
 * no commit ever pays for a checkpoint. */
#ifndef AGENTOS_STORE_STORE_SQLITE_CKPT_H
#define AGENTOS_STORE_STORE_SQLITE_CKPT_H

#include <stdatomic.h>
#include <stdint.h>

#include "store/store.h"

#define STORE_CKPT_INTERVAL_MS 200 /* AGENTOS_WAL_CHECKPOINT_MS's default */
#define STORE_CKPT_EVERY_COMMITS 512

typedef struct store_ckpt store_ckpt_t;

/* Starts the thread for s (whose path is set); NULL when it cannot. */
store_ckpt_t *store_ckpt_start(store_t *s, unsigned interval_ms, unsigned every_commits);
/* From the commit path, after a commit counted in s->commits: wakes the
 * thread once every every_commits commits. Cheap otherwise. */
void store_ckpt_committed(store_ckpt_t *k, uint64_t commits);
/* Checkpoints the thread has run (tests count them). */
uint64_t store_ckpt_runs(const store_ckpt_t *k);
/* Stops and joins the thread, closing its connection. NULL is a no-op. */
void store_ckpt_stop(store_ckpt_t *k);

#endif
