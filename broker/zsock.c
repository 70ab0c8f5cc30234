/*
 * zsock.c: ZeroMQ sockets on the libuv loop (see zsock.h for the rules on
 * ZMQ_FD edges that everything here exists to follow).
 */
#include "zsock.h"

#include "common.h"
#include "log.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

static void sched_mark(zsock *zs);
static void sched_unmark(zsock *zs);

/* Receive one whole multipart message into m. Returns 1 when a message was
 * received, 0 on EAGAIN (nothing queued), -1 on another error. Once the first
 * frame is in, libzmq guarantees the rest is there: the loop cannot block. */
static int recv_message(zsock *zs, msgv *m)
{
    int more, flags = ZMQ_DONTWAIT;
    do {
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, zs->sock, flags) < 0) {
            zmq_msg_close(&frame);
            return errno == EAGAIN ? 0 : -1;
        }
        more = zmq_msg_more(&frame);
        flags = 0;
        /* ZMQ_SRCFD is deprecated but works in libzmq 4.3 (the "__fd"
         * metadata of the engine); it names the connection for the guard. */
        if (!more && zs->want_srcfd)
            m->srcfd = zmq_msg_get(&frame, ZMQ_SRCFD);
        if (msgv_push(m, &frame) != AB_OK)
            log_error("out of memory receiving a frame; frame dropped");
    } while (more);
    return 1;
}

/* Receive and dispatch up to `budget` messages (budget < 0: no cap).
 * Returns 1 if the socket may still have input, 0 once it hit EAGAIN. */
static int process(zsock *zs, int budget)
{
    while (budget != 0 && !zs->closing) {
        msgv m;
        msgv_init(&m, zs->max_frames);
        int rc = recv_message(zs, &m);
        if (rc <= 0) {
            if (rc < 0 && errno != ETERM)
                log_warn("zmq recv failed: %s", zmq_strerror(errno));
            msgv_clear(&m);
            return 0;
        }
        zs->on_msg(zs, &m);
        msgv_clear(&m);
        if (budget > 0)
            budget--;
    }
    return !zs->closing;
}

/* One scheduled visit: process a batch; stay on the ready list while the
 * socket may still hold input. */
static void visit(zsock *zs)
{
    if (process(zs, zs->sched->batch))
        sched_mark(zs);
    else
        sched_unmark(zs);
    if (zs->on_wake && !zs->closing)
        zs->on_wake(zs);
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
    zsock *zs = handle->data;
    if (status < 0)
        log_warn("poll error on zmq socket: %s", uv_strerror(status));
    visit(zs);
}

/* Idle callback: revisit every socket on the ready list once. The list is
 * detached first so sockets re-marked during the pass wait for the next tick
 * (that is what bounds the work per tick). */
static void on_idle(uv_idle_t *idle)
{
    zsock_sched *s = idle->data;
    ab_list pass;
    ab_list_move_all(&pass, &s->ready);
    while (!ab_list_empty(&pass)) {
        zsock *zs = AB_CONTAINER_OF(ab_list_head(&pass), zsock, ready_link);
        ab_list_remove(&zs->ready_link);
        visit(zs);
    }
    if (ab_list_empty(&s->ready))
        uv_idle_stop(idle);
}

static void sched_mark(zsock *zs)
{
    if (zs->closing)
        return;
    ab_list_remove(&zs->ready_link);
    ab_list_push_tail(&zs->sched->ready, &zs->ready_link);
    uv_idle_start(&zs->sched->idle, on_idle);
}

static void sched_unmark(zsock *zs) { ab_list_remove(&zs->ready_link); }

int zsock_sched_init(uv_loop_t *loop, zsock_sched *s, int batch)
{
    if (uv_idle_init(loop, &s->idle) != 0)
        return AB_ERR;
    s->idle.data = s;
    ab_list_init(&s->ready);
    s->batch = batch;
    return AB_OK;
}

void zsock_sched_close(zsock_sched *s)
{
    uv_close((uv_handle_t *)&s->idle, NULL);
}

int zsock_init(zsock_sched *s, zsock *zs, void *zctx, int type,
               size_t max_frames, char *err, size_t errlen)
{
    memset(zs, 0, sizeof *zs);
    zs->sched = s;
    zs->max_frames = max_frames;
    ab_list_init(&zs->ready_link);
    zs->sock = zmq_socket(zctx, type);
    if (!zs->sock) {
        int e = errno;
        struct rlimit rl = {0, 0};
        getrlimit(RLIMIT_NOFILE, &rl);
        return ab_seterr(err, errlen, "zmq_socket: %s (ZMQ_MAX_SOCKETS is %d, "
                         "RLIMIT_NOFILE is %llu)", zmq_strerror(e),
                         zmq_ctx_get(zctx, ZMQ_MAX_SOCKETS), (unsigned long long)rl.rlim_cur);
    }
    return AB_OK;
}

/* See zsock_monitor_open: no event may be sent to a monitor PAIR that is
 * gone. Events after this are dropped by libzmq. */
static void stop_monitor(zsock *zs)
{
    if (zs->monitored)
        zmq_socket_monitor(zs->sock, NULL, 0);
    zs->monitored = 0;
}

void zsock_discard(zsock *zs)
{
    stop_monitor(zs);
    zmq_close(zs->sock);
    zs->sock = NULL;
}

int zsock_start(zsock *zs, zsock_msg_cb on_msg, char *err, size_t errlen)
{
    int fd;
    size_t fdlen = sizeof fd;
    if (zmq_getsockopt(zs->sock, ZMQ_FD, &fd, &fdlen) != 0)
        return ab_seterr(err, errlen, "ZMQ_FD: %s", zmq_strerror(errno));
    int rc = uv_poll_init(zs->sched->idle.loop, &zs->poll, fd);
    if (rc != 0)
        return ab_seterr(err, errlen, "uv_poll_init: %s", uv_strerror(rc));
    zs->poll.data = zs;
    zs->on_msg = on_msg;
    /* Cannot fail once uv_poll_init succeeded: it only checks the mask. */
    (void)uv_poll_start(&zs->poll, UV_READABLE, on_poll);
    /* Messages may have arrived before the poll started: look now. */
    sched_mark(zs);
    return AB_OK;
}

int zsock_send(zsock *zs, msgv *m)
{
    int rc = AB_OK, err = 0;
    for (size_t i = 0; i < m->n; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < m->n ? ZMQ_SNDMORE : 0);
        if (zmq_msg_send(&m->f[i], zs->sock, flags) < 0) {
            err = errno;
            rc = AB_ERR;
            break;
        }
    }
    msgv_clear(m);
    sched_mark(zs); /* the send may have eaten a read edge (rule 2) */
    errno = err;
    return rc;
}

int zsock_drain(zsock *zs, int budget) { return process(zs, budget); }

static void on_poll_closed(uv_handle_t *handle)
{
    zsock *zs = handle->data;
    /* Only now is the fd out of epoll, so only now may ZMQ close it. */
    zmq_close(zs->sock);
    zs->sock = NULL;
    if (zs->on_close)
        zs->on_close(zs);
}

void zsock_close(zsock *zs, zsock_close_cb cb)
{
    stop_monitor(zs);
    zs->closing = 1;
    zs->on_close = cb;
    sched_unmark(zs);
    uv_close((uv_handle_t *)&zs->poll, on_poll_closed);
}

int zsock_events(zsock *zs)
{
    int events = 0;
    size_t len = sizeof events;
    if (zmq_getsockopt(zs->sock, ZMQ_EVENTS, &events, &len) != 0)
        return 0;
    if (events & ZMQ_POLLIN)
        sched_mark(zs);
    return events;
}

int zsock_monitor_open(zsock_sched *s, zsock *mon, void *zctx, zsock *zs,
                       int events, char *err, size_t errlen)
{
    static unsigned long seq;
    char addr[64];
    int zero = 0;
    snprintf(addr, sizeof addr, "inproc://agentbus-monitor-%lu", ++seq);
    if (zmq_socket_monitor(zs->sock, addr, events) != 0)
        return ab_seterr(err, errlen, "zmq_socket_monitor: %s", zmq_strerror(errno));
    zs->monitored = 1;
    if (zsock_init(s, mon, zctx, ZMQ_PAIR, 2, err, errlen) != AB_OK) {
        stop_monitor(zs);
        return AB_ERR;
    }
    if (zmq_setsockopt(mon->sock, ZMQ_RCVHWM, &zero, sizeof zero) != 0 ||
        zmq_connect(mon->sock, addr) != 0) {
        ab_seterr(err, errlen, "monitor connect: %s", zmq_strerror(errno));
        stop_monitor(zs);
        zsock_discard(mon);
        return AB_ERR;
    }
    return AB_OK;
}

/* Monitor messages are [event u16 + value u32][endpoint] (host order). */
int zsock_monitor_event(msgv *m, int *event, int *value)
{
    uint16_t ev;
    uint32_t val;
    if (m->n < 1 || msgv_size(m, 0) < sizeof ev + sizeof val)
        return AB_ERR;
    memcpy(&ev, msgv_data(m, 0), sizeof ev);
    memcpy(&val, (const char *)msgv_data(m, 0) + sizeof ev, sizeof val);
    *event = ev;
    *value = (int)val;
    return AB_OK;
}
