/* The loop threads' h2o socket input buffers (http/socket_buffers.c): a
 * connection's first read gets 4 KiB, not h2o's 8 KiB, and a freed one is
 * kept for the next connection. A streamed run holds one for its whole life. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include <h2o.h>

#include "http/socket_buffers.h"

/* What a connection's first read reserves (h2o's libuv binding asks 4096). */
static size_t first_read_capacity(void)
{
    h2o_buffer_t *in;
    h2o_buffer_init(&in, &h2o_socket_buffer_prototype);
    h2o_buffer_reserve(&in, H2O_SOCKET_INITIAL_INPUT_BUFFER_SIZE);
    size_t cap = in->capacity;
    h2o_buffer_dispose(&in);
    return cap;
}

static void test_first_read_is_4_kib(void **state)
{
    (void)state;
    http_socket_buffers_init();
    assert_int_equal(http_socket_buffer_capacity(), 4096);
    assert_int_equal(first_read_capacity(), 4096);
    assert_int_equal(h2o_socket_buffer_prototype.allocator.max, HTTP_SOCKET_BUFFERS_KEPT);
}

/* A head larger than the buffer still fits: h2o doubles it. */
static void test_large_head_grows(void **state)
{
    (void)state;
    http_socket_buffers_init();
    h2o_buffer_t *in;
    h2o_buffer_init(&in, &h2o_socket_buffer_prototype);
    h2o_iovec_t room = h2o_buffer_reserve(&in, H2O_SOCKET_INITIAL_INPUT_BUFFER_SIZE);
    in->size += room.len;
    room = h2o_buffer_reserve(&in, H2O_SOCKET_INITIAL_INPUT_BUFFER_SIZE);
    assert_true(room.len >= H2O_SOCKET_INITIAL_INPUT_BUFFER_SIZE);
    assert_true(in->capacity >= 8192);
    h2o_buffer_dispose(&in);
    assert_int_equal(first_read_capacity(), 4096); /* the recycled ones stay 4 KiB */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_read_is_4_kib),
        cmocka_unit_test(test_large_head_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
