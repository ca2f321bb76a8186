/* The in-process window counter: a fixed pool of entries, a chained hash on
 * the workspace id and an LRU list, so memory stays bounded however many
 * workspaces call. An evicted workspace starts its window again from zero,
 * which errs on the side of letting requests through. */
#include "cache/ratelimit.h"
#include "core/hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX
#define MAX_CAPACITY (1u << 24)

typedef struct entry {
    char *key; /* NULL: on the free list */
    uint64_t hash;
    uint64_t window;
    uint32_t count;
    uint32_t hnext;        /* next in the hash chain, or in the free list */
    uint32_t lprev, lnext; /* LRU list, most recent first */
} entry_t;

struct ratelimit_local {
    entry_t *entries;
    uint32_t *buckets;
    uint32_t capacity, nbuckets, size;
    uint32_t free_head, lru_head, lru_tail;
    /* The loops of one process share one counter, so a workspace gets the
     * limit per process, not per loop. Held for a table lookup only. */
    pthread_mutex_t lock;
};

static uint64_t hash_str(const char *s)
{
    /* FNV-1a: short keys, no adversary worth a keyed hash (ids come from
     * verified tokens), and the table is bounded anyway. */
    return hash_fnv1a_str(HASH_FNV1A_INIT, s);
}

ratelimit_local_t *ratelimit_local_new(size_t capacity)
{
    if (capacity == 0 || capacity > MAX_CAPACITY)
        return NULL;
    ratelimit_local_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->capacity = (uint32_t)capacity;
    t->nbuckets = 1;
    while (t->nbuckets < t->capacity * 2)
        t->nbuckets <<= 1;
    t->entries = calloc(t->capacity, sizeof *t->entries);
    t->buckets = malloc(t->nbuckets * sizeof *t->buckets);
    if (!t->entries || !t->buckets) {
        ratelimit_local_free(t);
        return NULL;
    }
    for (uint32_t i = 0; i < t->nbuckets; i++)
        t->buckets[i] = NIL;
    for (uint32_t i = 0; i < t->capacity; i++)
        t->entries[i].hnext = i + 1 < t->capacity ? i + 1 : NIL;
    t->free_head = 0;
    t->lru_head = t->lru_tail = NIL;
    pthread_mutex_init(&t->lock, NULL);
    return t;
}

void ratelimit_local_free(ratelimit_local_t *t)
{
    if (!t)
        return;
    if (t->entries)
        for (uint32_t i = 0; i < t->capacity; i++)
            free(t->entries[i].key);
    free(t->entries);
    free(t->buckets);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

size_t ratelimit_local_size(const ratelimit_local_t *t)
{
    return t->size;
}

static void lru_unlink(ratelimit_local_t *t, uint32_t i)
{
    entry_t *e = &t->entries[i];
    if (e->lprev != NIL)
        t->entries[e->lprev].lnext = e->lnext;
    else
        t->lru_head = e->lnext;
    if (e->lnext != NIL)
        t->entries[e->lnext].lprev = e->lprev;
    else
        t->lru_tail = e->lprev;
}

static void lru_push_front(ratelimit_local_t *t, uint32_t i)
{
    entry_t *e = &t->entries[i];
    e->lprev = NIL;
    e->lnext = t->lru_head;
    if (t->lru_head != NIL)
        t->entries[t->lru_head].lprev = i;
    t->lru_head = i;
    if (t->lru_tail == NIL)
        t->lru_tail = i;
}

static uint32_t find(const ratelimit_local_t *t, const char *key, uint64_t h)
{
    for (uint32_t i = t->buckets[h & (t->nbuckets - 1)]; i != NIL; i = t->entries[i].hnext)
        if (t->entries[i].hash == h && strcmp(t->entries[i].key, key) == 0)
            return i;
    return NIL;
}

static void hash_unlink(ratelimit_local_t *t, uint32_t i)
{
    uint32_t *link = &t->buckets[t->entries[i].hash & (t->nbuckets - 1)];
    while (*link != i)
        link = &t->entries[*link].hnext;
    *link = t->entries[i].hnext;
}

/* A free entry, or the least recently used one, emptied. */
static uint32_t take_slot(ratelimit_local_t *t)
{
    uint32_t i = t->free_head;
    if (i != NIL) {
        t->free_head = t->entries[i].hnext;
        t->size++;
        return i;
    }
    i = t->lru_tail;
    hash_unlink(t, i);
    lru_unlink(t, i);
    free(t->entries[i].key);
    t->entries[i].key = NULL;
    return i;
}

static void release_slot(ratelimit_local_t *t, uint32_t i)
{
    t->entries[i].hnext = t->free_head;
    t->free_head = i;
    t->size--;
}

static uint32_t lookup_or_add(ratelimit_local_t *t, const char *key)
{
    uint64_t h = hash_str(key);
    uint32_t i = find(t, key, h);
    if (i != NIL) {
        lru_unlink(t, i);
        lru_push_front(t, i);
        return i;
    }
    i = take_slot(t);
    entry_t *e = &t->entries[i];
    e->key = strdup(key);
    if (!e->key) {
        release_slot(t, i);
        return NIL;
    }
    e->hash = h;
    e->window = 0;
    e->count = 0;
    uint32_t *bucket = &t->buckets[h & (t->nbuckets - 1)];
    e->hnext = *bucket;
    *bucket = i;
    lru_push_front(t, i);
    return i;
}

static int ceil_s(uint64_t ms)
{
    return (int)((ms + 999) / 1000);
}

static void local_hit(ratelimit_local_t *t, const char *workspace, int limit, int window_ms,
                      uint64_t now_ms, ratelimit_result_t *out);

void ratelimit_local_hit(ratelimit_local_t *t, const char *workspace, int limit, int window_ms,
                         uint64_t now_ms, ratelimit_result_t *out)
{
    pthread_mutex_lock(&t->lock);
    local_hit(t, workspace, limit, window_ms, now_ms, out);
    pthread_mutex_unlock(&t->lock);
}

static void local_hit(ratelimit_local_t *t, const char *workspace, int limit, int window_ms,
                      uint64_t now_ms, ratelimit_result_t *out)
{
    uint64_t window = now_ms / (uint64_t)window_ms;
    uint64_t left_ms = (window + 1) * (uint64_t)window_ms - now_ms;
    memset(out, 0, sizeof *out);
    out->reset_s = ceil_s(left_ms);
    uint32_t i = lookup_or_add(t, workspace);
    if (i == NIL) {
        out->allowed = 1;
        out->remaining = limit;
        return;
    }
    entry_t *e = &t->entries[i];
    if (e->window != window + 1) { /* + 1: window 0 is a real window, 0 means unset */
        e->window = window + 1;
        e->count = 0;
    }
    if (e->count < UINT32_MAX)
        e->count++;
    out->allowed = e->count <= (uint32_t)limit;
    out->remaining = out->allowed ? limit - (int)e->count : 0;
    out->retry_after_s = out->allowed ? 0 : (out->reset_s > 0 ? out->reset_s : 1);
}
