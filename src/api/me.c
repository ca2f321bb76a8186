#include <string.h>

#include "api/handlers.h"
#include "api/tenant.h"
#include "http/reply.h"

static json_t *str_or_null(const char *s)
{
    return *s != '\0' ? json_string(s) : json_null();
}

static json_t *me_json(const auth_tenant_t *t)
{
    json_t *body = json_object();
    json_object_set_new(body, "user_id", str_or_null(t->user_id));
    json_object_set_new(body, "session_id", str_or_null(t->session_id));
    json_object_set_new(body, "workspace_id", str_or_null(t->workspace_id));
    json_object_set_new(body, "email", str_or_null(t->email));
    json_object_set_new(body, "name", str_or_null(t->name));
    return body;
}

/* Printable ASCII without '"' or '\\': jansson writes such a string as it is. */
static int plain(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
            return 0;
    return 1;
}

static size_t put_str(char *out, size_t at, const char *s)
{
    size_t n = strlen(s);
    /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): a piece of the body, sent by length */
    memcpy(out + at, s, n);
    return at + n;
}

/* ,"key":"value" or ,"key":null (no comma first); out has the room. */
static size_t put(char *out, size_t at, const char *key, const char *s)
{
    if (at > 1)
        out[at++] = ',';
    out[at++] = '"';
    at = put_str(out, at, key);
    at = put_str(out, at, "\":");
    if (*s == '\0')
        return put_str(out, at, "null");
    out[at++] = '"';
    at = put_str(out, at, s);
    out[at++] = '"';
    return at;
}

size_t me_body(const auth_tenant_t *t, char *out, size_t cap)
{
    const char *v[] = {t->user_id, t->session_id, t->workspace_id, t->email, t->name};
    static const char *const k[] = {"user_id", "session_id", "workspace_id", "email", "name"};
    size_t need = 2;
    for (size_t i = 0; i < 5; i++) {
        if (!plain(v[i]))
            return 0;
        need += strlen(k[i]) + strlen(v[i]) + 8; /* ,"k":"v" or ,"k":null */
    }
    if (need >= cap)
        return 0;
    size_t at = 0;
    out[at++] = '{';
    for (size_t i = 0; i < 5; i++)
        at = put(out, at, k[i], v[i]);
    out[at++] = '}';
    out[at] = '\0';
    return at;
}

/* The common body (ASCII claims) is written straight out: building and
 * dumping a jansson object was most of a /me request's instructions. */
void me_get(http_request_t *r)
{
    const auth_tenant_t *t = tenant_of(r);
    char body[sizeof(*t) + 128];
    size_t n = me_body(t, body, sizeof(body));
    if (n == 0) {
        http_reply_json(r, 200, me_json(t));
        return;
    }
    http_reply_copy(r, 200, "application/json", body, n);
}
