/* Why a token was refused. Every verifier (the end users' HMAC one, the
 * Control Plane's, the JWKS one) names its refusals with these codes, and
 * this file alone turns them into words and into the one debug line that
 * reports them: an operator reads "exp missing" or "workspaceId not a
 * string" there, with a short fingerprint of the token, never the token. */
#ifndef AGENTOS_AUTH_JWT_REASON_H
#define AGENTOS_AUTH_JWT_REASON_H

#include <stddef.h>

typedef enum jwt_reason {
    JWT_REASON_NONE = 0,
    JWT_REASON_SIZE,       /* empty, or over JWT_MAX_TOKEN_BYTES */
    JWT_REASON_SHAPE,      /* not three base64url segments (JWE, JSON form, stray bytes) */
    JWT_REASON_HEADER,     /* header not base64url JSON, duplicate keys, zip or crit */
    JWT_REASON_ALG,        /* alg not among the configured ones */
    JWT_REASON_TYP,        /* typ names another kind of token than a login */
    JWT_REASON_KID,        /* no key with the token's kid */
    JWT_REASON_PARSE,      /* payload or signature not decodable */
    JWT_REASON_SIGNATURE,  /* no configured key verifies it */
    JWT_REASON_PAYLOAD,    /* claims not a JSON object */
    JWT_REASON_MISSING,    /* claim: required, absent */
    JWT_REASON_NOT_STRING, /* claim */
    JWT_REASON_NOT_ID,     /* claim: breaks the id rule (control bytes, over 128 bytes) */
    JWT_REASON_NOT_NUMBER, /* claim: a time that is not a NumericDate */
    JWT_REASON_ISS,        /* iss is not the configured issuer */
    JWT_REASON_AUD,        /* aud does not name the configured audience */
    JWT_REASON_COOKIE_AUD, /* aud is better-auth's session cookie cache */
    JWT_REASON_NBF,        /* not valid yet */
    JWT_REASON_EXPIRED,
    JWT_REASON_RESERVED, /* claim: a value reserved for another principal */
    JWT_REASON_SCOPES,   /* scopes unusable or past their bounds */
    JWT_REASON_INTERNAL, /* out of memory, or the library failed */
} jwt_reason_t;

/* A refusal: the reason, and the claim it is about (NULL: none). claim
 * points at a string literal or at configuration that outlives the call. */
typedef struct jwt_refusal {
    jwt_reason_t reason;
    const char *claim;
} jwt_refusal_t;

/* Records reason and claim in *why (why may be NULL). */
void jwt_refusal_set(jwt_refusal_t *why, jwt_reason_t reason, const char *claim);

/* The reason as words: "bad signature", "exp missing". A NUL-terminated
 * line in buf, cut to n - 1 bytes. */
void jwt_refusal_text(const jwt_refusal_t *why, char *buf, size_t n);

/* The first 8 hex digits of the token's SHA-256 and a NUL: enough to tell
 * the tokens of one client apart in the logs, and no way back to the token. */
#define JWT_FINGERPRINT_LEN 9
void jwt_fingerprint(const char *token, size_t len, char out[JWT_FINGERPRINT_LEN]);

/* At LOG_LEVEL_DEBUG, one line: msg "token refused: <reason>", fields
 * reason, verifier ("user", "control_plane", "jwks") and token_sha256 (the
 * fingerprint). Costs nothing at higher levels. */
void jwt_refusal_log(const char *verifier, const char *token, size_t len, const jwt_refusal_t *why);

#endif
