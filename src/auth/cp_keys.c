/* Loading the Control Plane's public keys: what a key may verify is decided
 * here, once, from the key itself (type, size, curve, its own "alg" and
 * "use"), never from a token. */
#include "auth/cp_keys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define CP_KID_MAX 256

unsigned cp_alg_bit(const char *name, size_t len)
{
    return jwk_alg_bit(name, len) & CP_ALG_ALL;
}

unsigned cp_alg_bit_jwa(jwa_alg alg)
{
    return jwk_alg_bit_jwa(alg) & CP_ALG_ALL;
}

/* The algorithms jwk may verify, or 0 with err. */
static unsigned key_algs(jwk_t *jwk, const char *what, char *err, size_t errlen)
{
    unsigned bits = 0;
    unsigned type = (unsigned)r_jwk_key_type(jwk, &bits, R_FLAG_IGNORE_REMOTE);
    if (!(type & R_KEY_TYPE_PUBLIC) || (type & (R_KEY_TYPE_PRIVATE | R_KEY_TYPE_SYMMETRIC))) {
        snprintf(err, errlen, "%s: not a public key (RSA or EC)", what);
        return 0;
    }
    unsigned algs = jwk_key_algs(jwk) & CP_ALG_ALL;
    if (algs == 0)
        snprintf(err, errlen,
                 "%s: must be an RSA key of 2048 bits or more or an EC P-256, P-384 "
                 "or P-521 key, for signing with RS* or ES*",
                 what);
    return algs;
}

/* Takes jwk (freed on failure). */
static int add_key(cp_keys_t *k, jwk_t *jwk, const char *kid, int pem, const char *what, char *err,
                   size_t errlen)
{
    if (k->n >= sizeof k->keys / sizeof k->keys[0]) {
        r_jwk_free(jwk);
        snprintf(err, errlen, "%s: more than %d keys", what, CP_JWT_KEYS_MAX);
        return -1;
    }
    unsigned algs = key_algs(jwk, what, err, errlen);
    char *kid_copy = kid != NULL && strlen(kid) <= CP_KID_MAX ? strdup(kid) : NULL;
    if (algs == 0 || (kid != NULL && kid_copy == NULL)) {
        if (algs != 0)
            snprintf(err, errlen, "%s: a kid of at most %d bytes", what, CP_KID_MAX);
        free(kid_copy);
        r_jwk_free(jwk);
        return -1;
    }
    k->keys[k->n++] = (cp_key_t){jwk, kid_copy, algs, pem};
    return 0;
}

/* A public key, or the certificate that carries one. NULL when neither. */
static jwk_t *import_pem(const char *pem)
{
    static const int types[] = {R_X509_TYPE_PUBKEY, R_X509_TYPE_CERTIFICATE};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        jwk_t *jwk = NULL;
        if (r_jwk_init(&jwk) != RHN_OK)
            return NULL;
        if (r_jwk_import_from_pem_der(jwk, types[i], R_FORMAT_PEM, (const unsigned char *)pem,
                                      strlen(pem)) == RHN_OK)
            return jwk;
        r_jwk_free(jwk);
    }
    return NULL;
}

int cp_keys_add_pem(cp_keys_t *k, const char *pem, char *err, size_t errlen)
{
    jwk_t *jwk = import_pem(pem);
    if (jwk == NULL) {
        snprintf(err, errlen, "JWT_VERIFICATION_KEY: not a PEM public key or certificate");
        return -1;
    }
    /* A PEM key has no kid (rhonabwy's thumbprint one is not the Control
     * Plane's): it is tried for any token whose alg it takes. */
    return add_key(k, jwk, NULL, 1, "JWT_VERIFICATION_KEY", err, errlen);
}

static int add_jwk_json(cp_keys_t *k, json_t *j, size_t i, char *err, size_t errlen)
{
    char what[64];
    snprintf(what, sizeof what, "JWT_JWKS_FILE: key %zu", i);
    jwk_t *jwk = NULL;
    if (!json_is_object(j) || r_jwk_init(&jwk) != RHN_OK) {
        snprintf(err, errlen, "%s: not a JWK object", what);
        return -1;
    }
    const json_t *kid = json_object_get(j, "kid");
    if (kid != NULL && !json_is_string(kid)) {
        r_jwk_free(jwk);
        snprintf(err, errlen, "%s: kid must be a string", what);
        return -1;
    }
    if (r_jwk_import_from_json_t(jwk, j) != RHN_OK) {
        r_jwk_free(jwk);
        snprintf(err, errlen, "%s: not a valid JWK", what);
        return -1;
    }
    /* The kid as the file gives it: rhonabwy would invent one when absent. */
    return add_key(k, jwk, json_string_value(kid), 0, what, err, errlen);
}

int cp_keys_add_jwks(cp_keys_t *k, const char *jwks, char *err, size_t errlen)
{
    json_t *doc = json_loads(jwks, JSON_REJECT_DUPLICATES, NULL);
    json_t *keys = json_object_get(doc, "keys");
    int rc = 0;
    if (!json_is_array(keys) || json_array_size(keys) == 0) {
        snprintf(err, errlen,
                 "JWT_JWKS_FILE: must be a JSON object with a non-empty \"keys\" list");
        rc = -1;
    } else if (json_array_size(keys) > CP_JWT_KEYS_MAX) {
        snprintf(err, errlen, "JWT_JWKS_FILE: more than %d keys", CP_JWT_KEYS_MAX);
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < json_array_size(keys); i++)
        rc = add_jwk_json(k, json_array_get(keys, i), i, err, errlen);
    json_decref(doc);
    return rc;
}

void cp_keys_clear(cp_keys_t *k)
{
    for (size_t i = 0; i < k->n; i++) {
        r_jwk_free(k->keys[i].jwk);
        free(k->keys[i].kid);
    }
    memset(k, 0, sizeof *k);
}

char *cp_jwt_load_file(const char *path, const char *what, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open %s: %s", what, path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(CP_JWT_KEY_TEXT_MAX + 1);
    size_t n = buf != NULL ? fread(buf, 1, CP_JWT_KEY_TEXT_MAX + 1, f) : 0;
    int failed = buf == NULL || ferror(f) || n > CP_JWT_KEY_TEXT_MAX || memchr(buf, '\0', n);
    fclose(f);
    if (failed) {
        snprintf(err, errlen, "%s: %s is unreadable or larger than %d bytes", what, path,
                 CP_JWT_KEY_TEXT_MAX);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* Env files often carry a PEM on one line with literal "\n" for newlines. */
static char *unescape_newlines(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (; *s != '\0'; s++) {
        if (s[0] == '\\' && s[1] == 'n')
            *o++ = '\n', s++;
        else
            *o++ = *s;
    }
    *o = '\0';
    return out;
}

char *cp_jwt_load_pem(const char *value, char *err, size_t errlen)
{
    if (strstr(value, "-----BEGIN") == NULL)
        return cp_jwt_load_file(value, "JWT_VERIFICATION_KEY", err, errlen);
    if (strlen(value) > CP_JWT_KEY_TEXT_MAX) {
        snprintf(err, errlen, "JWT_VERIFICATION_KEY: larger than %d bytes", CP_JWT_KEY_TEXT_MAX);
        return NULL;
    }
    char *pem = unescape_newlines(value);
    if (pem == NULL)
        snprintf(err, errlen, "JWT_VERIFICATION_KEY: out of memory");
    return pem;
}
