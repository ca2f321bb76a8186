#include <stdint.h>
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

/* 1 for the bytes jansson writes as they are: printable ASCII but '"' and
 * '\\' (so not the NUL either): one table load per byte. */
static const unsigned char me_plain[256] = {
    /* 0x00-0x7f; 0x80-0xff are 0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
};

/* The length of s when every byte is plain, else SIZE_MAX: one pass for the
 * check and the length. */
static size_t plain_len(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (me_plain[*p])
        p++;
    return *p == '\0' ? (size_t)(p - (const unsigned char *)s) : SIZE_MAX;
}

typedef struct {
    const char *text; /* the key and what comes before its value */
    size_t len;
} me_key_t;

#define ME_KEY(s)                                                                                  \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }
static const me_key_t me_keys[] = {ME_KEY("{\"user_id\":"), ME_KEY(",\"session_id\":"),
                                   ME_KEY(",\"workspace_id\":"), ME_KEY(",\"email\":"),
                                   ME_KEY(",\"name\":")};
#define ME_NKEYS (sizeof(me_keys) / sizeof(me_keys[0]))
static const me_key_t me_null = ME_KEY("null");

/* "value" or null at out; out has the room. */
static char *put_value(char *out, const char *s, size_t n)
{
    if (n == 0) {
        memcpy(out, me_null.text, me_null.len);
        return out + me_null.len;
    }
    *out++ = '"';
    memcpy(out, s, n);
    out += n;
    *out++ = '"';
    return out;
}

size_t me_body(const auth_tenant_t *t, char *out, size_t cap)
{
    const char *v[ME_NKEYS] = {t->user_id, t->session_id, t->workspace_id, t->email, t->name};
    size_t n[ME_NKEYS], need = 2;
    for (size_t i = 0; i < ME_NKEYS; i++) {
        n[i] = plain_len(v[i]);
        if (n[i] == SIZE_MAX)
            return 0;
        need += me_keys[i].len + n[i] + 4; /* the value's quotes, or null */
    }
    if (need >= cap)
        return 0;
    char *at = out;
    for (size_t i = 0; i < ME_NKEYS; i++) {
        memcpy(at, me_keys[i].text, me_keys[i].len);
        at = put_value(at + me_keys[i].len, v[i], n[i]);
    }
    *at++ = '}';
    *at = '\0';
    return (size_t)(at - out);
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
