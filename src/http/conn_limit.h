/* The process's count of open connections, shared by every loop thread,
 * against MAX_CONNECTIONS: past it a new connection is refused at once, so
 * a flood cannot grow memory without bound. */
#ifndef AGENTOS_HTTP_CONN_LIMIT_H
#define AGENTOS_HTTP_CONN_LIMIT_H

#include <stdatomic.h>

typedef struct http_conn_limit {
    atomic_int open;
    int max;
} http_conn_limit_t;

void http_conn_limit_init(http_conn_limit_t *l, int max);
/* 1: counted (release it when the connection closes); 0: at the cap. */
int http_conn_limit_acquire(http_conn_limit_t *l);
void http_conn_limit_release(http_conn_limit_t *l);
int http_conn_limit_open(http_conn_limit_t *l);

#endif
