#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "http/conn_limit.h"

static void test_cap_then_release(void **state)
{
    (void)state;
    http_conn_limit_t l;
    http_conn_limit_init(&l, 2);
    assert_int_equal(http_conn_limit_acquire(&l), 1);
    assert_int_equal(http_conn_limit_acquire(&l), 1);
    assert_int_equal(http_conn_limit_acquire(&l), 0);
    assert_int_equal(http_conn_limit_open(&l), 2);
    http_conn_limit_release(&l);
    assert_int_equal(http_conn_limit_acquire(&l), 1);
    assert_int_equal(http_conn_limit_open(&l), 2);
}

#define THREADS 4
#define TRIES 20000

static void *hammer(void *arg)
{
    http_conn_limit_t *l = arg;
    long got = 0;
    for (int i = 0; i < TRIES; i++)
        got += http_conn_limit_acquire(l);
    return (void *)got;
}

/* Loops accept at once: the count never passes the cap. */
static void test_threads_never_pass_the_cap(void **state)
{
    (void)state;
    http_conn_limit_t l;
    http_conn_limit_init(&l, 1000);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, hammer, &l);
    long total = 0;
    for (int i = 0; i < THREADS; i++) {
        void *got;
        pthread_join(t[i], &got);
        total += (long)got;
    }
    assert_int_equal(total, 1000);
    assert_int_equal(http_conn_limit_open(&l), 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap_then_release),
        cmocka_unit_test(test_threads_never_pass_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
