#include "auth/scopes.h"

#include <string.h>

typedef enum { SCOPE_UNKNOWN, SCOPE_ADMIN, SCOPE_GLOBAL, SCOPE_PER_RESOURCE } scope_type_t;

/* A parsed scope: slices of the original string, nothing copied. */
typedef struct {
    scope_type_t type;
    const char *res, *id, *act;
    size_t res_len, id_len, act_len;
} scope_t;

static void slice(const char *s, size_t len, const char **out, size_t *out_len)
{
    *out = s, *out_len = len;
    /* "system" is the legacy name of "config": both mean the same grant. */
    if (len == 6 && memcmp(s, "system", 6) == 0)
        *out = "config", *out_len = 6;
}

static scope_t scope_parse(const char *s)
{
    scope_t p = {.type = SCOPE_UNKNOWN};
    if (s == NULL)
        return p;
    if (strcmp(s, SCOPES_ADMIN) == 0) {
        p.type = SCOPE_ADMIN;
        return p;
    }
    const char *c1 = strchr(s, ':');
    if (c1 == NULL)
        return p;
    const char *c2 = strchr(c1 + 1, ':');
    if (c2 == NULL) {
        slice(s, (size_t)(c1 - s), &p.res, &p.res_len);
        p.act = c1 + 1, p.act_len = strlen(c1 + 1);
        p.type = SCOPE_GLOBAL;
        return p;
    }
    if (strchr(c2 + 1, ':') != NULL)
        return p; /* four parts or more: unknown, matches nothing */
    slice(s, (size_t)(c1 - s), &p.res, &p.res_len);
    p.id = c1 + 1, p.id_len = (size_t)(c2 - c1 - 1);
    p.act = c2 + 1, p.act_len = strlen(c2 + 1);
    p.type = SCOPE_PER_RESOURCE;
    return p;
}

static int same(const char *a, size_t al, const char *b, size_t bl)
{
    return al == bl && memcmp(a, b, al) == 0;
}

static int is_wildcard(const scope_t *s)
{
    return s->type == SCOPE_PER_RESOURCE && same(s->id, s->id_len, "*", 1);
}

/* scopes.py's matches_scope; id is the resource the request is about. */
static int scope_matches(const scope_t *have, const scope_t *need, const char *id)
{
    if (have->type == SCOPE_ADMIN)
        return 1;
    if (have->type == SCOPE_UNKNOWN || need->type == SCOPE_UNKNOWN)
        return 0;
    if (!same(have->res, have->res_len, need->res, need->res_len) ||
        !same(have->act, have->act_len, need->act, need->act_len))
        return 0;
    if (need->type == SCOPE_PER_RESOURCE) {
        if (have->type == SCOPE_GLOBAL || is_wildcard(have))
            return 1;
        return id != NULL && same(have->id, have->id_len, id, strlen(id));
    }
    return have->type == SCOPE_GLOBAL || is_wildcard(have);
}

int scopes_grant(const char *const *have, size_t nhave, const char *required,
                 const char *resource_type, const char *resource_id)
{
    if (required == NULL || required[0] == '\0')
        return 1;
    scope_t need = scope_parse(required);
    if (need.type == SCOPE_ADMIN) {
        need.type = SCOPE_UNKNOWN; /* only the admin scope itself grants admin */
    } else if (need.type == SCOPE_GLOBAL && resource_id != NULL && resource_type != NULL &&
               same(need.res, need.res_len, resource_type, strlen(resource_type))) {
        /* A route about one resource of its own family: a per-resource grant. */
        need.type = SCOPE_PER_RESOURCE;
        need.id = "<resource-id>", need.id_len = 13;
    }
    for (size_t i = 0; i < nhave; i++) {
        scope_t h = scope_parse(have[i]);
        if (scope_matches(&h, &need, resource_id))
            return 1;
    }
    return 0;
}

int scopes_tenant_grants(const auth_tenant_t *t, const char *required, const char *resource_type,
                         const char *resource_id)
{
    if (t == NULL)
        return 0;
    if (!t->scoped)
        return 1;
    const char *have[AUTH_SCOPES_MAX];
    size_t n = 0, off = 0;
    while (n < t->nscopes && n < AUTH_SCOPES_MAX && off < AUTH_SCOPES_BYTES) {
        size_t len = strnlen(t->scopes + off, AUTH_SCOPES_BYTES - off);
        if (off + len == AUTH_SCOPES_BYTES)
            break; /* not NUL-terminated: never read past the buffer */
        have[n++] = t->scopes + off;
        off += len + 1;
    }
    return scopes_grant(have, n, required, resource_type, resource_id);
}
