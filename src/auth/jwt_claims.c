#include "auth/jwt_claims.h"

#include <string.h>

#include <orcania.h>

#include "auth/jwt_identity.h"

static int is_b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Rejecting anything but compact JWS here keeps JWE, JSON serialization,
 * padding and stray bytes (NUL, spaces) away from the parser. */
int jwt_token_shape_ok(const char *t, size_t len, size_t *header_len)
{
    size_t dots[2] = {0, 0}, ndots = 0;
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '.') {
            if (ndots == 2)
                return 0;
            dots[ndots++] = i;
        } else if (!is_b64url_char(t[i])) {
            return 0;
        }
    }
    if (ndots != 2 || dots[0] == 0 || dots[1] == dots[0] + 1 || dots[1] + 1 == len)
        return 0;
    *header_len = dots[0];
    return 1;
}

json_t *jwt_header_decode_why(const char *token, size_t len, jwt_refusal_t *why)
{
    size_t seg_len;
    if (token == NULL || len == 0 || len > JWT_MAX_TOKEN_BYTES) {
        jwt_refusal_set(why, JWT_REASON_SIZE, NULL);
        return NULL;
    }
    if (!jwt_token_shape_ok(token, len, &seg_len)) {
        jwt_refusal_set(why, JWT_REASON_SHAPE, NULL);
        return NULL;
    }
    struct _o_datum dat = {0, NULL};
    json_t *h = NULL;
    if (o_base64url_decode_alloc((const unsigned char *)token, seg_len, &dat))
        h = json_loadb((const char *)dat.data, dat.size, JSON_REJECT_DUPLICATES, NULL);
    o_free(dat.data);
    /* zip: rhonabwy would inflate the payload before any signature check (a
     * tiny token becomes megabytes of work). crit: we implement no extension,
     * so RFC 7515 says reject. */
    if (!json_is_object(h) || json_object_get(h, "zip") != NULL ||
        json_object_get(h, "crit") != NULL) {
        json_decref(h);
        jwt_refusal_set(why, JWT_REASON_HEADER, NULL);
        return NULL;
    }
    return h;
}

json_t *jwt_header_decode(const char *token, size_t len)
{
    return jwt_header_decode_why(token, len, NULL);
}

jwt_status_t jwt_refuse(jwt_refusal_t *why, jwt_status_t st, jwt_reason_t reason, const char *claim)
{
    jwt_refusal_set(why, reason, claim);
    return st;
}

int jwt_json_str_equals(const json_t *j, const char *s)
{
    size_t n = strlen(s);
    return json_is_string(j) && json_string_length(j) == n &&
           memcmp(json_string_value(j), s, n) == 0;
}

static long long clamp_time(long long t)
{
    if (t > JWT_TIME_LIMIT)
        return JWT_TIME_LIMIT;
    if (t < -JWT_TIME_LIMIT)
        return -JWT_TIME_LIMIT;
    return t;
}

/* NumericDate may be fractional (RFC 7519). round_up picks the stricter
 * rounding for the claim: down for exp, up for nbf. Returns -1 when present
 * but not a number. */
static int read_time(const json_t *claims, const char *key, int round_up, long long *out,
                     int *present)
{
    const json_t *j = json_object_get(claims, key);
    *present = j != NULL;
    *out = 0;
    if (j == NULL)
        return 0;
    if (json_is_integer(j)) {
        *out = clamp_time(json_integer_value(j));
        return 0;
    }
    if (!json_is_real(j))
        return -1;
    double d = json_real_value(j);
    if (d != d)
        return -1;
    if (d >= (double)JWT_TIME_LIMIT || d <= -(double)JWT_TIME_LIMIT) {
        *out = d > 0 ? JWT_TIME_LIMIT : -JWT_TIME_LIMIT;
        return 0;
    }
    long long t = (long long)d; /* truncates toward zero */
    if (round_up && (double)t < d)
        t++;
    if (!round_up && (double)t > d)
        t--;
    *out = t;
    return 0;
}

/* aud may be one string or an array of strings (RFC 7519 4.1.3). */
static int audience_names(const json_t *claims, const char *audience)
{
    const json_t *aud = json_object_get(claims, "aud");
    if (json_is_string(aud))
        return jwt_json_str_equals(aud, audience);
    if (!json_is_array(aud))
        return 0;
    for (size_t i = 0; i < json_array_size(aud); i++) {
        if (jwt_json_str_equals(json_array_get(aud, i), audience))
            return 1;
    }
    return 0;
}

/* better-auth's session cookie cache, signed by its jwt() plugin with the
 * same keys as the logins and carrying a sub and iss of its own
 * (packages/better-auth/src/cookies/jwt.ts, SESSION_COOKIE_JWT_AUDIENCE and
 * plugins/jwt/cookie-cache.ts, signCookieCacheJWT): never a login, even
 * where no audience is configured. */
#define JWT_COOKIE_CACHE_AUD "better-auth:session-cache"

static jwt_status_t check_iss_aud(const json_t *claims, const jwt_claim_rules_t *rules, int login,
                                  jwt_refusal_t *why)
{
    if (rules->issuer != NULL &&
        !jwt_json_str_equals(json_object_get(claims, "iss"), rules->issuer))
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_ISS, NULL);
    if (rules->audience != NULL && !audience_names(claims, rules->audience))
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_AUD, NULL);
    if (login && audience_names(claims, JWT_COOKIE_CACHE_AUD))
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_COOKIE_AUD, NULL);
    return JWT_OK;
}

/* exp <= 0 predates any real token; it also keeps *exp == 0 meaning "none". */
static jwt_status_t check_times(const json_t *claims, const jwt_claim_rules_t *rules, time_t now,
                                time_t *exp, jwt_refusal_t *why)
{
    long long exp_v, nbf_v, now_v = clamp_time((long long)now);
    int has_exp, has_nbf;
    if (read_time(claims, "exp", 0, &exp_v, &has_exp) != 0)
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_NOT_NUMBER, "exp");
    if (read_time(claims, "nbf", 1, &nbf_v, &has_nbf) != 0)
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_NOT_NUMBER, "nbf");
    if (!has_exp && rules->require_exp)
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_MISSING, "exp");
    if (has_nbf && nbf_v - now_v > rules->leeway_s)
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_NBF, NULL);
    if (has_exp && (exp_v <= 0 || now_v - exp_v > rules->leeway_s))
        return jwt_refuse(why, JWT_EXPIRED, JWT_REASON_EXPIRED, NULL);
    if (exp != NULL)
        *exp = has_exp ? (time_t)exp_v : 0;
    return JWT_OK;
}

void jwt_claim_rules_user(const jwt_config_t *cfg, int asymmetric, jwt_claim_rules_t *out)
{
    memset(out, 0, sizeof *out);
    if (cfg == NULL)
        return;
    const char *dflt = asymmetric ? cfg->better_auth_origin : NULL;
    out->leeway_s = cfg->leeway_s;
    out->issuer = cfg->issuer != NULL ? cfg->issuer : dflt;
    out->audience = cfg->audience != NULL ? cfg->audience : dflt;
    out->require_exp = cfg->require_exp;
    out->require_sub = 1;
    out->login = 1;
    out->session_claim = cfg->session_claim != NULL ? cfg->session_claim : "sessionId";
    out->workspace_claim = cfg->workspace_claim != NULL ? cfg->workspace_claim : "workspaceId";
}

/* Identity before time: a token that is not a login, or not for us, is
 * invalid whatever its age. */
static jwt_status_t check_all(const json_t *header, const json_t *claims,
                              const jwt_claim_rules_t *rules, time_t now, auth_tenant_t *out,
                              time_t *exp, jwt_refusal_t *why)
{
    if (rules->login && jwt_identity_typ(header, why) != JWT_OK)
        return JWT_INVALID;
    if (!json_is_object(claims))
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_PAYLOAD, NULL);
    jwt_status_t st = jwt_identity_read(claims, rules, out, why);
    if (st == JWT_OK && rules->identity != NULL)
        st = rules->identity(claims, out, why);
    if (st == JWT_OK)
        st = check_iss_aud(claims, rules, rules->login, why);
    if (st == JWT_OK)
        st = check_times(claims, rules, now, exp, why);
    return st;
}

jwt_status_t jwt_claims_check(const json_t *header, const json_t *claims,
                              const jwt_claim_rules_t *rules, time_t now, auth_tenant_t *out,
                              time_t *exp, jwt_refusal_t *why)
{
    if (exp != NULL)
        *exp = 0;
    if (out == NULL || rules == NULL)
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_INTERNAL, NULL);
    memset(out, 0, sizeof *out);
    jwt_status_t st = check_all(header, claims, rules, now, out, exp, why);
    if (st != JWT_OK) {
        memset(out, 0, sizeof *out);
        if (exp != NULL)
            *exp = 0;
        return st;
    }
    jwt_refusal_set(why, JWT_REASON_NONE, NULL);
    out->authenticated = 1;
    return JWT_OK;
}

int jwt_input_ok(const char *token, size_t len, auth_tenant_t *out, time_t *exp)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (exp != NULL)
        *exp = 0;
    return token != NULL && out != NULL && len > 0 && len <= JWT_MAX_TOKEN_BYTES;
}
