#include "auth/jwt_reason.h"

#include <stdio.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "core/log.h"

/* The words for each reason; a claim's name goes before those that are
 * about one ("exp" + "missing"). The only copy of these strings. */
static const char *const REASON_TEXT[] = {
    [JWT_REASON_NONE] = "no reason",
    [JWT_REASON_SIZE] = "token empty or too large",
    [JWT_REASON_SHAPE] = "not a compact JWS",
    [JWT_REASON_HEADER] = "header unusable",
    [JWT_REASON_ALG] = "alg not allowed",
    [JWT_REASON_TYP] = "typ not a login token",
    [JWT_REASON_KID] = "kid unknown",
    [JWT_REASON_PARSE] = "payload or signature not decodable",
    [JWT_REASON_SIGNATURE] = "bad signature",
    [JWT_REASON_PAYLOAD] = "payload not a JSON object",
    [JWT_REASON_MISSING] = "missing",
    [JWT_REASON_NOT_STRING] = "not a string",
    [JWT_REASON_NOT_ID] = "not a valid id",
    [JWT_REASON_NOT_NUMBER] = "not a number",
    [JWT_REASON_ISS] = "iss not the configured issuer",
    [JWT_REASON_AUD] = "aud not the configured audience",
    [JWT_REASON_COOKIE_AUD] = "aud is better-auth's session cookie cache",
    [JWT_REASON_NBF] = "not valid yet (nbf)",
    [JWT_REASON_EXPIRED] = "expired",
    [JWT_REASON_RESERVED] = "reserved",
    [JWT_REASON_SCOPES] = "scopes unusable",
    [JWT_REASON_INTERNAL] = "verifier error",
};

#define REASON_COUNT (sizeof REASON_TEXT / sizeof REASON_TEXT[0])

void jwt_refusal_set(jwt_refusal_t *why, jwt_reason_t reason, const char *claim)
{
    if (why == NULL)
        return;
    why->reason = reason;
    why->claim = claim;
}

void jwt_refusal_text(const jwt_refusal_t *why, char *buf, size_t n)
{
    if (buf == NULL || n == 0)
        return;
    size_t r = why != NULL ? (size_t)why->reason : 0;
    const char *words = r < REASON_COUNT ? REASON_TEXT[r] : REASON_TEXT[JWT_REASON_INTERNAL];
    if (why != NULL && why->claim != NULL)
        snprintf(buf, n, "%s %s", why->claim, words);
    else
        snprintf(buf, n, "%s", words);
}

void jwt_fingerprint(const char *token, size_t len, char out[JWT_FINGERPRINT_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (token == NULL || EVP_Digest(token, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 4) {
        snprintf(out, JWT_FINGERPRINT_LEN, "--------");
        return;
    }
    snprintf(out, JWT_FINGERPRINT_LEN, "%02x%02x%02x%02x", md[0], md[1], md[2], md[3]);
}

void jwt_refusal_log(const char *verifier, const char *token, size_t len, const jwt_refusal_t *why)
{
    if (!log_enabled(LOG_LEVEL_DEBUG))
        return;
    char reason[128], msg[160], fp[JWT_FINGERPRINT_LEN];
    jwt_refusal_text(why, reason, sizeof reason);
    snprintf(msg, sizeof msg, "token refused: %s", reason);
    jwt_fingerprint(token, len, fp);
    log_json(LOG_LEVEL_DEBUG, msg,
             json_pack("{s:s, s:s, s:s}", "reason", reason, "verifier",
                       verifier != NULL ? verifier : "user", "token_sha256", fp));
}
