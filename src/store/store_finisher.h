/* The finisher: the process's finish writes that have not landed yet. A
 * run's first try happens on the store pool; a record that try could not
 * write (the database is away) is retried here, on a thread of its own,
 * in order, with capped back-off, for as long as the process lives. At
 * shutdown what is still pending goes to the journal (store_journal.h).
 * Thread-safe. */
#ifndef AGENTOS_STORE_STORE_FINISHER_H
#define AGENTOS_STORE_STORE_FINISHER_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct store_finisher store_finisher_t;

typedef struct store_finisher_config {
    store_t *store;
    const char *journal_path; /* copied */
    size_t max_bytes;         /* records held at once, and the journal's size */
    unsigned retry_base_ms;   /* first back-off; doubles up to retry_max_ms */
    unsigned retry_max_ms;
} store_finisher_config_t;

/* NULL when out of memory or the thread cannot start. */
store_finisher_t *store_finisher_start(const store_finisher_config_t *cfg);

/* Accounts for a record (a JSON line, copied) from now until it lands: a
 * record added is journalled at shutdown unless it landed. queued: the
 * thread writes it (replay's leftovers); else the caller tries first and
 * says how it went. Returns its ticket, 0 when refused (over max_bytes,
 * out of memory, stopped). */
uint64_t store_finisher_add(store_finisher_t *f, const char *line, int queued);
/* The caller's try landed (or never can): forget the record. */
void store_finisher_landed(store_finisher_t *f, uint64_t ticket);
/* The caller's try found no database: the thread takes the record over. */
void store_finisher_retry(store_finisher_t *f, uint64_t ticket);
/* Records not landed yet. */
size_t store_finisher_pending(store_finisher_t *f);

typedef struct store_finisher_result {
    size_t journalled, lost; /* lost: neither landed nor journalled */
    size_t in_flight;        /* tries not back yet: the store is still in use */
    int joined;              /* the thread ended: store_finisher_free is safe */
} store_finisher_result_t;

/* Retries at once, waits until nothing is pending or deadline_us
 * (monotonic, timeutil_mono_us) has passed, then journals what is left and
 * stops the thread (waiting at most join_ms for a write in progress). */
store_finisher_result_t store_finisher_stop(store_finisher_t *f, uint64_t deadline_us,
                                            unsigned join_ms);
/* After a stop that joined the thread. */
void store_finisher_free(store_finisher_t *f);

#endif
