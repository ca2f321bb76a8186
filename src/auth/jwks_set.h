/* A parsed JWKS: immutable once made, shared by every loop through a
 * reference count, so the fetcher can swap in a new set while tokens are
 * still being checked against the old one. */
#ifndef AGENTOS_AUTH_JWKS_SET_H
#define AGENTOS_AUTH_JWKS_SET_H

#include <stddef.h>

#include <rhonabwy.h>

#define JWKS_KID_MAX 256

typedef struct jwks_key {
    jwk_t *jwk;
    char *kid;
    unsigned algs; /* JWK_ALG_* this key verifies (auth/jwk_alg.h) */
} jwks_key_t;

typedef struct jwks_set jwks_set_t;

/* Parses {"keys":[...]} (text[0..len)). Keys that cannot verify a signature
 * here (encryption keys, private or symmetric keys, other curves, no kid)
 * are skipped and counted; a set with no usable key, more than max_keys
 * keys, or two keys of one kid is refused. NULL with a one-line reason in
 * err. The set starts with one reference, the caller's. */
jwks_set_t *jwks_set_parse(const char *text, size_t len, size_t max_keys, char *err, size_t errlen);
/* Thread-safe. unref frees the set with its last reference; NULL is a no-op. */
void jwks_set_ref(jwks_set_t *s);
void jwks_set_unref(jwks_set_t *s);

/* The key of that kid, or NULL. Valid while the caller holds a reference. */
const jwks_key_t *jwks_set_find(const jwks_set_t *s, const char *kid);
size_t jwks_set_count(const jwks_set_t *s);
size_t jwks_set_skipped(const jwks_set_t *s);

#endif
