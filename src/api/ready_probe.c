/* The process's /ready probe cache. Loops share it under a mutex; a call
 * that must wait for the first probe is woken on its own loop through a
 * uv_async of its own, since the probe's done runs on the prober's loop. */
#include <stdlib.h>

#include "api/ready_probe.h"
#include "core/list.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "http/pending.h"

#define PROBE_MAX_AGE_US 1000000
/* A probe in flight this long: the store is too slow to call ready. */
#define PROBE_SLOW_US 2000000
/* Calls waiting for the first probe at most; more get "unavailable". */
#define WAITERS_MAX 1024

typedef struct waiter {
    uv_async_t async; /* first: the handle pointer is the waiter */
    http_pending_t *pending;
    ready_probe_reply_fn reply;
    store_rc_t rc; /* written before uv_async_send, read in its callback */
    list_t link;   /* in cache.waiters until woken */
} waiter_t;

typedef struct probe {
    http_pending_t *pending;
    ready_probe_reply_fn reply;
} probe_t;

typedef struct cache {
    uv_mutex_t mu;
    int have;          /* a probe has answered */
    store_rc_t rc;     /* its answer */
    uint64_t at_us;    /* when */
    int in_flight;     /* a probe is queued or running */
    uint64_t since_us; /* since when */
    list_t waiters;    /* calls waiting for the first answer, newest first */
    int nwaiters;
} cache_t;

typedef enum { ANSWER, PROBE, WAIT } decision_t;

static cache_t cache;
static uv_once_t cache_once = UV_ONCE_INIT;

static void cache_init(void)
{
    if (uv_mutex_init(&cache.mu) != 0)
        abort();
    list_init(&cache.waiters);
}

/* ---- waiting for the first answer ---- */

static void waiter_closed(uv_handle_t *h)
{
    free(h);
}

static void waiter_wake(uv_async_t *a)
{
    waiter_t *w = (waiter_t *)a;
    http_request_t *r = http_pending_request(w->pending);
    if (r != NULL)
        w->reply(r, w->rc);
    http_pending_release(w->pending);
    uv_close((uv_handle_t *)a, waiter_closed);
}

/* Under the lock, on r's loop. -1: could not wait (answer at once). */
static int add_waiter(http_request_t *r, ready_probe_reply_fn reply)
{
    if (cache.nwaiters >= WAITERS_MAX)
        return -1;
    waiter_t *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return -1;
    if ((w->pending = http_pending_new(r)) == NULL ||
        uv_async_init(http_request_loop(r), &w->async, waiter_wake) != 0) {
        if (w->pending != NULL)
            http_pending_release(w->pending);
        free(w);
        return -1;
    }
    w->reply = reply;
    list_insert_head(&cache.waiters, &w->link);
    cache.nwaiters++;
    return 0;
}

/* ---- the cache ---- */

/* ANSWER with *rc, PROBE (in_flight now set), or WAIT (r queued). */
static decision_t decide(http_request_t *r, const store_t *store, ready_probe_reply_fn reply,
                         store_rc_t *rc)
{
    uint64_t now = timeutil_mono_us();
    uint64_t down_at = store_unavailable_at_us(store);
    decision_t d = ANSWER;
    uv_mutex_lock(&cache.mu);
    /* "Up" is stale once a store call has met no database after it. */
    int usable = cache.have && (cache.rc != STORE_OK || down_at < cache.at_us);
    if (usable && now - cache.at_us <= PROBE_MAX_AGE_US) {
        *rc = cache.rc;
    } else if (!cache.in_flight) {
        cache.in_flight = 1;
        cache.since_us = now;
        d = PROBE;
    } else if (!cache.have && add_waiter(r, reply) == 0) {
        d = WAIT;
    } else {
        *rc = usable && now - cache.since_us < PROBE_SLOW_US ? cache.rc : STORE_UNAVAILABLE;
    }
    uv_mutex_unlock(&cache.mu);
    return d;
}

/* Ends the probe in flight; probed: rc is a real answer, kept. */
static void probe_ended(store_rc_t rc, int probed)
{
    uv_mutex_lock(&cache.mu);
    if (probed) {
        cache.have = 1;
        cache.rc = rc;
        cache.at_us = timeutil_mono_us();
    }
    cache.in_flight = 0;
    list_t woken;
    list_init(&woken);
    list_move(&cache.waiters, &woken);
    cache.nwaiters = 0;
    uv_mutex_unlock(&cache.mu);
    list_t *node, *tmp;
    LIST_FOREACH_SAFE(node, tmp, &woken) {
        waiter_t *w = LIST_ENTRY(node, waiter_t, link);
        list_remove(node); /* before the send: w is the waker's to free once sent */
        w->rc = rc;
        uv_async_send(&w->async);
    }
}

static store_rc_t ping_work(store_conn_t *c, void *data)
{
    (void)data;
    return store_ping(c);
}

/* The probe outlives its request: the answer is kept either way. */
static void ping_done(store_rc_t rc, void *data)
{
    probe_t *p = data;
    probe_ended(rc, 1);
    http_request_t *r = http_pending_request(p->pending);
    if (r != NULL)
        p->reply(r, rc);
    http_pending_release(p->pending);
    free(p);
}

static void start_probe(http_request_t *r, store_t *store, ready_probe_reply_fn reply)
{
    probe_t *p = calloc(1, sizeof(*p));
    int sub = -1;
    if (p != NULL && (p->pending = http_pending_new(r)) != NULL) {
        p->reply = reply;
        sub = store_submit_bounded(store, http_request_loop(r), ping_work, ping_done, p);
    }
    if (sub == 0) {
        log_msg(LOG_LEVEL_DEBUG, "ready: store probe queued");
        return;
    }
    if (p != NULL && p->pending != NULL)
        http_pending_release(p->pending);
    free(p);
    store_rc_t rc = sub == STORE_SUBMIT_BUSY ? STORE_BUSY : STORE_UNAVAILABLE;
    probe_ended(rc, 0);
    reply(r, rc);
}

void ready_probe(http_request_t *r, store_t *store, ready_probe_reply_fn reply)
{
    uv_once(&cache_once, cache_init);
    store_rc_t rc = STORE_UNAVAILABLE;
    switch (decide(r, store, reply, &rc)) {
    case ANSWER:
        reply(r, rc);
        break;
    case PROBE:
        start_probe(r, store, reply);
        break;
    case WAIT:
        break;
    }
}
