/* The HS* fast path of the end-user verifier (jwt.c): the HMAC over the
 * signing input with OpenSSL, the payload through our own bounded
 * base64url decoder and jansson. Nothing is rebuilt per token. */
#ifndef AGENTOS_AUTH_JWT_HS_H
#define AGENTOS_AUTH_JWT_HS_H

#include <stddef.h>

#include <jansson.h>

#include "auth/jwt.h"

/* Strict base64url without padding: every byte from the alphabet, the
 * length not 1 mod 4, unused low bits zero (so one byte string has one
 * spelling). Writes at most cap bytes to out; 0 and *out_len, or -1. */
int jwt_b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap, size_t *out_len);

/* One HMAC context per algorithm in algs (JWT_ALG_* mask), keyed once:
 * a token then costs only its own hash blocks. One loop's: not shared
 * between threads. NULL on failure. */
typedef struct jwt_hs_keys jwt_hs_keys_t;
jwt_hs_keys_t *jwt_hs_keys_new(const unsigned char *key, size_t key_len, unsigned algs);
void jwt_hs_keys_free(jwt_hs_keys_t *k);

/* Checks the signature of a compact JWS token[0..len) whose shape and
 * header were screened already, with HMAC under alg (one JWT_ALG_* bit of
 * k's), compared in constant time. Then decodes the payload: on JWT_OK
 * *claims is its JSON object (the caller decrefs). Else *why says why. */
jwt_status_t jwt_hs_verify(jwt_hs_keys_t *k, unsigned alg, const char *token, size_t len,
                           json_t **claims, jwt_refusal_t *why);

#endif
