/* Linear matching over a table of a few dozen routes: simpler than a trie
 * and well under a microsecond at this size. */
#include <string.h>

#include "http/router.h"

/* Matches one pattern against path segment by segment. */
static int match_pattern(const char *pat, const char *path, size_t path_len, router_match_t *m)
{
    size_t pi = 0, n = 0;
    const char *p = pat;
    while (*p != '\0') {
        if (*p != '/' || pi >= path_len || path[pi] != '/')
            return 0;
        p++, pi++;
        const char *pend = strchr(p, '/');
        size_t plen = pend ? (size_t)(pend - p) : strlen(p);
        size_t seg = pi;
        while (seg < path_len && path[seg] != '/')
            seg++;
        size_t slen = seg - pi;
        if (plen > 1 && p[0] == '{') {
            if (slen == 0 || n >= HTTP_MAX_PARAMS)
                return 0;
            m->params[n++] = h2o_iovec_init(path + pi, slen);
        } else if (plen != slen || memcmp(p, path + pi, slen) != 0) {
            return 0;
        }
        p += plen;
        pi = seg;
    }
    if (pi != path_len)
        return 0;
    m->nparams = n;
    return 1;
}

static void add_allow(router_match_t *m, const char *method)
{
    if (strstr(m->allow, method) != NULL)
        return;
    size_t used = strlen(m->allow);
    size_t need = strlen(method) + (used ? 2 : 0);
    if (used + need >= sizeof(m->allow))
        return;
    if (used)
        strcat(m->allow, ", ");
    strcat(m->allow, method);
}

void router_match(const http_route_t *routes, size_t nroutes, const char *method, size_t method_len,
                  const char *path, size_t path_len, router_match_t *m)
{
    memset(m, 0, sizeof(*m));
    m->status = 404;
    if (path_len > 1 && path[path_len - 1] == '/')
        path_len--;
    for (size_t i = 0; i < nroutes; i++) {
        router_match_t cand;
        memset(&cand, 0, sizeof(cand));
        if (!match_pattern(routes[i].pattern, path, path_len, &cand))
            continue;
        if (strlen(routes[i].method) == method_len &&
            memcmp(routes[i].method, method, method_len) == 0) {
            char allow[sizeof(m->allow)];
            memcpy(allow, m->allow, sizeof(allow));
            *m = cand;
            memcpy(m->allow, allow, sizeof(allow));
            m->route = &routes[i];
            m->status = 200;
            return;
        }
        m->status = 405;
        add_allow(m, routes[i].method);
    }
}
