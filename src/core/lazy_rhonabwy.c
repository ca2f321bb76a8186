/* rhonabwy at its first call (core/lazy_lib.h), r_global_init as it
 * loads: minting, the Control Plane keys and the JWKS. HS* tokens are
 * checked without it (auth/jwt_hs.c), so by default nothing loads it
 * (nor GnuTLS, p11-kit and the GnuTLS libcurl it brings). */
#include <rhonabwy.h>

#include "core/lazy_lib.h"

/* What src/ calls, then what the tests call besides. Every fallback is a
 * failure (RHN_ERROR, NULL, R_JWA_ALG_UNKNOWN): when the library cannot be
 * loaded, r_jwt_verify_signature answers RHN_ERROR and every token is
 * refused; nothing passes unverified (test_lazy_fail_closed). */
#define LAZY_RHN(FN, FREE)                                                                         \
    FN(int, r_global_init, (void), (), RHN_ERROR)                                                  \
    FREE(r_global_close, (void), ())                                                               \
    FREE(r_free, (void *p), (p))                                                                   \
    FN(int, r_jwk_init, (jwk_t * *k), (k), RHN_ERROR_MEMORY)                                       \
    FREE(r_jwk_free, (jwk_t * k), (k))                                                             \
    FN(int, r_jwk_key_type, (jwk_t * k, unsigned int *bits, int x5u), (k, bits, x5u), 0)           \
    FN(const char *, r_jwk_get_property_str, (jwk_t * k, const char *key), (k, key), NULL)         \
    FN(int, r_jwk_import_from_json_t, (jwk_t * k, json_t * j), (k, j), RHN_ERROR)                  \
    FN(int, r_jwk_import_from_pem_der,                                                             \
       (jwk_t * k, int type, int format, const unsigned char *in, size_t len),                     \
       (k, type, format, in, len), RHN_ERROR)                                                      \
    FN(int, r_jwk_import_from_symmetric_key, (jwk_t * k, const unsigned char *key, size_t len),    \
       (k, key, len), RHN_ERROR)                                                                   \
    FN(int, r_jwt_init, (jwt_t * *t), (t), RHN_ERROR_MEMORY)                                       \
    FREE(r_jwt_free, (jwt_t * t), (t))                                                             \
    FN(int, r_jwt_advanced_parsen,                                                                 \
       (jwt_t * t, const char *token, size_t len, uint32_t flags, int x5u),                        \
       (t, token, len, flags, x5u), RHN_ERROR)                                                     \
    FN(json_t *, r_jwt_get_full_claims_json_t, (jwt_t * t), (t), NULL)                             \
    FN(int, r_jwt_set_full_claims_json_t, (jwt_t * t, json_t * j), (t, j), RHN_ERROR)              \
    FN(jwa_alg, r_jwt_get_sign_alg, (jwt_t * t), (t), R_JWA_ALG_UNKNOWN)                           \
    FN(int, r_jwt_set_sign_alg, (jwt_t * t, jwa_alg alg), (t, alg), RHN_ERROR)                     \
    FN(int, r_jwt_get_type, (jwt_t * t), (t), R_JWT_TYPE_NONE)                                     \
    FN(char *, r_jwt_serialize_signed, (jwt_t * t, jwk_t * k, int x5u), (t, k, x5u), NULL)         \
    FN(int, r_jwt_verify_signature, (jwt_t * t, jwk_t * k, int x5u), (t, k, x5u), RHN_ERROR)       \
    FN(int, r_jwk_generate_key_pair,                                                               \
       (jwk_t * priv, jwk_t * pub, int type, unsigned int bits, const char *kid),                  \
       (priv, pub, type, bits, kid), RHN_ERROR)                                                    \
    FN(int, r_jwk_set_property_str, (jwk_t * k, const char *key, const char *v), (k, key, v),      \
       RHN_ERROR)                                                                                  \
    FN(int, r_jwk_delete_property_str, (jwk_t * k, const char *key), (k, key), RHN_ERROR)          \
    FN(char *, r_jwk_export_to_json_str, (jwk_t * k, int pretty), (k, pretty), NULL)               \
    FN(int, r_jws_init, (jws_t * *s), (s), RHN_ERROR_MEMORY)                                       \
    FREE(r_jws_free, (jws_t * s), (s))                                                             \
    FN(int, r_jws_set_payload, (jws_t * s, const unsigned char *p, size_t len), (s, p, len),       \
       RHN_ERROR)                                                                                  \
    FN(int, r_jws_set_alg, (jws_t * s, jwa_alg alg), (s, alg), RHN_ERROR)                          \
    FN(int, r_jws_set_full_header_json_str, (jws_t * s, const char *h), (s, h), RHN_ERROR)         \
    FN(char *, r_jws_serialize, (jws_t * s, jwk_t * k, int x5u), (s, k, x5u), NULL)                \
    FN(int, r_jwt_set_claim_str_value, (jwt_t * t, const char *key, const char *v), (t, key, v),   \
       RHN_ERROR)                                                                                  \
    FN(const char *, r_jwt_get_claim_str_value, (jwt_t * t, const char *key), (t, key), NULL)      \
    FN(rhn_int_t, r_jwt_get_claim_int_value, (jwt_t * t, const char *key), (t, key), 0)            \
    FN(int, r_jwt_set_full_claims_json_str, (jwt_t * t, const char *s), (t, s), RHN_ERROR)

enum { LAZY_RHN(LAZY_ENUM, LAZY_FREE_ENUM) LAZY_N };
static const char *const lazy_names[LAZY_N] = {LAZY_RHN(LAZY_NAME, LAZY_FREE_NAME)};
static void *lazy_fn[LAZY_N];

static int rhonabwy_on_load(void)
{
    int (*init)(void) = (int (*)(void))lazy_fn[LAZY_I_r_global_init];
    return init() == RHN_OK ? 0 : -1;
}

static lazy_lib_t lazy_lib =
    LAZY_LIB_INIT(AGENTOS_SONAME_RHONABWY, lazy_names, lazy_fn, LAZY_N, rhonabwy_on_load);

LAZY_RHN(LAZY_DEFINE, LAZY_FREE_DEFINE)

int lazy_rhonabwy_loaded(void)
{
    return lazy_lib_loaded(&lazy_lib);
}
