/* Why not rhonabwy here: per token it re-exported the JWK and decoded
 * base64 with a strchr per character, together about half the cost of a
 * verification; the HMAC itself was under 1%. The checks that matter stay
 * in jwt.c (alg pinned, none refused, crit/zip refused) and in
 * jwt_claims_check; this file only authenticates bytes. */
#include "auth/jwt_hs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "auth/jwt_claims.h"

/* 0xff: not in the base64url alphabet; bytes >= 128 never are. A constant
 * table, so decoding costs one lookup per byte whatever the input. */
#define X 0xff
static const unsigned char B64URL[128] = {
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  62, X,  X,  52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X,  X,  X,  X,  X,  X,  X,  0,
    1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
    23, 24, 25, X,  X,  X,  X,  63, X,  26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38,
    39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X,  X,  X,  X,  X};
#undef X

static unsigned b64_value(char c)
{
    unsigned char u = (unsigned char)c;
    return u < 128 ? B64URL[u] : 0xff;
}

int jwt_b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap, size_t *out_len)
{
    size_t full = n / 4, rest = n % 4;
    size_t need = full * 3 + (rest == 0 ? 0 : rest - 1);
    if (rest == 1 || need > cap)
        return -1;
    unsigned long acc = 0;
    unsigned bad = 0, bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = b64_value(in[i]);
        bad |= d & 0x40; /* 0xff has it, 0..63 do not */
        acc = (acc << 6) | (d & 0x3f);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1UL << bits) - 1;
        }
    }
    if (bad != 0 || acc != 0) /* acc: the unused low bits of the last byte */
        return -1;
    *out_len = o;
    return 0;
}

/* The HS* digests, by JWT_ALG_* bit order. */
static const char *const HS_DIGESTS[3] = {"SHA256", "SHA384", "SHA512"};

struct jwt_hs_keys {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx[3]; /* NULL: that algorithm is not configured */
};

void jwt_hs_keys_free(jwt_hs_keys_t *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < 3; i++)
        EVP_MAC_CTX_free(k->ctx[i]); /* cleanses the key */
    EVP_MAC_free(k->mac);
    free(k);
}

static EVP_MAC_CTX *hs_ctx_new(EVP_MAC *mac, const char *digest, const unsigned char *key,
                               size_t key_len)
{
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)(uintptr_t)digest, 0),
        OSSL_PARAM_construct_end()};
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    if (ctx != NULL && EVP_MAC_init(ctx, key, key_len, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

jwt_hs_keys_t *jwt_hs_keys_new(const unsigned char *key, size_t key_len, unsigned algs)
{
    jwt_hs_keys_t *k = calloc(1, sizeof *k);
    if (k == NULL)
        return NULL;
    k->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    int failed = k->mac == NULL;
    for (size_t i = 0; i < 3 && !failed; i++) {
        if ((algs & (1u << i)) == 0)
            continue;
        k->ctx[i] = hs_ctx_new(k->mac, HS_DIGESTS[i], key, key_len);
        failed = k->ctx[i] == NULL;
    }
    if (failed) {
        jwt_hs_keys_free(k);
        return NULL;
    }
    return k;
}

static EVP_MAC_CTX *hs_ctx(jwt_hs_keys_t *k, unsigned alg)
{
    for (size_t i = 0; i < 3; i++) {
        if (alg == (1u << i))
            return k->ctx[i];
    }
    return NULL;
}

/* 1: the signature over token[0..signed_len) ("header.payload") is sig;
 * 0: it is not; -1: sig is not base64url (rhonabwy's parse refused that). */
static int hs_signature_ok(EVP_MAC_CTX *ctx, const char *token, size_t signed_len, const char *sig,
                           size_t sig_len)
{
    unsigned char want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
    size_t want_len = 0, got_len = 0;
    if (jwt_b64url_decode(sig, sig_len, got, sizeof got, &got_len) != 0)
        return -1;
    /* A NULL key re-initialises from the key set at start (OpenSSL keeps
     * the padded key's state), so no key schedule per token. */
    if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)token, signed_len) != 1 ||
        EVP_MAC_final(ctx, want, &want_len, sizeof want) != 1)
        return 0;
    /* The length is public (it follows from alg); the bytes are compared in
     * constant time. */
    int ok = got_len == want_len && CRYPTO_memcmp(got, want, want_len) == 0;
    OPENSSL_cleanse(want, sizeof want);
    return ok;
}

static json_t *hs_payload(const char *seg, size_t n)
{
    unsigned char buf[JWT_MAX_TOKEN_BYTES / 4 * 3];
    size_t got = 0;
    if (jwt_b64url_decode(seg, n, buf, sizeof buf, &got) != 0)
        return NULL;
    json_t *j = json_loadb((const char *)buf, got, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

jwt_status_t jwt_hs_verify(jwt_hs_keys_t *k, unsigned alg, const char *token, size_t len,
                           json_t **claims, jwt_refusal_t *why)
{
    *claims = NULL;
    EVP_MAC_CTX *ctx = k != NULL ? hs_ctx(k, alg) : NULL;
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 =
        dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (ctx == NULL || dot2 == NULL)
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_INTERNAL, NULL);
    size_t signed_len = (size_t)(dot2 - token);
    /* The signature first: nothing an unauthenticated sender chose is
     * parsed as JSON beyond the header pre-screen. */
    int sig = hs_signature_ok(ctx, token, signed_len, dot2 + 1, len - signed_len - 1);
    if (sig <= 0)
        return jwt_refuse(why, JWT_INVALID, sig < 0 ? JWT_REASON_PARSE : JWT_REASON_SIGNATURE,
                          NULL);
    *claims = hs_payload(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (*claims == NULL)
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_PARSE, NULL);
    return JWT_OK;
}
