/* The run journal: an append-only file in the data dir, one JSON record per
 * line (store_finish.h), for the finish writes that could not reach the
 * database before the process stopped. It is replayed at the next start
 * and removed once every record landed. One process per data dir.
 *
 * Blocking file I/O: call it at start-up and shutdown, never on a loop. */
#ifndef AGENTOS_STORE_STORE_JOURNAL_H
#define AGENTOS_STORE_STORE_JOURNAL_H

#include <jansson.h>
#include <stddef.h>

#define STORE_JOURNAL_NAME "run-journal.jsonl"
#define STORE_JOURNAL_MAX_BYTES (64u << 20)

/* dir/STORE_JOURNAL_NAME into out; -1 when it does not fit. */
int store_journal_path(const char *dir, char *out, size_t outlen);

/* Appends the lines (JSON without newlines) and fsyncs the file, and its
 * directory when the file is new (the directory is made when missing). A
 * line that would take the file past max_bytes is not written. Returns the
 * number of lines written; err says why when it is fewer than n. */
size_t store_journal_append(const char *path, size_t max_bytes, const char *const *lines, size_t n,
                            char *err, size_t errlen);

/* What replay's callback made of a record. */
typedef enum {
    STORE_JOURNAL_DONE = 0, /* landed, or never can: forget it */
    STORE_JOURNAL_KEEP,     /* not landed: the file stays */
} store_journal_verdict_t;

typedef store_journal_verdict_t (*store_journal_fn)(json_t *rec, void *ud);

typedef struct store_journal_stats {
    size_t done, kept, skipped; /* skipped: lines that are not a record */
} store_journal_stats_t;

/* Calls fn for each record of the file, in order (rec is borrowed for the
 * call). A line that is not a JSON object (the partial last line of a
 * crash, or damage) is skipped with a warning. The file is removed only
 * when no record was kept. Returns 0 (also when there is no file), -1 when
 * the file could not be read (it stays; err says why). */
int store_journal_replay(const char *path, size_t max_bytes, store_journal_fn fn, void *ud,
                         store_journal_stats_t *stats, char *err, size_t errlen);

#endif
