/* The Control Plane verifier's keys (internal to cp_jwt.c and cp_keys.c):
 * each public key with the algorithms it may verify, fixed at load. */
#ifndef AGENTOS_AUTH_CP_KEYS_H
#define AGENTOS_AUTH_CP_KEYS_H

#include <stddef.h>

#include <rhonabwy.h>

#include "auth/cp_jwt.h"
#include "auth/jwk_alg.h"

/* The Control Plane signs with RS* or ES* only: the shared table's bits. */
enum {
    CP_ALG_RS256 = JWK_ALG_RS256,
    CP_ALG_RS384 = JWK_ALG_RS384,
    CP_ALG_RS512 = JWK_ALG_RS512,
    CP_ALG_ES256 = JWK_ALG_ES256,
    CP_ALG_ES384 = JWK_ALG_ES384,
    CP_ALG_ES512 = JWK_ALG_ES512,
};
#define CP_ALG_ALL (JWK_ALG_RS | JWK_ALG_ES)

typedef struct cp_key {
    jwk_t *jwk;
    char *kid;     /* NULL: the key has no kid */
    unsigned algs; /* CP_ALG_* this key verifies */
    int pem;       /* JWT_VERIFICATION_KEY's key: tried whatever the kid */
} cp_key_t;

typedef struct cp_keys {
    cp_key_t keys[CP_JWT_KEYS_MAX + 1]; /* the JWKS keys, then the PEM key */
    size_t n;
} cp_keys_t;

/* The CP_ALG_* bit of a JWA name ("RS256"), 0 for any other. */
unsigned cp_alg_bit(const char *name, size_t len);
unsigned cp_alg_bit_jwa(jwa_alg alg);

/* Add the PEM key or every key of the JWKS text. -1 with err. */
int cp_keys_add_pem(cp_keys_t *k, const char *pem, char *err, size_t errlen);
int cp_keys_add_jwks(cp_keys_t *k, const char *jwks, char *err, size_t errlen);
void cp_keys_clear(cp_keys_t *k);

#endif
