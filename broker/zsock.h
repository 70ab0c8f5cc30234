/*
 * zsock.h: a ZeroMQ socket driven by the libuv loop.
 *
 * libzmq exposes readiness through ZMQ_FD, which is edge-triggered: the fd
 * fires when ZMQ_EVENTS *may* have changed, and any send or recv on the
 * socket can consume that edge. So the rules are:
 *   1. on every fd wake-up, receive until EAGAIN;
 *   2. after every send (and after a batch cut short), look at the socket
 *      again on the next loop tick, because the edge may have been eaten;
 *   3. receive at most `batch` messages per socket per tick, so one busy
 *      socket cannot starve the others.
 * Rule 2 and 3 share one mechanism: a "ready list" of sockets to revisit,
 * drained by a uv_idle handle that runs only while the list is non-empty.
 *
 * Lifecycle (as for libuv handles):
 *   zsock_init()    creates the ZMQ socket only; the owner then sets options,
 *                   binds or connects. Every fallible step happens here, so
 *                   a failure is undone synchronously with zsock_discard().
 *   zsock_start()   registers the socket with the loop. On AB_ERR nothing
 *                   was registered and zsock_discard() still applies.
 *   zsock_close()   after a successful start, the only way out. It is
 *                   asynchronous; its callback is the only place the owner
 *                   may free the memory holding the zsock.
 */
#ifndef AB_ZSOCK_H
#define AB_ZSOCK_H

#include "list.h"
#include "msgv.h"

#include <uv.h>

typedef struct zsock zsock;
typedef struct zsock_sched zsock_sched;

/* Called once per received multipart message. The callee may move frames
 * out of m; whatever remains is released after the call returns. */
typedef void (*zsock_msg_cb)(zsock *zs, msgv *m);
typedef void (*zsock_close_cb)(zsock *zs);
/* Called after every visit of the socket (its fd fired, or it was on the
 * ready list): libzmq may have processed commands (a pipe attached or
 * detached), so ZMQ_EVENTS may have changed. */
typedef void (*zsock_wake_cb)(zsock *zs);

/* The ready list and its idle handle; one per loop. */
struct zsock_sched {
    uv_idle_t idle;
    ab_list ready;
    int batch; /* messages per socket per tick */
};

struct zsock {
    void *sock;          /* the ZMQ socket */
    void *data;          /* owner's pointer */
    uv_poll_t poll;
    zsock_sched *sched;
    zsock_msg_cb on_msg;
    zsock_close_cb on_close;
    zsock_wake_cb on_wake; /* optional; set before zsock_start */
    size_t max_frames;   /* frames kept per message (msgv limit) */
    int want_srcfd;      /* fill msgv.srcfd (ZMQ_SRCFD) on every message */
    int monitored;       /* a socket monitor is attached (see below) */
    ab_list ready_link;  /* on sched->ready when it must be revisited */
    int closing;
};

int zsock_sched_init(uv_loop_t *loop, zsock_sched *s, int batch);
void zsock_sched_close(zsock_sched *s); /* no callback: embedded handle */

/* Create a ZMQ socket of `type` on ctx (nothing registered with the loop). */
int zsock_init(zsock_sched *s, zsock *zs, void *zctx, int type,
               size_t max_frames, char *err, size_t errlen);
/* Close a socket that was never started. Synchronous. */
void zsock_discard(zsock *zs);
/* Watch the socket on the loop; on_msg runs for every message. */
int zsock_start(zsock *zs, zsock_msg_cb on_msg, char *err, size_t errlen);
/* Send every frame of m (consumed in all cases). AB_ERR with errno set when
 * the first frame could not be queued (EAGAIN, EHOSTUNREACH). */
int zsock_send(zsock *zs, msgv *m);
/* Receive and dispatch what is queued now, up to budget messages (< 0: no
 * cap), ignoring the batch cap. Used before acting on a disconnect, so
 * replies already here are not lost, and by the guard before it samples.
 * Returns 1 if the budget ran out before the socket was empty. */
int zsock_drain(zsock *zs, int budget);
void zsock_close(zsock *zs, zsock_close_cb cb);

/* ZMQ_EVENTS of the socket (0 on error). Reading it makes libzmq process
 * pending commands, which can eat a read edge: if input is waiting, the
 * socket is put on the ready list (rule 2). */
int zsock_events(zsock *zs);

/* Attach a ZMQ socket monitor to zs (events: a ZMQ_EVENT_* mask) and
 * create mon, the PAIR that receives it (not started). The PAIR's queue is
 * unbounded (RCVHWM 0): a lost DISCONNECTED would leave a dead connection
 * guarded, a lost CONNECTED a live backend unused. The internal PAIR
 * libzmq creates for a monitor is a socket too: a monitor costs two.
 *
 * libzmq sends monitor events with blocking sends from its I/O thread, and
 * a monitored socket emits some while it terminates (its listener's
 * CLOSED, its connections' DISCONNECTED): had mon already gone, that send
 * would block the I/O thread for good. So closing or discarding zs stops
 * its monitor first, and mon must be closed together with or after zs. */
int zsock_monitor_open(zsock_sched *s, zsock *mon, void *zctx, zsock *zs,
                       int events, char *err, size_t errlen);
/* Decode a monitor message: AB_ERR if it is not one. */
int zsock_monitor_event(msgv *m, int *event, int *value);

#endif
