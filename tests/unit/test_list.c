/* core/list: order at both ends, removal anywhere (during a walk too),
 * moving a whole list, and the asserts that catch a node linked twice or
 * removed while unlinked. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include <cmocka.h>

#include "core/list.h"

/* The node not first: LIST_ENTRY must subtract its offset. */
typedef struct item {
    int value;
    list_t link;
} item_t;

/* The values of head, first to last, into out; their count. */
static size_t values(const list_t *head, int *out, size_t max)
{
    size_t n = 0;
    list_t *node;
    LIST_FOREACH(node, head) {
        if (n < max)
            out[n] = LIST_ENTRY(node, item_t, link)->value;
        n++;
    }
    return n;
}

static void assert_values(const list_t *head, const int *want, size_t n)
{
    int got[16];
    assert_int_equal(values(head, got, 16), n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], want[i]);
}

static void test_empty(void **state)
{
    (void)state;
    list_t head;
    list_init(&head);
    assert_true(list_is_empty(&head));
    assert_null(list_first(&head));
    assert_values(&head, NULL, 0);
    item_t zeroed = {0};
    assert_false(list_is_linked(&zeroed.link)); /* calloc'd elements start unlinked */
}

static void test_tail_is_fifo_head_is_lifo(void **state)
{
    (void)state;
    item_t it[4] = {{.value = 1}, {.value = 2}, {.value = 3}, {.value = 4}};
    list_t fifo, lifo;
    list_init(&fifo);
    list_init(&lifo);
    for (int i = 0; i < 2; i++)
        list_insert_tail(&fifo, &it[i].link);
    for (int i = 2; i < 4; i++)
        list_insert_head(&lifo, &it[i].link);
    assert_values(&fifo, (int[]){1, 2}, 2);
    assert_values(&lifo, (int[]){4, 3}, 2);
    assert_false(list_is_empty(&fifo));
    assert_true(list_is_linked(&it[0].link));
    assert_ptr_equal(LIST_ENTRY(list_first(&fifo), item_t, link), &it[0]);
    assert_ptr_equal(LIST_ENTRY(list_next(&fifo, &it[0].link), item_t, link), &it[1]);
    assert_null(list_next(&fifo, &it[1].link));
}

static void test_remove_anywhere(void **state)
{
    (void)state;
    item_t it[5];
    list_t head;
    list_init(&head);
    for (int i = 0; i < 5; i++) {
        it[i] = (item_t){.value = i};
        list_insert_tail(&head, &it[i].link);
    }
    list_remove(&it[2].link); /* middle */
    list_remove(&it[0].link); /* first */
    list_remove(&it[4].link); /* last */
    assert_false(list_is_linked(&it[2].link));
    assert_values(&head, (int[]){1, 3}, 2);
    list_insert_head(&head, &it[2].link); /* a removed node may be linked again */
    assert_values(&head, (int[]){2, 1, 3}, 3);
    list_remove(&it[1].link);
    list_remove(&it[2].link);
    list_remove(&it[3].link);
    assert_true(list_is_empty(&head));
}

/* Every element freed during the walk: ASan would see a read of one. */
static void test_safe_walk_frees(void **state)
{
    (void)state;
    list_t head;
    list_init(&head);
    for (int i = 0; i < 6; i++) {
        item_t *it = calloc(1, sizeof(*it));
        assert_non_null(it);
        it->value = i;
        list_insert_tail(&head, &it->link);
    }
    list_t *node, *tmp;
    LIST_FOREACH_SAFE(node, tmp, &head) {
        item_t *it = LIST_ENTRY(node, item_t, link);
        if (it->value % 2 == 0) {
            list_remove(node);
            free(it);
        }
    }
    assert_values(&head, (int[]){1, 3, 5}, 3);
    LIST_FOREACH_SAFE(node, tmp, &head) {
        list_remove(node);
        free(LIST_ENTRY(node, item_t, link));
    }
    assert_true(list_is_empty(&head));
}

static void test_move(void **state)
{
    (void)state;
    item_t it[4] = {{.value = 1}, {.value = 2}, {.value = 3}, {.value = 4}};
    list_t a, b;
    list_init(&a);
    list_init(&b);
    list_move(&a, &b); /* nothing to move */
    assert_true(list_is_empty(&a));
    assert_true(list_is_empty(&b));
    list_insert_tail(&a, &it[0].link);
    list_insert_tail(&a, &it[1].link);
    list_move(&a, &b);
    assert_true(list_is_empty(&a));
    assert_values(&b, (int[]){1, 2}, 2);
    list_insert_tail(&a, &it[2].link);
    list_insert_tail(&a, &it[3].link);
    list_move(&a, &b); /* after what b holds */
    assert_true(list_is_empty(&a));
    assert_values(&b, (int[]){1, 2, 3, 4}, 4);
    list_remove(&it[3].link); /* still a well-formed list: the ends too */
    list_remove(&it[0].link);
    assert_values(&b, (int[]){2, 3}, 2);
}

#ifndef NDEBUG
typedef void (*misuse_fn)(void);

static void remove_unlinked(void)
{
    item_t it = {0};
    list_remove(&it.link);
}

static void remove_twice(void)
{
    list_t head;
    item_t it = {0};
    list_init(&head);
    list_insert_tail(&head, &it.link);
    list_remove(&it.link);
    list_remove(&it.link);
}

static void link_twice(void)
{
    list_t a, b;
    item_t it = {0};
    list_init(&a);
    list_init(&b);
    list_insert_tail(&a, &it.link);
    list_insert_head(&b, &it.link);
}

static void head_not_initialised(void)
{
    list_t head = {0};
    (void)list_is_empty(&head);
}

/* fn must die of its assert; in a child, so the test goes on. */
static void assert_aborts(misuse_fn fn)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, STDERR_FILENO); /* the assert's message is expected */
        fn();
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void test_misuse_asserts(void **state)
{
    (void)state;
    assert_aborts(remove_unlinked);
    assert_aborts(remove_twice);
    assert_aborts(link_twice);
    assert_aborts(head_not_initialised);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_tail_is_fifo_head_is_lifo),
        cmocka_unit_test(test_remove_anywhere),
        cmocka_unit_test(test_safe_walk_frees),
        cmocka_unit_test(test_move),
#ifndef NDEBUG
        cmocka_unit_test(test_misuse_asserts),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
