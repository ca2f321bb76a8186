/* One table of the asymmetric algorithms, and the one reading of a key. */
#include "auth/jwk_alg.h"

#include <string.h>

static const struct {
    const char *name;
    unsigned bit;
    jwa_alg alg;
} JWK_ALGS[] = {
    {"RS256", JWK_ALG_RS256, R_JWA_ALG_RS256}, {"RS384", JWK_ALG_RS384, R_JWA_ALG_RS384},
    {"RS512", JWK_ALG_RS512, R_JWA_ALG_RS512}, {"ES256", JWK_ALG_ES256, R_JWA_ALG_ES256},
    {"ES384", JWK_ALG_ES384, R_JWA_ALG_ES384}, {"ES512", JWK_ALG_ES512, R_JWA_ALG_ES512},
    {"PS256", JWK_ALG_PS256, R_JWA_ALG_PS256}, {"PS384", JWK_ALG_PS384, R_JWA_ALG_PS384},
    {"PS512", JWK_ALG_PS512, R_JWA_ALG_PS512}, {"EdDSA", JWK_ALG_EDDSA, R_JWA_ALG_EDDSA},
};

#define JWK_ALGS_COUNT (sizeof JWK_ALGS / sizeof JWK_ALGS[0])

unsigned jwk_alg_bit(const char *name, size_t len)
{
    for (size_t i = 0; name != NULL && i < JWK_ALGS_COUNT; i++) {
        if (strlen(JWK_ALGS[i].name) == len && memcmp(JWK_ALGS[i].name, name, len) == 0)
            return JWK_ALGS[i].bit;
    }
    return 0;
}

unsigned jwk_alg_bit_jwa(jwa_alg alg)
{
    for (size_t i = 0; i < JWK_ALGS_COUNT; i++) {
        if (JWK_ALGS[i].alg == alg)
            return JWK_ALGS[i].bit;
    }
    return 0;
}

const char *jwk_alg_name(unsigned bit)
{
    for (size_t i = 0; i < JWK_ALGS_COUNT; i++) {
        if (JWK_ALGS[i].bit == bit)
            return JWK_ALGS[i].name;
    }
    return NULL;
}

/* An EC key signs with exactly one algorithm: the one of its curve. */
static unsigned ec_algs(jwk_t *jwk)
{
    const char *crv = r_jwk_get_property_str(jwk, "crv");
    if (crv == NULL)
        return 0;
    if (strcmp(crv, "P-256") == 0)
        return JWK_ALG_ES256;
    if (strcmp(crv, "P-384") == 0)
        return JWK_ALG_ES384;
    if (strcmp(crv, "P-521") == 0)
        return JWK_ALG_ES512;
    return 0;
}

/* Ed448 is EdDSA too, but nothing we talk to signs with it. */
static unsigned okp_algs(jwk_t *jwk)
{
    const char *crv = r_jwk_get_property_str(jwk, "crv");
    return crv != NULL && strcmp(crv, "Ed25519") == 0 ? JWK_ALG_EDDSA : 0;
}

unsigned jwk_key_algs(jwk_t *jwk)
{
    unsigned bits = 0;
    int type = r_jwk_key_type(jwk, &bits, R_FLAG_IGNORE_REMOTE);
    if (!(type & R_KEY_TYPE_PUBLIC) || (type & (R_KEY_TYPE_PRIVATE | R_KEY_TYPE_SYMMETRIC)))
        return 0;
    unsigned algs = 0;
    if ((type & R_KEY_TYPE_RSA) && bits >= JWK_RSA_MIN_BITS)
        algs = JWK_ALG_RS | JWK_ALG_PS;
    else if (type & R_KEY_TYPE_EC)
        algs = ec_algs(jwk);
    else if (type & R_KEY_TYPE_EDDSA)
        algs = okp_algs(jwk);
    const char *use = r_jwk_get_property_str(jwk, "use");
    const char *alg = r_jwk_get_property_str(jwk, "alg");
    if (use != NULL && strcmp(use, "sig") != 0)
        algs = 0;
    if (alg != NULL)
        algs &= jwk_alg_bit(alg, strlen(alg));
    return algs;
}
