/* Control Plane test keys and tokens: RSA and EC key pairs made at test
 * time with OpenSSL, tokens signed with rhonabwy over any header and payload. */
#ifndef AGENTOS_TEST_CP_SUPPORT_H
#define AGENTOS_TEST_CP_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <rhonabwy.h>

typedef struct test_keypair {
    char *pub_pem;
    char *priv_pem;
} test_keypair_t;

static inline char *bio_text(BIO *b)
{
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *out = malloc((size_t)n + 1);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    return out;
}

/* The PEM texts of a key made by the caller (freed here; NULL gives none). */
static inline test_keypair_t test_keypair_of(EVP_PKEY *k)
{
    BIO *pub = BIO_new(BIO_s_mem()), *priv = BIO_new(BIO_s_mem());
    test_keypair_t kp = {NULL, NULL};
    if (k != NULL && PEM_write_bio_PUBKEY(pub, k) == 1 &&
        PEM_write_bio_PrivateKey(priv, k, NULL, NULL, 0, NULL, NULL) == 1) {
        kp.pub_pem = bio_text(pub);
        kp.priv_pem = bio_text(priv);
    }
    BIO_free(pub);
    BIO_free(priv);
    EVP_PKEY_free(k);
    return kp;
}

/* curve NULL: RSA of rsa_bits. */
static inline test_keypair_t test_keypair(const char *curve, unsigned rsa_bits)
{
    return test_keypair_of(curve != NULL ? EVP_EC_gen(curve) : EVP_RSA_gen(rsa_bits));
}

static inline void test_keypair_free(test_keypair_t *kp)
{
    free(kp->pub_pem);
    free(kp->priv_pem);
}

/* The public key as a JWK JSON object text, with kid (NULL: none) and extra
 * members (NULL or `"alg":"RS256"`-style text without braces). */
static inline char *test_jwk_json(const char *pub_pem, const char *kid, const char *extra)
{
    jwk_t *jwk = NULL;
    if (r_jwk_init(&jwk) != RHN_OK ||
        r_jwk_import_from_pem_der(jwk, R_X509_TYPE_PUBKEY, R_FORMAT_PEM,
                                  (const unsigned char *)pub_pem, strlen(pub_pem)) != RHN_OK)
        return NULL;
    /* rhonabwy names an imported key by its thumbprint: keep or replace that */
    if (kid != NULL)
        r_jwk_set_property_str(jwk, "kid", kid);
    else
        r_jwk_delete_property_str(jwk, "kid");
    char *json = r_jwk_export_to_json_str(jwk, 0);
    r_jwk_free(jwk);
    if (json == NULL)
        return NULL;
    size_t n = strlen(json) + (extra ? strlen(extra) : 0) + 4;
    char *out = malloc(n);
    if (extra != NULL && json[strlen(json) - 1] == '}') {
        json[strlen(json) - 1] = '\0';
        snprintf(out, n, "%s,%s}", json, extra);
    } else {
        snprintf(out, n, "%s", json);
    }
    r_free(json);
    return out;
}

/* A compact JWS over payload signed with the private PEM key (or, with
 * secret, an HMAC key of those bytes). header_json: extra header fields. */
static inline char *test_sign(const char *priv_pem, const char *secret, jwa_alg alg,
                              const char *header_json, const char *payload)
{
    jws_t *jws = NULL;
    jwk_t *key = NULL;
    char *copy = NULL;
    if (r_jws_init(&jws) != RHN_OK || r_jwk_init(&key) != RHN_OK)
        goto out;
    int rc =
        secret != NULL
            ? r_jwk_import_from_symmetric_key(key, (const unsigned char *)secret, strlen(secret))
            : r_jwk_import_from_pem_der(key, R_X509_TYPE_PRIVKEY, R_FORMAT_PEM,
                                        (const unsigned char *)priv_pem, strlen(priv_pem));
    if (rc != RHN_OK)
        goto out;
    if (header_json != NULL && r_jws_set_full_header_json_str(jws, header_json) != RHN_OK)
        goto out;
    if (r_jws_set_alg(jws, alg) != RHN_OK ||
        r_jws_set_payload(jws, (const unsigned char *)payload, strlen(payload)) != RHN_OK)
        goto out;
    char *out = r_jws_serialize(jws, key, 0);
    if (out != NULL)
        copy = strdup(out);
    r_free(out);
out:
    r_jwk_free(key);
    r_jws_free(jws);
    return copy;
}

#endif
