#include "auth/jwt_claims.h"

#include <string.h>

#include <orcania.h>

#include "core/ids.h"

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

json_t *jwt_header_decode(const char *token, size_t len)
{
    size_t seg_len;
    if (token == NULL || len == 0 || len > JWT_MAX_TOKEN_BYTES ||
        !jwt_token_shape_ok(token, len, &seg_len))
        return NULL;
    struct _o_datum dat = {0, NULL};
    if (!o_base64url_decode_alloc((const unsigned char *)token, seg_len, &dat))
        return NULL;
    json_t *h = json_loadb((const char *)dat.data, dat.size, JSON_REJECT_DUPLICATES, NULL);
    o_free(dat.data);
    /* zip: rhonabwy would inflate the payload before any signature check (a
     * tiny token becomes megabytes of work). crit: we implement no extension,
     * so RFC 7515 says reject. */
    if (!json_is_object(h) || json_object_get(h, "zip") != NULL ||
        json_object_get(h, "crit") != NULL) {
        json_decref(h);
        return NULL;
    }
    return h;
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
static int audience_ok(const char *audience, const json_t *claims)
{
    if (audience == NULL)
        return 1;
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

jwt_status_t jwt_claims_check(const json_t *claims, time_t now, long leeway_s, const char *issuer,
                              const char *audience, time_t *exp)
{
    long long exp_v, nbf_v, now_v = clamp_time((long long)now);
    int has_exp, has_nbf;
    if (!json_is_object(claims))
        return JWT_INVALID;
    if (read_time(claims, "exp", 0, &exp_v, &has_exp) != 0 ||
        read_time(claims, "nbf", 1, &nbf_v, &has_nbf) != 0)
        return JWT_INVALID;
    /* Identity before time: a token that is not for us is invalid whatever
     * its age. */
    if (issuer != NULL && !jwt_json_str_equals(json_object_get(claims, "iss"), issuer))
        return JWT_INVALID;
    if (!audience_ok(audience, claims))
        return JWT_INVALID;
    if (has_nbf && nbf_v - now_v > leeway_s)
        return JWT_INVALID;
    /* exp <= 0 predates any real token; it also keeps *exp == 0 meaning "none". */
    if (has_exp && (exp_v <= 0 || now_v - exp_v > leeway_s))
        return JWT_EXPIRED;
    if (exp != NULL)
        *exp = has_exp ? (time_t)exp_v : 0;
    return JWT_OK;
}

/* JSON null counts as absent for optional claims: better-auth's payload
 * carries `workspaceId: null` when a user has no active organization.
 * Embedded NULs are refused so the C string is the whole claim. NULL when
 * the claim is absent or unusable (*bad then says which). */
static const char *claim_str(const json_t *claims, const char *key, size_t *n, int *bad)
{
    const json_t *j = json_object_get(claims, key);
    *bad = 0;
    if (j == NULL || json_is_null(j))
        return NULL;
    const char *s = json_string_value(j);
    *n = json_string_length(j);
    *bad = s == NULL || memchr(s, '\0', *n) != NULL;
    return *bad ? NULL : s;
}

/* An id claim obeys the id rule: it reaches outgoing headers, log lines and
 * queries. */
int jwt_claim_copy_id(const json_t *claims, const char *key, char dst[AUTH_ID_MAX], int required)
{
    size_t n = 0;
    int bad;
    const char *s = claim_str(claims, key, &n, &bad);
    dst[0] = '\0';
    if (s == NULL)
        return bad || required ? -1 : 0;
    if (n == 0)
        return required ? -1 : 0;
    if (!ids_valid(s, n))
        return -1;
    memcpy(dst, s, n + 1);
    return 0;
}

/* A display claim longer than the tenant holds is cut, not refused: a real
 * user's long name must not void the login. */
int jwt_claim_copy_text(const json_t *claims, const char *key, char dst[AUTH_TEXT_MAX])
{
    size_t n = 0;
    int bad;
    const char *s = claim_str(claims, key, &n, &bad);
    dst[0] = '\0';
    if (s == NULL)
        return bad ? -1 : 0;
    if (n >= AUTH_TEXT_MAX) {
        n = AUTH_TEXT_MAX - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--; /* s[n] would start the next character: cut before it */
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

int jwt_input_ok(const char *token, size_t len, auth_tenant_t *out, time_t *exp)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (exp != NULL)
        *exp = 0;
    return token != NULL && out != NULL && len > 0 && len <= JWT_MAX_TOKEN_BYTES;
}
