/* The SSE queue under every interleaving of append, take and done: what
 * the reader gets is exactly what was appended, in order, and no buffer is
 * written past its capacity (ASan). The first test is the regression of
 * the swap that kept the capacity of the buffer that went out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/sse_queue.h"

static http_sse_q_rc_t put(http_sse_queue_t *q, char c, size_t n)
{
    char *buf = malloc(n);
    memset(buf, c, n);
    const char *parts[] = {buf};
    size_t lens[] = {n};
    http_sse_q_rc_t rc = http_sse_queue_append(q, parts, lens, 1);
    free(buf);
    return rc;
}

/* A big buffer goes out, a small one comes back as pending: appending
 * what fitted the big one must grow the small one first. */
static void test_swap_keeps_each_capacity(void **state)
{
    (void)state;
    http_sse_queue_t q;
    http_sse_queue_init(&q, 1 << 20);
    const char *b;
    size_t len;
    assert_int_equal(put(&q, 'a', 100), HTTP_SSE_Q_OK);   /* 128 B pending */
    assert_true(http_sse_queue_take(&q, 0, &b, &len));    /* 128 B out */
    assert_int_equal(put(&q, 'b', 60000), HTTP_SSE_Q_OK); /* 64 KiB pending */
    http_sse_queue_done(&q);
    assert_true(http_sse_queue_take(&q, 0, &b, &len)); /* 64 KiB out, 128 B back */
    assert_int_equal(len, 60000);
    assert_int_equal(put(&q, 'c', 30000), HTTP_SSE_Q_OK); /* must not fit 128 B */
    http_sse_queue_done(&q);
    assert_true(http_sse_queue_take(&q, 0, &b, &len));
    assert_int_equal(len, 30000);
    assert_int_equal(b[0], 'c');
    assert_int_equal(b[29999], 'c');
    assert_true(q.inflight.cap >= q.inflight.len);
    assert_true(q.pending.cap >= q.pending.len);
    http_sse_queue_free(&q);
}

static void test_caps(void **state)
{
    (void)state;
    http_sse_queue_t q;
    http_sse_queue_init(&q, 1000);
    const char *b;
    size_t len;
    assert_int_equal(put(&q, 'x', 1001), HTTP_SSE_Q_TOO_LARGE);
    assert_int_equal(http_sse_queue_len(&q), 0);
    assert_int_equal(put(&q, 'x', 600), HTTP_SSE_Q_OK);
    assert_true(http_sse_queue_take(&q, 0, &b, &len));
    assert_int_equal(put(&q, 'y', 500), HTTP_SSE_Q_FULL); /* 600 still in flight */
    assert_int_equal(put(&q, 'y', 400), HTTP_SSE_Q_OK);
    assert_false(http_sse_queue_take(&q, 0, &b, &len)); /* one send at a time */
    http_sse_queue_done(&q);
    assert_true(http_sse_queue_take(&q, 0, &b, &len));
    assert_int_equal(len, 400);
    http_sse_queue_done(&q);
    assert_false(http_sse_queue_take(&q, 0, &b, &len)); /* nothing waits */
    assert_true(http_sse_queue_take(&q, 1, &b, &len));  /* a final send */
    assert_int_equal(len, 0);
    http_sse_queue_free(&q);
}

/* Ops: 0 small append, 1 large append, 2 take (and read), 3 done. */
#define OPS 4
#define DEPTH 7
static const size_t sizes[] = {7, 9000};

typedef struct model {
    char *want; /* every byte appended, in order */
    size_t want_len, got_len;
    unsigned seq;
} model_t;

static void run_sequence(const int *ops, int n, size_t max)
{
    http_sse_queue_t q;
    http_sse_queue_init(&q, max);
    model_t m = {calloc(1, DEPTH * 9000 + 1), 0, 0, 0};
    const char *b;
    size_t len;
    for (int i = 0; i < n; i++) {
        if (ops[i] <= 1) {
            size_t sz = sizes[ops[i]];
            char c = (char)('a' + (m.seq++ % 26));
            http_sse_q_rc_t rc = put(&q, c, sz);
            if (rc == HTTP_SSE_Q_OK) {
                memset(m.want + m.want_len, c, sz);
                m.want_len += sz;
            } else {
                assert_true(rc == HTTP_SSE_Q_FULL || rc == HTTP_SSE_Q_TOO_LARGE);
            }
        } else if (ops[i] == 2) {
            int was_sending = q.sending;
            size_t waiting = q.pending.len;
            int took = http_sse_queue_take(&q, 0, &b, &len);
            assert_int_equal(took, !was_sending && waiting > 0);
            if (took) {
                assert_int_equal(len, waiting);
                assert_memory_equal(b, m.want + m.got_len, len);
                m.got_len += len;
            }
        } else if (q.sending) {
            http_sse_queue_done(&q);
        }
        assert_true(http_sse_queue_len(&q) <= max);
        assert_true(q.pending.len <= q.pending.cap);
        assert_true(q.inflight.len <= q.inflight.cap || q.inflight.len == 0);
    }
    if (q.sending)
        http_sse_queue_done(&q);
    if (http_sse_queue_take(&q, 0, &b, &len)) {
        assert_memory_equal(b, m.want + m.got_len, len);
        m.got_len += len;
    }
    assert_int_equal(m.got_len, m.want_len);
    free(m.want);
    http_sse_queue_free(&q);
}

static void test_every_interleaving(void **state)
{
    (void)state;
    int ops[DEPTH];
    size_t caps[] = {20000, 1 << 20};
    for (size_t c = 0; c < 2; c++) {
        for (int n = 1; n <= DEPTH; n++) {
            int total = 1;
            for (int i = 0; i < n; i++)
                total *= OPS;
            for (int code = 0; code < total; code++) {
                int v = code;
                for (int i = 0; i < n; i++, v /= OPS)
                    ops[i] = v % OPS;
                run_sequence(ops, n, caps[c]);
            }
        }
    }
}

/* A small frame's buffer is kept for the next one; a large frame's is let
 * go once sent (the old code kept it for the reply's life). */
static void test_large_buffer_let_go_after_send(void **state)
{
    (void)state;
    http_sse_queue_t q;
    http_sse_queue_init(&q, 1 << 20);
    const char *b;
    size_t len;
    assert_int_equal(put(&q, 'a', 300), HTTP_SSE_Q_OK);
    assert_true(http_sse_queue_take(&q, 0, &b, &len));
    http_sse_queue_done(&q);
    assert_true(q.inflight.cap > 0 && q.inflight.cap <= HTTP_SSE_QUEUE_KEEP);
    assert_int_equal(put(&q, 'b', 3000), HTTP_SSE_Q_OK);
    assert_true(http_sse_queue_take(&q, 0, &b, &len));
    assert_int_equal(len, 3000);
    http_sse_queue_done(&q);
    assert_int_equal(q.inflight.cap, 0);
    assert_int_equal(put(&q, 'c', 10), HTTP_SSE_Q_OK); /* still works after */
    assert_true(http_sse_queue_take(&q, 0, &b, &len));
    assert_int_equal(len, 10);
    assert_int_equal(b[0], 'c');
    http_sse_queue_done(&q);
    http_sse_queue_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swap_keeps_each_capacity),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_every_interleaving),
        cmocka_unit_test(test_large_buffer_let_go_after_send),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
