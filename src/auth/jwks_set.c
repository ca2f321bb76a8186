/* JWKS parsing with rhonabwy, one key at a time, so that one key we cannot
 * use (better-auth may one day publish an encryption key) does not cost the
 * others. The kid is read from the JSON: rhonabwy invents one when absent. */
#include "auth/jwks_set.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth/jwk_alg.h"

struct jwks_set {
    _Atomic unsigned refs;
    size_t n;
    size_t skipped;
    jwks_key_t keys[]; /* n of them */
};

static void set_free(jwks_set_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        r_jwk_free(s->keys[i].jwk);
        free(s->keys[i].kid);
    }
    free(s);
}

void jwks_set_ref(jwks_set_t *s)
{
    if (s != NULL)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void jwks_set_unref(jwks_set_t *s)
{
    if (s != NULL && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        set_free(s);
}

const jwks_key_t *jwks_set_find(const jwks_set_t *s, const char *kid)
{
    for (size_t i = 0; s != NULL && kid != NULL && i < s->n; i++) {
        if (strcmp(s->keys[i].kid, kid) == 0)
            return &s->keys[i];
    }
    return NULL;
}

size_t jwks_set_count(const jwks_set_t *s)
{
    return s != NULL ? s->n : 0;
}

size_t jwks_set_skipped(const jwks_set_t *s)
{
    return s != NULL ? s->skipped : 0;
}

/* The key's kid when it is a usable one: a string of 1 to JWKS_KID_MAX bytes. */
static const char *key_kid(const json_t *j)
{
    const json_t *kid = json_object_get(j, "kid");
    size_t n = json_string_length(kid);
    if (!json_is_string(kid) || n == 0 || n > JWKS_KID_MAX ||
        memchr(json_string_value(kid), '\0', n) != NULL)
        return NULL;
    return json_string_value(kid);
}

/* 1: added; 0: skipped (not usable here); -1: out of memory or a second
 * key with the same kid (a token could not say which one it means). */
static int add_key(jwks_set_t *s, json_t *j, char *err, size_t errlen)
{
    const char *kid = json_is_object(j) ? key_kid(j) : NULL;
    if (kid == NULL)
        return 0;
    if (jwks_set_find(s, kid) != NULL) {
        snprintf(err, errlen, "two keys have the kid \"%.64s\"", kid);
        return -1;
    }
    jwk_t *jwk = NULL;
    if (r_jwk_init(&jwk) != RHN_OK) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    unsigned algs = r_jwk_import_from_json_t(jwk, j) == RHN_OK ? jwk_key_algs(jwk) : 0;
    char *kid_copy = algs != 0 ? strdup(kid) : NULL;
    if (kid_copy == NULL) {
        r_jwk_free(jwk);
        if (algs == 0)
            return 0;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->keys[s->n++] = (jwks_key_t){jwk, kid_copy, algs};
    return 1;
}

static jwks_set_t *parse_keys(const json_t *keys, size_t max_keys, char *err, size_t errlen)
{
    size_t n = json_array_size(keys);
    if (n > max_keys) {
        snprintf(err, errlen, "more than %zu keys", max_keys);
        return NULL;
    }
    jwks_set_t *s = calloc(1, sizeof *s + n * sizeof s->keys[0]);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    atomic_init(&s->refs, 1);
    for (size_t i = 0; i < n; i++) {
        int rc = add_key(s, json_array_get(keys, i), err, errlen);
        if (rc < 0) {
            set_free(s);
            return NULL;
        }
        s->skipped += rc == 0;
    }
    if (s->n == 0) {
        snprintf(err, errlen,
                 "no usable signing key (EdDSA Ed25519, ES256, ES384, ES512, "
                 "RSA of 2048 bits or more) with a kid");
        set_free(s);
        return NULL;
    }
    return s;
}

jwks_set_t *jwks_set_parse(const char *text, size_t len, size_t max_keys, char *err, size_t errlen)
{
    json_t *doc = text != NULL ? json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    const json_t *keys = json_object_get(doc, "keys");
    jwks_set_t *s = NULL;
    if (!json_is_array(keys))
        snprintf(err, errlen, "not a JSON object with a \"keys\" list");
    else
        s = parse_keys(keys, max_keys, err, errlen);
    json_decref(doc);
    return s;
}
