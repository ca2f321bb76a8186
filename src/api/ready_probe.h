/* /ready's store probe: one result for the whole process, reused while it
 * is at most 1 s old, so a burst of calls queues about one ping a second
 * whatever the loops. */
#ifndef AGENTOS_API_READY_PROBE_H
#define AGENTOS_API_READY_PROBE_H

#include "http/request.h"
#include "store/store.h"

typedef void (*ready_probe_reply_fn)(http_request_t *r, store_rc_t rc);

/* Answers r through reply, on r's loop, with the store's state: the last
 * result while it is fresh; else a new probe's (STORE_BUSY when the store
 * queue refuses it). While a probe is in flight, a call gets the last
 * result, or STORE_UNAVAILABLE once the probe has taken over 2 s or a store
 * call has met no database since; before any result, it waits for the
 * probe. */
void ready_probe(http_request_t *r, store_t *store, ready_probe_reply_fn reply);

#endif
