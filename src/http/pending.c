#include <stdlib.h>

#include "http/pending.h"

struct http_pending {
    http_request_t *r;
    int refs;
};

static void on_request_disposed(void *slot)
{
    http_pending_t *p = *(http_pending_t **)slot;
    p->r = NULL;
    http_pending_release(p);
}

http_pending_t *http_pending_new(http_request_t *r)
{
    http_pending_t *p = malloc(sizeof(*p));
    if (p == NULL)
        return NULL;
    p->r = r;
    p->refs = 2;
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): the pool holds a pointer to p, not p */
    http_pending_t **slot = h2o_mem_alloc_shared(&r->req->pool, sizeof(*slot), on_request_disposed);
    *slot = p;
    return p;
}

http_request_t *http_pending_request(const http_pending_t *p)
{
    return p->r;
}

void http_pending_release(http_pending_t *p)
{
    if (--p->refs == 0)
        free(p);
}
