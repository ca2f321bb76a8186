/* The one intrusive list: doubly linked and circular, like libuv's queue.h
 * or h2o's linklist. A list_t head is its own anchor; an element embeds a
 * list_t node and gets back to itself with LIST_ENTRY. Nothing allocates,
 * so a list never owns its elements: whoever links one frees it.
 *
 * A head must be list_init'ed. A node needs no init: a zeroed node (calloc)
 * is unlinked, as is one list_remove'd, so list_is_linked can tell whether
 * an element is still on a list. Linking a linked node or removing an
 * unlinked one would corrupt the list: both are asserted. */
#ifndef AGENTOS_CORE_LIST_H
#define AGENTOS_CORE_LIST_H

#include <assert.h>
#include <stddef.h>

typedef struct list {
    struct list *next, *prev;
} list_t;

/* The element of type that holds node ptr in its field. */
#define LIST_ENTRY(ptr, type, field) ((type *)(void *)((char *)(ptr)-offsetof(type, field)))

/* Each node of head, first to last; the body must not remove node. */
#define LIST_FOREACH(node, head)                                                                   \
    for ((node) = (head)->next; (node) != (head); (node) = (node)->next)

/* The same, reading the next node first: the body may remove (and free)
 * node, but not the node after it. */
#define LIST_FOREACH_SAFE(node, tmp, head)                                                         \
    for ((node) = (head)->next, (tmp) = (node)->next; (node) != (head);                            \
         (node) = (tmp), (tmp) = (node)->next)

static inline void list_init(list_t *head)
{
    head->next = head->prev = head;
}

static inline int list_is_empty(const list_t *head)
{
    assert(head->next != NULL); /* a head that was never list_init'ed */
    return head->next == head;
}

static inline int list_is_linked(const list_t *node)
{
    return node->next != NULL;
}

static inline void list_link_between_(list_t *node, list_t *prev, list_t *next)
{
    assert(!list_is_linked(node));
    assert(prev != NULL && next != NULL); /* neighbours of a list_init'ed head */
    assert(prev->next == next && next->prev == prev);
    node->prev = prev;
    node->next = next;
    prev->next = node;
    next->prev = node;
}

/* Makes node the last of head (FIFO order with list_first). */
static inline void list_insert_tail(list_t *head, list_t *node)
{
    list_link_between_(node, head->prev, head);
}

/* Makes node the first of head (LIFO order with list_first). */
static inline void list_insert_head(list_t *head, list_t *node)
{
    list_link_between_(node, head, head->next);
}

/* Unlinks node from whatever list holds it; it is unlinked after. */
static inline void list_remove(list_t *node)
{
    assert(list_is_linked(node));
    assert(node->prev->next == node && node->next->prev == node);
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->next = node->prev = NULL;
}

/* The first node of head, or NULL when it is empty. */
static inline list_t *list_first(const list_t *head)
{
    return list_is_empty(head) ? NULL : head->next;
}

/* The node after node on head, or NULL when node is the last. */
static inline list_t *list_next(const list_t *head, const list_t *node)
{
    assert(list_is_linked(node));
    return node->next == head ? NULL : node->next;
}

/* Moves every node of from, in order, to the end of to; from is empty
 * after. For taking a shared list's whole content under a lock and
 * working through it after the lock is let go. */
static inline void list_move(list_t *from, list_t *to)
{
    if (list_is_empty(from))
        return;
    assert(to->next != NULL);
    from->next->prev = to->prev;
    to->prev->next = from->next;
    from->prev->next = to;
    to->prev = from->prev;
    list_init(from);
}

#endif
