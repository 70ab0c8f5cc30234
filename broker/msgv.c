/* msgv.c: multipart message vectors (see msgv.h). */
#include "msgv.h"

#include "common.h"

#include <stdlib.h>
#include <string.h>

void msgv_init(msgv *m, size_t limit)
{
    m->f = m->inl;
    m->n = 0;
    m->cap = MSGV_INLINE;
    m->limit = limit;
    m->dropped = 0;
    m->bytes = 0;
    m->wire = 0;
    m->srcfd = -1;
}

void msgv_clear(msgv *m)
{
    for (size_t i = 0; i < m->n; i++)
        zmq_msg_close(&m->f[i]);
    if (m->f != m->inl)
        free(m->f);
    msgv_init(m, m->limit);
}

/* Grow the frame array to hold one more frame. Frames are moved with
 * zmq_msg_move, never memcpy'd, to respect libzmq's ownership rules. */
static int msgv_grow(msgv *m)
{
    size_t cap = m->cap * 2;
    zmq_msg_t *f = malloc(cap * sizeof *f);
    if (!f)
        return AB_ERR;
    for (size_t i = 0; i < m->n; i++) {
        zmq_msg_init(&f[i]);
        zmq_msg_move(&f[i], &m->f[i]);
    }
    if (m->f != m->inl)
        free(m->f);
    m->f = f;
    m->cap = cap;
    return AB_OK;
}

int msgv_push(msgv *m, zmq_msg_t *frame)
{
    m->bytes += zmq_msg_size(frame);
    m->wire += msgv_frame_wire(zmq_msg_size(frame));
    if (m->n >= m->limit) {
        m->dropped++;
        zmq_msg_close(frame);
        return AB_OK;
    }
    if (m->n == m->cap && msgv_grow(m) != AB_OK) {
        zmq_msg_close(frame);
        return AB_ERR;
    }
    zmq_msg_init(&m->f[m->n]);
    zmq_msg_move(&m->f[m->n], frame);
    m->n++;
    return AB_OK;
}

int msgv_push_bytes(msgv *m, const void *data, size_t len)
{
    zmq_msg_t frame;
    if (zmq_msg_init_size(&frame, len) != 0)
        return AB_ERR;
    if (len)
        memcpy(zmq_msg_data(&frame), data, len);
    return msgv_push(m, &frame);
}

static void free_data(void *data, void *hint)
{
    AB_UNUSED(hint);
    free(data);
}

int msgv_push_owned(msgv *m, void *data, size_t len)
{
    zmq_msg_t frame;
    if (zmq_msg_init_data(&frame, data, len, free_data, NULL) != 0) {
        free(data);
        return AB_ERR;
    }
    return msgv_push(m, &frame);
}

int msgv_move_range(msgv *dst, msgv *src, size_t from)
{
    for (size_t i = from; i < src->n; i++) {
        if (msgv_push(dst, &src->f[i]) != AB_OK)
            return AB_ERR;
    }
    return AB_OK;
}

void msgv_take(msgv *dst, msgv *src)
{
    size_t limit = dst->limit;
    if (src->f != src->inl) {
        *dst = *src;
        dst->limit = limit;
        msgv_init(src, src->limit);
        return;
    }
    msgv_init(dst, limit);
    for (size_t i = 0; i < src->n; i++) {
        zmq_msg_init(&dst->f[i]);
        zmq_msg_move(&dst->f[i], &src->f[i]);
    }
    dst->n = src->n;
    dst->dropped = src->dropped;
    dst->bytes = src->bytes;
    dst->wire = src->wire;
    dst->srcfd = src->srcfd;
    msgv_init(src, src->limit);
}

void msgv_truncate(msgv *m, size_t n)
{
    while (m->n > n)
        zmq_msg_close(&m->f[--m->n]);
}

int msgv_copy_range(msgv *dst, msgv *src, size_t from)
{
    for (size_t i = from; i < src->n; i++) {
        zmq_msg_t copy;
        zmq_msg_init(&copy);
        if (zmq_msg_copy(&copy, &src->f[i]) != 0 || msgv_push(dst, &copy) != AB_OK)
            return AB_ERR;
    }
    return AB_OK;
}

long msgv_delimiter(const msgv *m)
{
    for (size_t i = 0; i < m->n; i++) {
        if (zmq_msg_size((zmq_msg_t *)&m->f[i]) == 0)
            return (long)i;
    }
    return -1;
}
