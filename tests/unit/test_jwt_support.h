/* What the HS* token tests share: rhonabwy's global set-up and a compact
 * JWS signed by hand, so that a test can make any header or payload. */
#ifndef AGENTOS_TEST_JWT_SUPPORT_H
#define AGENTOS_TEST_JWT_SUPPORT_H

#include <stdlib.h>
#include <string.h>

#include <rhonabwy.h>

static int test_jwt_group_setup(void **state)
{
    (void)state;
    return r_global_init() == RHN_OK ? 0 : -1;
}

static int test_jwt_group_teardown(void **state)
{
    (void)state;
    r_global_close();
    return 0;
}

/* A compact JWS over an arbitrary payload under an HMAC secret;
 * header_json (may be NULL) gives extra header fields, alg is set last so
 * it wins. */
static inline char *test_jwt_sign(const char *header_json, const char *payload, jwa_alg alg,
                                  const char *secret)
{
    jws_t *jws = NULL;
    jwk_t *key = NULL;
    assert_int_equal(r_jws_init(&jws), RHN_OK);
    assert_int_equal(r_jwk_init(&key), RHN_OK);
    assert_int_equal(
        r_jwk_import_from_symmetric_key(key, (const unsigned char *)secret, strlen(secret)),
        RHN_OK);
    if (header_json != NULL)
        assert_int_equal(r_jws_set_full_header_json_str(jws, header_json), RHN_OK);
    assert_int_equal(r_jws_set_alg(jws, alg), RHN_OK);
    assert_int_equal(r_jws_set_payload(jws, (const unsigned char *)payload, strlen(payload)),
                     RHN_OK);
    char *out = r_jws_serialize(jws, key, 0);
    assert_non_null(out);
    char *copy = strdup(out);
    r_free(out);
    r_jwk_free(key);
    r_jws_free(jws);
    return copy;
}

#endif
