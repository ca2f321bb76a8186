/* A loop's authenticator: verifies a bearer token once, then serves it from
 * the cache until exp + leeway, so the same rules decide a hit and a
 * verification. */
#include "auth/auth.h"

#include <stdlib.h>
#include <string.h>

#include "auth/jwk_alg.h"
#include "auth/jwks_verify.h"
#include "auth/token_cache.h"
#include "core/counters.h"

/* A token without exp is re-verified at least this often, so a change of
 * configuration (secret, issuer) reaches it within a minute. */
#define AUTH_NO_EXP_CACHE_S 60
#define AUTH_LEEWAY_CAP (1LL << 60)

struct auth_ctx {
    jwt_verifier_t *verifier;
    cp_verifier_t *cp;    /* NULL: no Control Plane key configured */
    jwks_source_t *jwks;  /* NULL: no better-auth JWKS; not ours */
    unsigned jwks_algs;   /* JWK_ALG_* the JWKS verifier takes */
    int hs_refused;       /* JWT_ALGORITHMS names no HS* */
    token_cache_t *cache; /* NULL when cache_capacity is 0 */
    long leeway_s;
    auth_ctx_stats_t stats;
};

auth_ctx_t *auth_ctx_new(const jwt_config_t *cfg, size_t cache_capacity)
{
    auth_ctx_t *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->verifier = jwt_verifier_new(cfg);
    a->cache = cache_capacity > 0 ? token_cache_new(cache_capacity) : NULL;
    if (a->verifier == NULL || (cache_capacity > 0 && a->cache == NULL)) {
        auth_ctx_free(a);
        return NULL;
    }
    a->leeway_s = cfg->leeway_s;
    return a;
}

void auth_ctx_free(auth_ctx_t *a)
{
    if (a == NULL)
        return;
    jwt_verifier_free(a->verifier);
    cp_verifier_free(a->cp);
    token_cache_free(a->cache);
    free(a);
}

int auth_ctx_enable_control_plane(auth_ctx_t *a, const cp_jwt_config_t *cp, char *err,
                                  size_t errlen)
{
    cp_verifier_t *v = a != NULL ? cp_verifier_new(cp, err, errlen) : NULL;
    if (v == NULL)
        return -1;
    cp_verifier_free(a->cp);
    a->cp = v;
    return 0;
}

static unsigned hs_bit(const char *name)
{
    unsigned m = 0;
    return jwt_algorithms_parse(name, &m) == 0 ? m : 0;
}

int auth_algorithms_parse(const char *list, unsigned *hs, unsigned *jwks)
{
    if (list == NULL || hs == NULL || jwks == NULL)
        return -1;
    unsigned h = 0, j = 0;
    for (const char *p = list;;) {
        size_t n = strcspn(p, ",");
        char name[16];
        const char *b = p;
        size_t k = n;
        while (k > 0 && (*b == ' ' || *b == '\t'))
            b++, k--;
        while (k > 0 && (b[k - 1] == ' ' || b[k - 1] == '\t'))
            k--;
        if (k == 0 || k >= sizeof name)
            return -1;
        memcpy(name, b, k);
        name[k] = '\0';
        unsigned hb = hs_bit(name), jb = jwk_alg_bit(name, k);
        if (hb == 0 && jb == 0)
            return -1;
        h |= hb;
        j |= jb;
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    *hs = h;
    *jwks = j;
    return 0;
}

int auth_ctx_enable_jwks(auth_ctx_t *a, jwks_source_t *src, unsigned algs, int hs_allowed)
{
    if (a == NULL || src == NULL || algs == 0 || (algs & ~(unsigned)JWK_ALG_ALL) != 0)
        return -1;
    a->jwks = src;
    a->jwks_algs = algs;
    a->hs_refused = !hs_allowed;
    return 0;
}

/* Which verifier judges the token. RS* and ES* are both the Control
 * Plane's and better-auth's: then the kid decides, as the two never share
 * one (a kid the set lacks goes to the Control Plane). */
typedef enum { BY_USER, BY_CP, BY_JWKS, BY_NONE } judge_t;

static judge_t judge_of(const auth_ctx_t *a, const char *token, size_t len)
{
    int cp = a->cp != NULL && cp_jwt_is_cp_alg(token, len);
    if (a->jwks != NULL && jwks_token_alg_in(token, len, a->jwks_algs) &&
        (!cp || jwks_token_kid_known(a->jwks, token, len)))
        return BY_JWKS;
    if (cp)
        return BY_CP;
    return a->hs_refused ? BY_NONE : BY_USER;
}

static jwt_status_t verify_by(auth_ctx_t *a, const char *token, size_t len, time_t now,
                              auth_tenant_t *out, time_t *exp)
{
    switch (judge_of(a, token, len)) {
    case BY_JWKS:
        return jwks_verify(a->jwks, a->jwks_algs, a->verifier, token, len, now, out, exp);
    case BY_CP: {
        jwt_status_t st = cp_verify(a->cp, token, len, now, out, exp);
        /* Maybe a better-auth key the set does not have yet. */
        if (st == JWT_INVALID && a->jwks != NULL && jwks_token_alg_in(token, len, a->jwks_algs))
            jwks_source_kid_missed(a->jwks);
        return st;
    }
    case BY_USER:
        return jwt_verify(a->verifier, token, len, now, out, exp);
    default:
        return JWT_INVALID;
    }
}

/* The last second the verified token may be served from the cache. The
 * verifier clamps exp to 2^48; capping the leeway keeps the sum from wrapping. */
static time_t valid_until(const auth_ctx_t *a, time_t exp, time_t now)
{
    if (exp == 0)
        return now + AUTH_NO_EXP_CACHE_S;
    long long leeway = a->leeway_s < AUTH_LEEWAY_CAP ? a->leeway_s : AUTH_LEEWAY_CAP;
    return (time_t)((long long)exp + leeway);
}

const auth_tenant_t *auth_ctx_borrow(auth_ctx_t *a, const char *token, size_t len, time_t now)
{
    if (a == NULL || a->cache == NULL || len > JWT_MAX_TOKEN_BYTES)
        return NULL;
    const auth_tenant_t *t = token_cache_borrow(a->cache, token, len, now);
    if (t != NULL && (t->scoped || t->kind != AUTH_PRINCIPAL_USER)) {
        token_cache_tenant_release(t); /* its request writes to it: auth_ctx_verify copies it */
        return NULL;
    }
    if (t != NULL) {
        a->stats.hits++;
        counters_token_cache(1);
    }
    return t;
}

void auth_tenant_release(const auth_tenant_t *t)
{
    token_cache_tenant_release(t);
}

jwt_status_t auth_ctx_verify(auth_ctx_t *a, const char *token, size_t len, time_t now,
                             auth_tenant_t *out)
{
    if (out == NULL)
        return JWT_INVALID;
    if (a == NULL || token == NULL) {
        memset(out, 0, sizeof *out);
        return JWT_INVALID;
    }
    if (len == 0 || len > JWT_MAX_TOKEN_BYTES) {
        memset(out, 0, sizeof *out);
        /* Before any verifier: this is the line that says why. */
        jwt_refusal_t why = {JWT_REASON_SIZE, NULL};
        jwt_refusal_log("any", token, len, &why);
        return JWT_INVALID;
    }
    if (a->cache != NULL && token_cache_get(a->cache, token, len, now, out)) {
        a->stats.hits++;
        counters_token_cache(1);
        return JWT_OK;
    }
    /* Zeroed only here: a hit overwrites all of it (a 1.9 KiB memset less). */
    memset(out, 0, sizeof *out);
    a->stats.misses++;
    counters_token_cache(0);
    time_t exp = 0;
    jwt_status_t st = verify_by(a, token, len, now, out, &exp);
    if (st == JWT_OK && a->cache != NULL)
        token_cache_put(a->cache, token, len, valid_until(a, exp, now), out);
    return st;
}

void auth_ctx_stats(const auth_ctx_t *a, auth_ctx_stats_t *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof *out);
    if (a != NULL)
        *out = a->stats;
}
