#include "auth/jwt_identity.h"

#include <string.h>
#include <strings.h>

#include "core/ids.h"

/* The typ values of a login token: RFC 7519's JWT and RFC 9068's access
 * token, each also with the "application/" prefix RFC 7515 4.1.9 lets a
 * writer drop; compared without case, as media types are. Anything else is
 * a token of another kind signed with the same keys: better-auth's session
 * cookie cache ("better-auth.session-cache+jwt", packages/better-auth/src/
 * cookies/jwt.ts SESSION_COOKIE_JWT_TYPE) or an OIDC logout token
 * ("logout+jwt", plugins/jwt/sign.ts). better-auth's logins set no typ. */
static const char *const LOGIN_TYPS[] = {"JWT", "at+jwt", "application/jwt", "application/at+jwt"};

jwt_status_t jwt_identity_typ(const json_t *header, jwt_refusal_t *why)
{
    const json_t *typ = json_object_get(header, "typ");
    if (typ == NULL)
        return JWT_OK;
    const char *s = json_string_value(typ);
    for (size_t i = 0; s != NULL && i < sizeof LOGIN_TYPS / sizeof LOGIN_TYPS[0]; i++) {
        if (strlen(LOGIN_TYPS[i]) == json_string_length(typ) && strcasecmp(s, LOGIN_TYPS[i]) == 0)
            return JWT_OK;
    }
    return jwt_refuse(why, JWT_INVALID, JWT_REASON_TYP, NULL);
}

/* JSON null counts as absent for optional claims: better-auth's payload
 * carries `workspaceId: null` when a user has no active organization.
 * Embedded NULs are refused so the C string is the whole claim. NULL when
 * the claim is absent or unusable (*bad then says why). */
static const char *claim_str(const json_t *claims, const char *key, size_t *n, jwt_reason_t *bad)
{
    const json_t *j = json_object_get(claims, key);
    *bad = JWT_REASON_NONE;
    if (j == NULL || json_is_null(j))
        return NULL;
    const char *s = json_string_value(j);
    *n = json_string_length(j);
    if (s == NULL)
        *bad = JWT_REASON_NOT_STRING;
    else if (memchr(s, '\0', *n) != NULL)
        *bad = JWT_REASON_NOT_ID;
    return *bad != JWT_REASON_NONE ? NULL : s;
}

/* An id claim obeys the id rule: it reaches outgoing headers, log lines and
 * queries. Absent, null or "": "" in dst, refused when required. */
static jwt_status_t copy_id(const json_t *claims, const char *key, char dst[AUTH_ID_MAX],
                            int required, jwt_refusal_t *why)
{
    size_t n = 0;
    jwt_reason_t bad;
    const char *s = claim_str(claims, key, &n, &bad);
    dst[0] = '\0';
    if (bad != JWT_REASON_NONE)
        return jwt_refuse(why, JWT_INVALID, bad, key);
    if (s == NULL || n == 0)
        return required ? jwt_refuse(why, JWT_INVALID, JWT_REASON_MISSING, key) : JWT_OK;
    if (!ids_valid(s, n))
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_NOT_ID, key);
    memcpy(dst, s, n + 1);
    return JWT_OK;
}

/* A display claim longer than the tenant holds is cut, not refused: a real
 * user's long name must not void the login. */
static jwt_status_t copy_text(const json_t *claims, const char *key, char dst[AUTH_TEXT_MAX],
                              jwt_refusal_t *why)
{
    size_t n = 0;
    jwt_reason_t bad;
    const char *s = claim_str(claims, key, &n, &bad);
    dst[0] = '\0';
    if (bad != JWT_REASON_NONE)
        return jwt_refuse(why, JWT_INVALID, JWT_REASON_NOT_STRING, key);
    if (s == NULL)
        return JWT_OK;
    if (n >= AUTH_TEXT_MAX) {
        n = AUTH_TEXT_MAX - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--; /* s[n] would start the next character: cut before it */
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
    return JWT_OK;
}

jwt_status_t jwt_identity_read(const json_t *claims, const jwt_claim_rules_t *rules,
                               auth_tenant_t *out, jwt_refusal_t *why)
{
    jwt_status_t st = copy_id(claims, "sub", out->user_id, rules->require_sub, why);
    if (st == JWT_OK && rules->session_claim != NULL)
        st = copy_id(claims, rules->session_claim, out->session_id, 0, why);
    if (st == JWT_OK && rules->workspace_claim != NULL)
        st = copy_id(claims, rules->workspace_claim, out->workspace_id, 0, why);
    if (st == JWT_OK)
        st = copy_text(claims, "email", out->email, why);
    if (st == JWT_OK)
        st = copy_text(claims, "name", out->name, why);
    return st;
}
