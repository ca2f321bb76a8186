/* A run's status, as Agno's RunStatus spells it on the wire and as the
 * store keeps it in its text column. Every status string goes through this
 * table, so a misspelt status is a compile error and not a silent mismatch.
 * In core/ because the store, the agent and the API all use it. */
#ifndef AGENTOS_CORE_RUN_STATUS_H
#define AGENTOS_CORE_RUN_STATUS_H

typedef enum {
    RUN_STATUS_PENDING = 0,
    RUN_STATUS_RUNNING,
    RUN_STATUS_COMPLETED,
    RUN_STATUS_PAUSED, /* reserved: human-in-the-loop */
    RUN_STATUS_CANCELLED,
    RUN_STATUS_ERROR,
    RUN_STATUS_COUNT
} run_status_t;

/* "PENDING", ...; "" for a value outside the enum. */
const char *run_status_name(run_status_t s);
/* The status a name spells (exact text); -1 for NULL or an unknown name
 * (Agno's "REGENERATED" is not a status a run here can have). */
int run_status_parse(const char *name, run_status_t *out);
/* Still in flight: PENDING or RUNNING. */
int run_status_is_open(run_status_t s);
/* The same for a name as read from a row; 0 for an unknown name. */
int run_status_name_is_open(const char *name);

#endif
