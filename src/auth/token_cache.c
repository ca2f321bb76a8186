/* Verified-token cache: a small set-associative table (up to 4 ways per set).
 * Each slot owns one copy of its token, and tokens longer than a verifiable
 * token are never stored, so memory is bounded by capacity times
 * JWT_MAX_TOKEN_BYTES. A hit needs the whole token to match: the hash only
 * picks the set. The hash is SipHash under a key drawn per cache, so which
 * tokens share a set (and evict each other) cannot be worked out from
 * outside. */
#include "auth/token_cache.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "auth/jwt.h"
#include "core/secret.h"
#include "core/siphash.h"

#define TC_MAX_WAYS 4

/* An entry's tenant, counted: a request that borrows it keeps it past the
 * entry's eviction (and the cache's end), and a borrowed one never changes. */
typedef struct tc_shared {
    unsigned refs;
    auth_tenant_t tenant;
} tc_shared_t;

typedef struct tc_entry {
    char *token; /* NULL: empty slot */
    size_t len;
    time_t valid_until;
    tc_shared_t *shared; /* one reference, the entry's */
} tc_entry_t;

struct token_cache {
    tc_entry_t *slots; /* nsets * ways, set by set */
    size_t nsets;
    size_t ways;
    size_t count;
    size_t bytes;
    siphash_key_t key;
};

/* The kernel's random bytes, not RAND_bytes: OpenSSL's DRBG set up at start
 * touches about 2 MiB of libcrypto that an idle service never needs. */
static int fill_key(siphash_key_t *key)
{
    unsigned char *p = (unsigned char *)key;
    size_t got = 0;
    while (got < sizeof *key) {
        ssize_t n = getrandom(p + got, sizeof *key - got, 0);
        if (n < 0 && errno != EINTR)
            return -1;
        got += n > 0 ? (size_t)n : 0;
    }
    return 0;
}

token_cache_t *token_cache_new(size_t capacity)
{
    if (capacity == 0)
        return NULL;
    token_cache_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->ways = capacity < TC_MAX_WAYS ? capacity : TC_MAX_WAYS;
    c->nsets = capacity / c->ways;
    c->slots = calloc(c->nsets * c->ways, sizeof *c->slots);
    if (c->slots == NULL || fill_key(&c->key) != 0) {
        free(c->slots);
        free(c);
        return NULL;
    }
    return c;
}

static void shared_release(tc_shared_t *s)
{
    if (s != NULL && --s->refs == 0)
        free(s);
}

void token_cache_tenant_release(const auth_tenant_t *t)
{
    if (t != NULL)
        shared_release((tc_shared_t *)((char *)(uintptr_t)t - offsetof(tc_shared_t, tenant)));
}

static void entry_clear(token_cache_t *c, tc_entry_t *e)
{
    if (e->token == NULL)
        return;
    shared_release(e->shared);
    c->count--;
    c->bytes -= e->len;
    secret_free_n(e->token, e->len); /* a live credential */
    memset(e, 0, sizeof *e);
}

void token_cache_free(token_cache_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nsets * c->ways; i++) {
        secret_free_n(c->slots[i].token, c->slots[i].len);
        shared_release(c->slots[i].shared);
    }
    secret_wipe(&c->key, sizeof c->key);
    free(c->slots);
    free(c);
}

/* The set hashes the token's last TC_HASHED bytes and its length: a cached
 * token is a verified one, and its tail is its signature (43 characters or
 * more: HS256's is the shortest), which no caller chooses, so the tail
 * spreads tokens as well as the whole would; the header and claims before
 * it are mostly alike (issue 11: ~450 instructions less per /me). */
#define TC_HASHED 64

size_t token_cache_set_of(const token_cache_t *c, const char *token, size_t len)
{
    size_t from = len > TC_HASHED ? len - TC_HASHED : 0;
    uint64_t h = siphash13(&c->key, token + from, len - from) ^ (uint64_t)len;
    return (size_t)(h % c->nsets);
}

static tc_entry_t *set_for(const token_cache_t *c, const char *token, size_t len)
{
    return &c->slots[token_cache_set_of(c, token, len) * c->ways];
}

/* Constant time over the token: cached entries are other callers' live
 * credentials, and memcmp's early exit would time how much of one a guess
 * got right. */
static int entry_matches(const tc_entry_t *e, const char *token, size_t len)
{
    return e->token != NULL && e->len == len && secret_equal(e->token, token, len);
}

static tc_entry_t *find_in(const token_cache_t *c, tc_entry_t *set, const char *token, size_t len)
{
    for (size_t w = 0; w < c->ways; w++) {
        if (entry_matches(&set[w], token, len))
            return &set[w];
    }
    return NULL;
}

/* The live entry for token, or NULL (an expired one is freed on the way). */
static tc_entry_t *lookup(token_cache_t *c, const char *token, size_t len, time_t now)
{
    if (c == NULL || token == NULL || len == 0)
        return NULL;
    tc_entry_t *e = find_in(c, set_for(c, token, len), token, len);
    if (e == NULL)
        return NULL;
    if (now > e->valid_until) {
        entry_clear(c, e); /* free it now rather than wait for a collision */
        return NULL;
    }
    return e;
}

int token_cache_get(token_cache_t *c, const char *token, size_t len, time_t now, auth_tenant_t *out)
{
    tc_entry_t *e = out != NULL ? lookup(c, token, len, now) : NULL;
    if (e == NULL)
        return 0;
    *out = e->shared->tenant;
    return 1;
}

const auth_tenant_t *token_cache_borrow(token_cache_t *c, const char *token, size_t len, time_t now)
{
    tc_entry_t *e = lookup(c, token, len, now);
    if (e == NULL)
        return NULL;
    e->shared->refs++;
    return &e->shared->tenant;
}

/* An empty way, else the one that expires first: it has the least use left. */
static tc_entry_t *victim(const token_cache_t *c, tc_entry_t *set)
{
    tc_entry_t *best = &set[0];
    for (size_t w = 0; w < c->ways; w++) {
        if (set[w].token == NULL)
            return &set[w];
        if (set[w].valid_until < best->valid_until)
            best = &set[w];
    }
    return best;
}

void token_cache_put(token_cache_t *c, const char *token, size_t len, time_t valid_until,
                     const auth_tenant_t *t)
{
    if (c == NULL || token == NULL || t == NULL || len == 0 || len > JWT_MAX_TOKEN_BYTES)
        return;
    tc_entry_t *set = set_for(c, token, len); /* hashed once for the lookup and the victim */
    tc_entry_t *e = find_in(c, set, token, len);
    /* A fresh tenant each time: a borrowed one must not change under its request. */
    tc_shared_t *sh = malloc(sizeof *sh);
    if (sh == NULL)
        return;
    sh->refs = 1;
    sh->tenant = *t;
    if (e == NULL) {
        char *copy = malloc(len);
        if (copy == NULL) {
            free(sh);
            return;
        }
        memcpy(copy, token, len);
        e = victim(c, set);
        entry_clear(c, e);
        e->token = copy;
        e->len = len;
        c->count++;
        c->bytes += len;
    } else {
        shared_release(e->shared);
    }
    e->shared = sh;
    e->valid_until = valid_until;
}

size_t token_cache_count(const token_cache_t *c)
{
    return c != NULL ? c->count : 0;
}

size_t token_cache_bytes(const token_cache_t *c)
{
    return c != NULL ? c->bytes : 0;
}
