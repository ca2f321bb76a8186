/* h2o 2.2's socket input buffers. Every connection with a request in flight
 * holds one for the whole request (http1 keeps the head in it), so a streamed
 * run holds one for as long as it streams. h2o's prototype makes them 8 KiB,
 * twice what its read asks for (H2O_SOCKET_INITIAL_INPUT_BUFFER_SIZE); a head
 * and a form body are a few hundred bytes, and a larger one grows the buffer
 * (h2o_buffer_reserve doubles it), so 4 KiB is h2o's own floor and enough. */
#include "http/socket_buffers.h"

#include <h2o/socket.h>

void http_socket_buffers_init(void)
{
    h2o_socket_buffer_prototype._initial_buf.capacity = H2O_SOCKET_INITIAL_INPUT_BUFFER_SIZE;
    /* h2o keeps 16 freed socket buffers per thread: past that, bursts of
     * requests freed and allocated buffers, and glibc trimmed and madvise'd
     * its arena about every 400 requests (with a TLB shootdown). */
    h2o_socket_buffer_prototype.allocator.max = HTTP_SOCKET_BUFFERS_KEPT;
}

size_t http_socket_buffer_capacity(void)
{
    return h2o_socket_buffer_prototype._initial_buf.capacity;
}
