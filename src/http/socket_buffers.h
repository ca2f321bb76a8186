/* The loop threads' h2o socket input buffers: their size and how many are kept. */
#ifndef AGENTOS_HTTP_SOCKET_BUFFERS_H
#define AGENTOS_HTTP_SOCKET_BUFFERS_H

#include <stddef.h>

/* Freed input buffers a loop keeps for reuse: 256 of 4 KiB, 1 MiB at most. */
#define HTTP_SOCKET_BUFFERS_KEPT 256

/* Sets the calling thread's h2o socket buffer prototype (h2o's is per thread):
 * buffers of 4 KiB, HTTP_SOCKET_BUFFERS_KEPT kept. Call on a
 * loop thread before it reads any socket (the recycled buffers must be one size). */
void http_socket_buffers_init(void);

/* The first input buffer's capacity on this thread, for the tests. */
size_t http_socket_buffer_capacity(void);

#endif
