/* The asymmetric JWS algorithms and what a public key may verify, shared by
 * the Control Plane keys (cp_keys.c) and better-auth's JWKS (jwks_set.c).
 * What a key verifies is decided from the key itself (its kty, size, curve,
 * and its own "alg" and "use"), never from a token. */
#ifndef AGENTOS_AUTH_JWK_ALG_H
#define AGENTOS_AUTH_JWK_ALG_H

#include <stddef.h>

#include <rhonabwy.h>

enum {
    JWK_ALG_RS256 = 1 << 0,
    JWK_ALG_RS384 = 1 << 1,
    JWK_ALG_RS512 = 1 << 2,
    JWK_ALG_ES256 = 1 << 3,
    JWK_ALG_ES384 = 1 << 4,
    JWK_ALG_ES512 = 1 << 5,
    JWK_ALG_PS256 = 1 << 6,
    JWK_ALG_PS384 = 1 << 7,
    JWK_ALG_PS512 = 1 << 8,
    JWK_ALG_EDDSA = 1 << 9,
};

#define JWK_ALG_RS (JWK_ALG_RS256 | JWK_ALG_RS384 | JWK_ALG_RS512)
#define JWK_ALG_ES (JWK_ALG_ES256 | JWK_ALG_ES384 | JWK_ALG_ES512)
#define JWK_ALG_PS (JWK_ALG_PS256 | JWK_ALG_PS384 | JWK_ALG_PS512)
#define JWK_ALG_ALL (JWK_ALG_RS | JWK_ALG_ES | JWK_ALG_PS | JWK_ALG_EDDSA)

#define JWK_RSA_MIN_BITS 2048

/* The JWK_ALG_* bit of a JWA name ("EdDSA", exact case), 0 for any other. */
unsigned jwk_alg_bit(const char *name, size_t len);
unsigned jwk_alg_bit_jwa(jwa_alg alg);
/* The name of one bit, NULL for anything else. */
const char *jwk_alg_name(unsigned bit);

/* The algorithms a public key verifies: RSA of 2048 bits or more RS* and
 * PS*, EC the ES* of its curve, OKP Ed25519 EdDSA; narrowed to the key's own
 * "alg" when it names one; 0 for a private or symmetric key, a "use" other
 * than "sig", or anything else. */
unsigned jwk_key_algs(jwk_t *jwk);

#endif
