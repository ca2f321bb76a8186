/* Linear matching over a table of a few dozen routes: simpler than a trie
 * and well under a microsecond at this size. */
#include <string.h>

#include "http/router.h"

/* The end of a pattern segment, '/' or the NUL. */
static const char *segment_end(const char *p)
{
    while (*p != '\0' && *p != '/')
        p++;
    return p;
}

/* The end of path's segment that starts at pi. */
static size_t path_segment_end(const char *path, size_t path_len, size_t pi)
{
    while (pi < path_len && path[pi] != '/')
        pi++;
    return pi;
}

/* Walks a literal pattern segment along path from *pi: 1 when path's
 * segment is exactly it. No scan of the path first: most routes fail on
 * their first byte. */
static int literal_segment(const char **p, const char *path, size_t path_len, size_t *pi)
{
    const char *q = *p;
    size_t i = *pi;
    for (; *q != '\0' && *q != '/'; q++, i++)
        if (i >= path_len || path[i] != *q)
            return 0;
    *p = q;
    *pi = i;
    return i == path_len || path[i] == '/';
}

/* Matches one pattern against path segment by segment (no strchr/strlen
 * per route). params gets up to HTTP_MAX_PARAMS, *n how many. */
static int match_pattern(const char *p, const char *path, size_t path_len, h2o_iovec_t *params,
                         size_t *n)
{
    size_t pi = 0;
    *n = 0;
    while (*p != '\0') {
        if (*p != '/' || pi >= path_len || path[pi] != '/')
            return 0;
        p++, pi++;
        if (p[0] != '{' || p[1] == '\0' || p[1] == '/') {
            if (!literal_segment(&p, path, path_len, &pi))
                return 0;
            continue;
        }
        size_t seg = path_segment_end(path, path_len, pi); /* {name}: one segment, not empty */
        if (seg == pi || *n >= HTTP_MAX_PARAMS)
            return 0;
        params[(*n)++] = h2o_iovec_init(path + pi, seg - pi);
        p = segment_end(p);
        pi = seg;
    }
    return pi == path_len;
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
        h2o_iovec_t params[HTTP_MAX_PARAMS];
        size_t n;
        if (!match_pattern(routes[i].pattern, path, path_len, params, &n))
            continue;
        if (strlen(routes[i].method) == method_len &&
            memcmp(routes[i].method, method, method_len) == 0) {
            memcpy(m->params, params, n * sizeof(params[0]));
            m->nparams = n;
            m->route = &routes[i];
            m->status = 200;
            return;
        }
        m->status = 405;
        add_allow(m, routes[i].method);
    }
}
