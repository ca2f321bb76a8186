#include "http/conn_limit.h"

void http_conn_limit_init(http_conn_limit_t *l, int max)
{
    atomic_init(&l->open, 0);
    l->max = max;
}

int http_conn_limit_acquire(http_conn_limit_t *l)
{
    int n = atomic_load_explicit(&l->open, memory_order_relaxed);
    do {
        if (n >= l->max)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(&l->open, &n, n + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return 1;
}

void http_conn_limit_release(http_conn_limit_t *l)
{
    atomic_fetch_sub_explicit(&l->open, 1, memory_order_relaxed);
}

int http_conn_limit_open(http_conn_limit_t *l)
{
    return atomic_load_explicit(&l->open, memory_order_relaxed);
}
