/*
 * list.h: intrusive circular doubly-linked list (the libuv QUEUE idea with
 * names). Embed an ab_list in a struct, recover the struct with
 * AB_CONTAINER_OF. All operations are O(1) and never allocate.
 */
#ifndef AB_LIST_H
#define AB_LIST_H

#include <stddef.h>

typedef struct ab_list {
    struct ab_list *prev, *next;
} ab_list;

#define AB_CONTAINER_OF(ptr, type, field)                                  \
    ((type *)((char *)(ptr)-offsetof(type, field)))

static inline void ab_list_init(ab_list *l) { l->prev = l->next = l; }
static inline int ab_list_empty(const ab_list *l) { return l->next == l; }
static inline ab_list *ab_list_head(const ab_list *l) { return l->next; }
static inline ab_list *ab_list_tail(const ab_list *l) { return l->prev; }

/* Insert n after pos (pos may be the list head itself). */
static inline void ab_list_insert_after(ab_list *pos, ab_list *n)
{
    n->prev = pos;
    n->next = pos->next;
    pos->next->prev = n;
    pos->next = n;
}

static inline void ab_list_push_tail(ab_list *l, ab_list *n)
{
    ab_list_insert_after(l->prev, n);
}

/* Unlink n and leave it self-linked, so removing twice is harmless. */
static inline void ab_list_remove(ab_list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    ab_list_init(n);
}

/* Move every node of src onto the empty list dst; src is left empty. */
static inline void ab_list_move_all(ab_list *dst, ab_list *src)
{
    ab_list_init(dst);
    if (ab_list_empty(src))
        return;
    dst->next = src->next;
    dst->prev = src->prev;
    dst->next->prev = dst;
    dst->prev->next = dst;
    ab_list_init(src);
}

#endif
