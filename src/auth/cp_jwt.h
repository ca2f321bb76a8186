/* Control Plane tokens: RS256/384/512 or ES256/384/512 JWTs that Agno's
 * Control Plane mints for its operators, verified with the PEM public key of
 * JWT_VERIFICATION_KEY or the keys of the JWKS file JWT_JWKS_FILE (picked by
 * kid). Each key verifies only the algorithms of its own type and size, and
 * no symmetric key is ever loaded here, so an HS* token can never be checked
 * against a public key (no algorithm confusion). */
#ifndef AGENTOS_AUTH_CP_JWT_H
#define AGENTOS_AUTH_CP_JWT_H

#include <stddef.h>
#include <time.h>

#include "auth/jwt.h"

#define CP_JWT_KEY_TEXT_MAX (64 * 1024) /* a PEM key or a JWKS file, bytes */
#define CP_JWT_KEYS_MAX 16              /* keys in one JWKS */

typedef struct cp_jwt_config {
    const char *pem;      /* PEM public key text, or NULL */
    const char *jwks;     /* JWKS JSON text {"keys":[...]}, or NULL */
    long leeway_s;        /* exp and nbf */
    const char *issuer;   /* NULL: iss not checked */
    const char *audience; /* NULL: aud not checked; else aud must name it */
    int require_exp;      /* 1: a token without exp is refused (JWT_REQUIRE_EXP) */
} cp_jwt_config_t;

typedef struct cp_verifier cp_verifier_t;

/* NULL with a one-line reason in err when a key is unusable (not RSA >= 2048
 * bits or EC P-256/384/521, private, not for signing) or none is given. */
cp_verifier_t *cp_verifier_new(const cp_jwt_config_t *cfg, char *err, size_t errlen);
void cp_verifier_free(cp_verifier_t *v);

/* On JWT_OK fills *out as an operator (scoped = 1, the token's scopes) and
 * *exp (0: no exp). The scopes claim is a list of strings or one string.
 * A refusal is logged at debug with its reason (jwt_refusal_log). */
jwt_status_t cp_verify(cp_verifier_t *v, const char *token, size_t len, time_t now,
                       auth_tenant_t *out, time_t *exp);

/* 1 when the token's header names an RS* or ES* algorithm: the kind of token
 * the Control Plane verifier, not the end-user one, must judge. */
int cp_jwt_is_cp_alg(const char *token, size_t len);

/* The key text for a configuration value: JWT_VERIFICATION_KEY is PEM text
 * (literal "\n" read as newlines, as env files often carry it) or the path
 * of a PEM file; JWT_JWKS_FILE is a path. malloc'd, or NULL with err. */
char *cp_jwt_load_pem(const char *value, char *err, size_t errlen);
char *cp_jwt_load_file(const char *path, const char *what, char *err, size_t errlen);

#endif
