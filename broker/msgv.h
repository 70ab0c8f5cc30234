/*
 * msgv.h: one multipart ZMQ message as a vector of frames.
 *
 * Frames are zmq_msg_t, so bodies are never copied: they move from the
 * socket that received them to the socket that sends them. A msgv keeps at
 * most `limit` frames; further frames of the same message are received and
 * released at once (so the socket stays in step) and only counted in
 * `dropped`, which is how oversized messages are refused without memory
 * growing with the frame count.
 */
#ifndef AB_MSGV_H
#define AB_MSGV_H

#include <stddef.h>
#include <zmq.h>

#define MSGV_INLINE 6 /* covers [id][delimiter][body] and a few more */

typedef struct msgv {
    zmq_msg_t *f;     /* frames: inl or a heap array */
    size_t n;         /* frames held */
    size_t cap;       /* capacity of f */
    size_t limit;     /* frames held at most */
    size_t dropped;   /* frames received beyond limit and released */
    size_t bytes;     /* bytes of all frames, held or dropped */
    size_t wire;      /* the same frames as ZMTP carries them (with headers) */
    int srcfd;        /* connection it came from (zsock want_srcfd), or -1 */
    zmq_msg_t inl[MSGV_INLINE];
} msgv;

void msgv_init(msgv *m, size_t limit);
/* Release every frame and any heap storage; m is re-initialised. */
void msgv_clear(msgv *m);
/* Take ownership of *frame (moved); AB_ERR only when out of memory. */
int msgv_push(msgv *m, zmq_msg_t *frame);
/* Append a new frame holding a copy of len bytes at data. */
int msgv_push_bytes(msgv *m, const void *data, size_t len);
/* Append a frame that takes over data (malloc'ed, len bytes): libzmq
 * frees it once the frame is sent or closed. On AB_ERR data is freed. */
int msgv_push_owned(msgv *m, void *data, size_t len);
/* Move frames [from, src->n) of src to the end of dst. */
int msgv_move_range(msgv *dst, msgv *src, size_t from);
/* Copy frames [from, src->n) of src to the end of dst. Large frames are
 * shared by reference count, not copied byte by byte. */
int msgv_copy_range(msgv *dst, msgv *src, size_t from);
/* Move all of src into the empty dst (dst keeps its limit); src is left
 * empty. */
void msgv_take(msgv *dst, msgv *src);
/* Release frames [n, m->n). */
void msgv_truncate(msgv *m, size_t n);

/* Bytes a frame of `size` bytes takes on the wire: the ZMTP/2.0 and 3.x
 * header is a flags octet and a 1-octet size up to 255, 8 octets above. */
#define MSGV_MAX_HEADER 9
static inline size_t msgv_frame_wire(size_t size)
{
    return size + (size <= 255 ? 2 : MSGV_MAX_HEADER);
}

/* Index of the first empty frame, or -1: the REQ envelope delimiter. */
long msgv_delimiter(const msgv *m);

static inline size_t msgv_size(const msgv *m, size_t i)
{
    return zmq_msg_size(&m->f[i]);
}

static inline const void *msgv_data(msgv *m, size_t i)
{
    return zmq_msg_data(&m->f[i]);
}

#endif
