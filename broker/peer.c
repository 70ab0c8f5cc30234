/*
 * peer.c: the links to one other host (see peer.h): its channels, their
 * sessions, and the requests in flight on them.
 *
 * A channel's state changes only in chan_set_state(), which aborts on any
 * transition not drawn here:
 *
 *     IDLE --connected, HELLO sent--> HELLO --far HELLO ok--> UP
 *       ^                               |  \                   |
 *       |                               |   +--refused--> REFUSED
 *       +---------- down (disconnected, silent, GOODBYE, new epoch) ---+
 *
 * Going down from UP answers everything in flight on the channel
 * `unavailable`; the connection is cut (shutdown(2), as the guard does)
 * unless it is gone already, and libzmq reconnects by itself.
 */
#include "peer.h"

#include "broker.h"
#include "common.h"
#include "keys.h"
#include "log.h"
#include "service.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frames of a message: envelope, body. */
#define PEER_MAX_FRAMES (REG_MAX_FRAMES_MAX + 1)
/* How often channels are looked at, as a fraction of heartbeat_ms. */
#define PEER_TICKS_PER_HEARTBEAT 4

static void chan_down(peer_chan *ch, const char *why, int cut);

static const char *const chan_names[] = {
#define PEER_CHAN_NAME(sym, name) name,
    PEER_CHAN_STATES(PEER_CHAN_NAME)
#undef PEER_CHAN_NAME
};

/* Allowed transitions, [from][to]. */
static const unsigned char chan_allowed[4][4] = {
    [CHAN_IDLE] = {[CHAN_HELLO] = 1},
    [CHAN_HELLO] = {[CHAN_UP] = 1, [CHAN_REFUSED] = 1, [CHAN_IDLE] = 1},
    [CHAN_UP] = {[CHAN_IDLE] = 1},
    [CHAN_REFUSED] = {[CHAN_IDLE] = 1},
};

static void chan_set_state(peer_chan *ch, peer_chan_state to)
{
    if (!chan_allowed[ch->state][to]) {
        log_error("BUG: link %s channel %d: impossible transition %s -> %s",
                  ch->p->host, ch->index, chan_names[ch->state], chan_names[to]);
        abort();
    }
    if (ch->state == CHAN_UP)
        ch->p->st.up--;
    if (to == CHAN_UP)
        ch->p->st.up++;
    ch->state = to;
}

static int curve(const peer *p) { return !p->br->opts.link_plaintext; }

static uint64_t now_ms(const peer *p) { return uv_now(p->br->loop); }

static const reg_links *knobs(const peer *p) { return &p->cfg; }

static void set_why(peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_why(peer *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->why, sizeof p->why, fmt, ap);
    va_end(ap);
}

/* Requests of services hosted on p's host may go now: dispatch them. */
static void kick(peer *p)
{
    broker *br = p->br;
    for (size_t i = 0; i < br->nsvcs; i++) {
        if (br->svcs[i] && br->svcs[i]->peer == p)
            svc_dispatch(br->svcs[i]);
    }
}

/* ---------------------------------------------------------- sending -- */

/* Send [envelope of msg][body] on ch (body may be NULL, consumed). */
static int chan_send(peer_chan *ch, const ab_link_msg *msg, msgv *body)
{
    msgv out;
    msgv_init(&out, (size_t)-1);
    if (linkio_put_env(&out, msg, body ? body->n : 0) != AB_OK ||
        (body && msgv_move_range(&out, body, 0) != AB_OK)) {
        msgv_clear(&out);
        return AB_ERR;
    }
    if (linkio_send(&ch->dealer, &ch->conns, conn_find(&ch->conns, ch->fd), &out,
                    &ch->p->st) != AB_OK)
        return AB_ERR;
    return AB_OK;
}

static void send_hello(peer_chan *ch)
{
    broker *br = ch->p->br;
    ab_link_msg m;
    linkio_hello(&m, br->epoch, knobs(ch->p)->heartbeat_ms, br->opts.host);
    if (chan_send(ch, &m, NULL) != AB_OK)
        return; /* the pipe is not attached yet: tried again at the next wake */
    ch->sess.last_heard = now_ms(ch->p); /* the far HELLO is due from now */
    chan_set_state(ch, CHAN_HELLO);
}

static void send_goodbye(peer_chan *ch, ab_link_bye reason, const char *text)
{
    ab_link_msg m;
    linkio_goodbye(&m, reason, text);
    chan_send(ch, &m, NULL);
}

/* The channel for the next request: up, not stalled, fewest in flight. */
static peer_chan *pick(peer *p)
{
    peer_chan *best = NULL;
    for (int i = 0; i < p->nchans; i++) {
        peer_chan *ch = &p->chans[i];
        if (ch->state == CHAN_UP && !ch->stalled &&
            (!best || ch->ninflight < best->ninflight))
            best = ch;
    }
    return best;
}

/* REQUEST for r on ch: the body is shared with r (or its msgpack), so a
 * refused send leaves r as it was. */
static int send_request(peer_chan *ch, request *r)
{
    peer *p = ch->p;
    service *svc = r->svc;
    uint64_t now = now_ms(p);
    int left = r->deadline > now ? (int)(r->deadline - now) : 1;
    ab_link_msg m = {.version = ch->sess.version, .type = AB_LINK_REQUEST};
    msgv body;
    m.u.request.id = req_id64(r);
    m.u.request.deadline_ms = (uint32_t)(left > knobs(p)->margin_ms ? left - knobs(p)->margin_ms : 1);
    m.u.request.service.p = svc->name;
    m.u.request.service.len = strlen(svc->name);
    msgv_init(&body, (size_t)-1);
    int ok = svc->cfg->transcode == REG_TRANSCODE_AUTO && (ch->sess.flags & AB_LINK_F_TRANSCODE);
    if (linkio_body_out(&p->br->lbufs, &r->msg, r->env_frames, ok, &body,
                        &m.u.request.encoding, &m.u.request.style, &p->st) != AB_OK ||
        chan_send(ch, &m, &body) != AB_OK) {
        msgv_clear(&body);
        return AB_ERR;
    }
    msgv_clear(&body);
    return AB_OK;
}

int peer_send(peer *p, request *r)
{
    peer_chan *ch;
    while ((ch = pick(p)) != NULL) {
        if (send_request(ch, r) != AB_OK) {
            ch->stalled = 1; /* a full queue: try it again at the tick */
            continue;
        }
        msgv_truncate(&r->msg, r->env_frames); /* body sent; keep the envelope */
        r->t_sent = stats_clock(p->series); /* stats hook */
        req_set_state(r, REQ_INFLIGHT);
        r->chan = ch;
        ab_list_remove(&r->link); /* off the service queue */
        ab_list_push_tail(&ch->inflight, &r->link);
        ch->ninflight++;
        p->st.requests++;
        p->st.inflight++;
        return AB_OK;
    }
    return AB_ERR;
}

void peer_forget(request *r)
{
    peer_chan *ch = r->chan;
    ab_list_remove(&r->link);
    ch->ninflight--;
    ch->p->st.inflight--;
    r->chan = NULL;
}

void peer_abandon(request *r)
{
    peer_chan *ch = r->chan;
    ab_link_msg m = {.version = ch->sess.version, .type = AB_LINK_CANCEL};
    if (ch->state != CHAN_UP)
        return;
    m.u.cancel_id = req_id64(r);
    ch->p->st.cancels++;
    chan_send(ch, &m, NULL);
}

int peer_up(const peer *p)
{
    for (int i = 0; i < p->nchans; i++) {
        if (p->chans[i].state == CHAN_UP && !p->chans[i].stalled)
            return 1;
    }
    return 0;
}

const char *peer_why(const peer *p) { return p->why; }

/* ---------------------------------------------------------- receiving -- */

/* The far agent's reply, or the far broker's error, for request id. */
static void on_reply(peer_chan *ch, msgv *m, const ab_link_reply *rp)
{
    peer *p = ch->p;
    request *r = req_lookup64(&p->br->pool, rp->id);
    char text[AB_LINK_TEXT_MAX + 1], why[AB_ERRLEN + AB_LINK_TEXT_MAX];
    svc_error code;
    msgv body;
    if (!r || r->chan != ch) {
        p->st.late_replies++;
        return;
    }
    stats_record_since(p->series, HIST_link_request_time, r->t_sent); /* stats hook */
    if (rp->status != AB_LINK_ST_OK) {
        p->st.error_replies++;
        linkio_name(&rp->text, text, sizeof text);
        ab_strfmt(why, sizeof why, "host %s: %s", p->host, text);
        svc_link_fail(r->svc, r, linkio_error_of(rp->status), why);
        return;
    }
    p->st.replies++;
    if (m->dropped) {
        ab_strfmt(why, sizeof why, "reply has more than %d body frames", REG_MAX_FRAMES_MAX);
        svc_link_fail(r->svc, r, ERR_TOO_LARGE, why);
        return;
    }
    msgv_init(&body, (size_t)-1);
    if (linkio_body_in(m, 1, rp->encoding, rp->style, r->svc->cfg->max_msg_bytes, &body,
                       &code, text, sizeof text, &p->st) != AB_OK) {
        ab_strfmt(why, sizeof why, "reply from host %s: %s", p->host, text);
        svc_link_fail(r->svc, r, code == ERR_BAD_REQUEST ? ERR_BAD_REPLY : code, why);
    } else {
        svc_link_reply(r->svc, r, &body);
    }
    msgv_clear(&body);
}

/* Log a refusal once per channel until it comes up again. */
static void refused(peer_chan *ch, const char *reason, const char *detail)
{
    ch->p->st.rejected++;
    if (ch->refusal_logged)
        return;
    ch->refusal_logged = 1;
    log_warn("link rejected peer=%s endpoint=%s side=out chan=%d reason=%s %s",
             ch->p->host, ch->p->endpoint, ch->index, reason, detail);
}

/* Other channels still up are on the far broker's previous life. */
static void on_new_epoch(peer_chan *ch)
{
    peer *p = ch->p;
    for (int i = 0; i < p->nchans; i++) {
        if (&p->chans[i] != ch && p->chans[i].state == CHAN_UP)
            chan_down(&p->chans[i], "peer restarted (new epoch)", 1);
    }
}

static void on_hello(peer_chan *ch, const ab_link_hello *h)
{
    peer *p = ch->p;
    char name[REG_NAME_MAX + 1], why[AB_ERRLEN];
    linkio_name(&h->host, name, sizeof name);
    if (ch->state != CHAN_HELLO)
        return; /* a duplicate: the session is settled */
    if (strcmp(name, p->host) != 0) {
        ab_strfmt(why, sizeof why, "hello=%s (not the host dialled)", name);
        refused(ch, "identity", why);
        chan_set_state(ch, CHAN_REFUSED);
        return;
    }
    if (linkio_accept_hello(&ch->sess, h, why, sizeof why) != AB_OK) {
        refused(ch, "version", why);
        send_goodbye(ch, AB_LINK_BYE_VERSION, "no protocol version in common");
        chan_set_state(ch, CHAN_REFUSED);
        return;
    }
    if (p->epoch && p->epoch != h->epoch)
        on_new_epoch(ch);
    p->epoch = h->epoch;
    chan_set_state(ch, CHAN_UP);
    ch->refusal_logged = 0;
    ch->redial_ms = 0;
    p->st.ups++;
    if (curve(p))
        log_info("link up peer=%s endpoint=%s side=out chan=%d version=%d", p->host,
                 p->endpoint, ch->index, ch->sess.version);
    else
        log_warn("link up peer=%s endpoint=%s side=out chan=%d version=%d plaintext "
                 "(NOT encrypted, NOT authenticated: --link-plaintext)", p->host,
                 p->endpoint, ch->index, ch->sess.version);
    kick(p);
}

static void on_goodbye(peer_chan *ch, const ab_link_goodbye *g)
{
    char text[AB_LINK_TEXT_MAX + 1], why[AB_LINK_TEXT_MAX + 64];
    linkio_name(&g->text, text, sizeof text);
    ab_strfmt(why, sizeof why, "goodbye:%s %s", ab_link_bye_name(g->reason), text);
    if (ch->state == CHAN_HELLO && g->reason != AB_LINK_BYE_SHUTDOWN)
        refused(ch, ab_link_bye_name(g->reason), text);
    chan_down(ch, why, 1);
}

static void on_ping(peer_chan *ch, const ab_link_ping *ping)
{
    ab_link_msg pong = {.version = ch->sess.version, .type = AB_LINK_PONG};
    pong.u.ping.t = ping->t;
    pong.u.ping.t_peer = uv_hrtime();
    chan_send(ch, &pong, NULL);
}

static void on_message(peer_chan *ch, msgv *m, const ab_link_msg *msg)
{
    peer *p = ch->p;
    switch (msg->type) {
    case AB_LINK_HELLO: on_hello(ch, &msg->u.hello); break;
    case AB_LINK_GOODBYE: on_goodbye(ch, &msg->u.goodbye); break;
    case AB_LINK_REPLY:
        if (ch->state == CHAN_UP)
            on_reply(ch, m, &msg->u.reply);
        break;
    case AB_LINK_PING: on_ping(ch, &msg->u.ping); break;
    case AB_LINK_PONG: linkio_pong(p->series, msg->u.ping.t); break;
    default: p->st.bad_messages++; break; /* a REQUEST or CANCEL: not ours */
    }
}

static void on_msg(zsock *zs, msgv *m)
{
    peer_chan *ch = zs->data;
    peer *p = ch->p;
    ab_link_msg msg;
    char who[160];
    conn_read(&ch->conns, m);
    p->st.wire_in += conn_wire(&ch->conns, m);
    ch->sess.last_heard = now_ms(p);
    ab_link_err e = linkio_parse(m, 0, &msg);
    if (e == AB_LINK_OK) {
        ch->sess.bad_row = 0;
        on_message(ch, m, &msg);
        return;
    }
    ab_strfmt(who, sizeof who, "peer=%s side=out chan=%d", p->host, ch->index);
    if (linkio_bad(&ch->sess, &p->st, e, who)) {
        send_goodbye(ch, AB_LINK_BYE_PROTOCOL, "too many malformed messages");
        chan_down(ch, "too many malformed messages", 1);
    }
}

/* ------------------------------------------------------ the session -- */

/* Fail what is in flight on ch, say why, and cut its connection (cut)
 * so that a new session starts on a new one. */
static void chan_down(peer_chan *ch, const char *why, int cut)
{
    peer *p = ch->p;
    char text[AB_ERRLEN];
    if (ch->state == CHAN_UP) {
        p->st.downs++;
        log_warn("link down peer=%s endpoint=%s side=out chan=%d reason=%s inflight=%zu",
                 p->host, p->endpoint, ch->index, why, ch->ninflight);
    }
    if (ch->state != CHAN_IDLE) {
        chan_set_state(ch, CHAN_IDLE);
        set_why(p, "link %s", why); /* else a refused handshake's stays */
    }
    ab_strfmt(text, sizeof text, "link to host %s lost (%s) before the reply", p->host, why);
    while (!ab_list_empty(&ch->inflight)) {
        request *r = AB_CONTAINER_OF(ab_list_head(&ch->inflight), request, link);
        p->st.failed++;
        svc_link_fail(r->svc, r, ERR_UNAVAILABLE, text);
    }
    if (cut && ch->fd >= 0)
        conn_shutdown(conn_find(&ch->conns, ch->fd));
    if (!p->closing)
        kick(p); /* waiting requests may go on another channel */
}

/* Ready to talk: connected and the CURVE handshake done (a peer broker
 * speaks ZMTP 3, which reports it), so a refused one never sees a HELLO. */
static void check_ready(peer_chan *ch)
{
    if (ch->state == CHAN_IDLE && ch->fd >= 0 && ch->handshake == 1 && !ch->p->closing)
        send_hello(ch);
}

/* libzmq gives up on a connection whose handshake failed (a protocol
 * error ends its session): dial again later, waiting longer each time,
 * so a key the far broker admits after its next reload gets through. */
static void schedule_redial(peer_chan *ch)
{
    const reg_links *cfg = knobs(ch->p);
    if (ch->redial_ms < cfg->reconnect_ms)
        ch->redial_ms = cfg->reconnect_ms;
    ch->redial_at = now_ms(ch->p) + (uint64_t)ch->redial_ms;
    ch->redial_ms = ch->redial_ms * 2 > cfg->reconnect_max_ms ? cfg->reconnect_max_ms
                                                               : ch->redial_ms * 2;
}

/* Drop the endpoint's session and with it what libzmq had not written to
 * the wire: requests chan_down answers must not reach the peer on the next
 * connection (the DEALER has no ZMQ_IMMEDIATE, which would have discarded
 * the replies and GOODBYE that came with the close). Linger 0 for this
 * only: with a linger the session would wait, and could reconnect. */
static void forget_endpoint(peer_chan *ch)
{
    int zero = 0, linger = ch->p->br->opts.linger_ms;
    zmq_setsockopt(ch->dealer.sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_disconnect(ch->dealer.sock, ch->p->endpoint);
    zmq_setsockopt(ch->dealer.sock, ZMQ_LINGER, &linger, sizeof linger);
}

static void redial(peer_chan *ch)
{
    ch->redial_at = 0;
    ch->p->st.reconnects++;
    forget_endpoint(ch); /* the dead session, if on_disconnected did not */
    if (zmq_connect(ch->dealer.sock, ch->p->endpoint) != 0)
        log_error("link to %s: connect %s: %s", ch->p->host, ch->p->endpoint,
                  zmq_strerror(errno));
}

static void on_handshake_failed(peer_chan *ch, int event, int status)
{
    char detail[160];
    ch->handshake = -1;
    schedule_redial(ch);
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        ab_strfmt(detail, sizeof detail, "status=%d (the far broker does not admit "
                  "this host's key)", status);
        refused(ch, "auth", detail);
        set_why(ch->p, "link refused: host %s does not admit this host's key", ch->p->host);
    } else {
        refused(ch, "handshake", "(not a CURVE link server with the registry's "
                "public_key for this host)");
        set_why(ch->p, "link handshake with host %s failed", ch->p->host);
    }
}

/* The current connection closed. libzmq (4.3) ends an endpoint for good,
 * without reconnecting, after a protocol error: a peer that is not a ZMTP 3
 * CURVE server (an HTTP server, a proxy) during the handshake, a frame over
 * ZMQ_MAXMSGSIZE after it. Dialling again ourselves, with backoff, keeps
 * the link trying whatever the cause. */
static void on_disconnected(peer_chan *ch)
{
    ch->fd = -1;
    forget_endpoint(ch);
    if (ch->handshake == 0) {
        refused(ch, "handshake", "(the far end closed the connection during the ZMTP "
                "handshake: not an agentbus link server?)");
        set_why(ch->p, "link handshake with host %s failed", ch->p->host);
    }
    if (ch->handshake != -1) /* else on_handshake_failed scheduled it */
        schedule_redial(ch);
    chan_down(ch, "disconnected", 0);
}

static void on_monitor(zsock *zs, msgv *m)
{
    peer_chan *ch = zs->data;
    int event, value;
    if (zsock_monitor_event(m, &event, &value) != AB_OK)
        return;
    if (event == ZMQ_EVENT_CONNECTED) {
        ch->fd = value;
        ch->handshake = 0;
        conn_accepted(&ch->conns, value);
    } else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        ch->handshake = 1; /* of ch->fd: libzmq's value is 0, not the fd */
        conn_handshaken(&ch->conns, ch->fd);
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
        ch->stalled |= value == ch->fd; /* the replies read next send no more on it */
        zsock_drain(&ch->dealer, -1); /* replies that made it before the drop */
        if (value == ch->fd)
            on_disconnected(ch);
        conn_gone(&ch->conns, value);
    } else if (event == ZMQ_EVENT_CONNECT_RETRIED) {
        ch->p->st.reconnects++;
    } else if (event & (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                        ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)) {
        on_handshake_failed(ch, event, value);
    }
    check_ready(ch);
}

static void tick_chan(peer_chan *ch, uint64_t now)
{
    const reg_links *cfg = knobs(ch->p);
    char why[64];
    ch->stalled = 0;
    if (ch->redial_at && now >= ch->redial_at)
        redial(ch);
    if ((ch->state == CHAN_UP || ch->state == CHAN_HELLO) &&
        linkio_silent(&ch->sess, now, cfg->down_ms)) {
        ab_strfmt(why, sizeof why, "silent for %llu ms",
                  (unsigned long long)(now - ch->sess.last_heard));
        chan_down(ch, why, 1);
    } else if (ch->state == CHAN_UP && linkio_ping_due(&ch->sess, now, cfg->heartbeat_ms)) {
        ab_link_msg m = {.version = ch->sess.version, .type = AB_LINK_PING};
        m.u.ping.t = uv_hrtime();
        ch->sess.last_ping = now;
        ch->p->st.pings++;
        chan_send(ch, &m, NULL);
    }
}

static void on_tick(uv_timer_t *t)
{
    peer *p = t->data;
    uint64_t now = now_ms(p);
    for (int i = 0; i < p->nchans; i++)
        tick_chan(&p->chans[i], now);
    kick(p); /* stalled channels take requests again */
}

/* ----------------------------------------------------------- the guard -- */

/* The largest partial reply a far broker may hold: a reply of the
 * service's max_msg_bytes, across all services of the host. */
static size_t guard_bound(const conn_set *s)
{
    const peer_chan *ch = s->owner;
    const registry *reg = ch->p->br->reg;
    size_t most = 0;
    for (size_t i = 0; i < reg->nservices; i++) {
        if (strcmp(reg->services[i].host, ch->p->host) == 0 &&
            reg->services[i].max_msg_bytes > most)
            most = reg->services[i].max_msg_bytes;
    }
    return most + AB_LINK_ENVELOPE_MAX + PEER_MAX_FRAMES * (MSGV_MAX_HEADER + s->frame_extra) +
           GUARD_SLACK;
}

static void guard_describe(const conn_set *s, char *buf, size_t len)
{
    const peer_chan *ch = s->owner;
    ab_strfmt(buf, len, "link=%s peer=%s side=out chan=%d", ch->p->endpoint, ch->p->host,
              ch->index);
}

static void guard_cut(conn_set *s, guard_reason why)
{
    peer_chan *ch = s->owner;
    ch->p->st.guard_cuts++;
}

static const conn_ops peer_conn_ops = {
    .bound = guard_bound,
    .describe = guard_describe,
    .cut = guard_cut,
};

/* ---------------------------------------------------------- lifecycle -- */

/* Options of a channel's DEALER (copied into its connection at connect
 * time: a reload that changes them replaces the peer). */
static int set_options(peer *p, void *sock)
{
    broker *br = p->br;
    const reg_links *cfg = knobs(p);
    int64_t ceiling = REG_MAX_MSG_BYTES_MAX + AB_LINK_ENVELOPE_MAX;
    int rc = zmq_setsockopt(sock, ZMQ_LINGER, &br->opts.linger_ms, sizeof br->opts.linger_ms);
    rc |= zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &ceiling, sizeof ceiling);
    rc |= zmq_setsockopt(sock, ZMQ_SNDHWM, &cfg->hwm, sizeof cfg->hwm);
    rc |= zmq_setsockopt(sock, ZMQ_RCVHWM, &cfg->hwm, sizeof cfg->hwm);
    rc |= zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &cfg->reconnect_ms, sizeof cfg->reconnect_ms);
    rc |= zmq_setsockopt(sock, ZMQ_RECONNECT_IVL_MAX, &cfg->reconnect_max_ms,
                         sizeof cfg->reconnect_max_ms);
    rc |= zmq_setsockopt(sock, ZMQ_CONNECT_TIMEOUT, &cfg->down_ms, sizeof cfg->down_ms);
    rc |= zmq_setsockopt(sock, ZMQ_HANDSHAKE_IVL, &cfg->down_ms, sizeof cfg->down_ms);
    rc |= zmq_setsockopt(sock, ZMQ_TCP_MAXRT, &cfg->down_ms, sizeof cfg->down_ms);
    if (curve(p)) {
        rc |= zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, p->server_key, REG_KEY_LEN);
        rc |= zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, br->key.public_key, KEYS_LEN);
        rc |= zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, br->key.secret_key, KEYS_LEN);
    }
    return rc == 0 ? AB_OK : AB_ERR;
}

/* The DEALER and its monitor, connected; nothing registered yet. */
static int open_chan_sockets(peer_chan *ch, char *err, size_t errlen)
{
    broker *br = ch->p->br;
    int events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                 ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (zsock_init(&br->sched, &ch->dealer, br->zctx, ZMQ_DEALER, PEER_MAX_FRAMES, err,
                   errlen) != AB_OK)
        return AB_ERR;
    if (set_options(ch->p, ch->dealer.sock) != AB_OK ||
        zsock_monitor_open(&br->sched, &ch->monitor, br->zctx, &ch->dealer, events, err,
                           errlen) != AB_OK) {
        ab_seterr(err, errlen, "link to %s: %s", ch->p->host, zmq_strerror(errno));
        zsock_discard(&ch->dealer);
        return AB_ERR;
    }
    if (zmq_connect(ch->dealer.sock, ch->p->endpoint) != 0) {
        ab_seterr(err, errlen, "link to %s: connect %s: %s", ch->p->host, ch->p->endpoint,
                  zmq_strerror(errno));
        zsock_discard(&ch->dealer); /* the monitored one first */
        zsock_discard(&ch->monitor);
        return AB_ERR;
    }
    ch->dealer.data = ch->monitor.data = ch;
    ch->dealer.want_srcfd = 1;
    return AB_OK;
}

static void on_part_closed(peer *p)
{
    if (--p->open_handles > 0)
        return;
    free(p->chans);
    free(p);
}

static void on_zsock_closed(zsock *zs)
{
    peer_chan *ch = zs->data;
    on_part_closed(ch->p);
}

static void on_timer_closed(uv_handle_t *h) { on_part_closed(h->data); }

/* Register a channel with the loop. AB_ERR: its sockets are closed
 * (asynchronously if one was registered: open_handles counts it). */
static int start_chan(peer_chan *ch, char *err, size_t errlen)
{
    peer *p = ch->p;
    if (zsock_start(&ch->dealer, on_msg, err, errlen) != AB_OK) {
        zsock_discard(&ch->dealer);
        zsock_discard(&ch->monitor);
        return AB_ERR;
    }
    p->open_handles++;
    if (zsock_start(&ch->monitor, on_monitor, err, errlen) != AB_OK) {
        zsock_close(&ch->dealer, on_zsock_closed); /* stops its monitor */
        zsock_discard(&ch->monitor);
        return AB_ERR;
    }
    p->open_handles++;
    conn_set_init(&ch->conns, &p->br->guard, &ch->dealer, &peer_conn_ops, ch, 0);
    if (curve(p))
        ch->conns.frame_extra = LINKIO_CURVE_FRAME_EXTRA;
    return AB_OK;
}

static void close_chan(peer_chan *ch)
{
    conn_set_close(&ch->conns);
    zsock_close(&ch->dealer, on_zsock_closed);
    zsock_close(&ch->monitor, on_zsock_closed);
}

/* Open and start every channel; on failure close those started (p is
 * then freed by the last close). */
static int open_chans(peer *p, char *err, size_t errlen)
{
    p->open_handles = 1; /* held while opening */
    for (int i = 0; i < p->nchans; i++) {
        peer_chan *ch = &p->chans[i];
        ch->p = p;
        ch->index = i;
        ch->fd = -1;
        ab_list_init(&ch->inflight);
        if (open_chan_sockets(ch, err, errlen) != AB_OK ||
            start_chan(ch, err, errlen) != AB_OK) {
            for (int k = 0; k < i; k++)
                close_chan(&p->chans[k]);
            on_part_closed(p);
            return AB_ERR;
        }
    }
    p->open_handles--;
    return AB_OK;
}

int peer_open(broker *br, const reg_host *h, const reg_links *cfg, peer **out,
              char *err, size_t errlen)
{
    peer *p = calloc(1, sizeof *p);
    if (!p || !(p->chans = calloc((size_t)cfg->per_peer, sizeof *p->chans))) {
        free(p);
        return ab_seterr(err, errlen, "out of memory");
    }
    p->br = br;
    p->cfg = *cfg;
    p->nchans = cfg->per_peer;
    snprintf(p->host, sizeof p->host, "%s", h->name);
    snprintf(p->endpoint, sizeof p->endpoint, "%s", h->link);
    memcpy(p->server_key, h->public_key, REG_KEY_LEN);
    set_why(p, "link not up yet");
    if (open_chans(p, err, errlen) != AB_OK)
        return AB_ERR;
    uv_timer_init(br->loop, &p->tick);
    p->tick.data = p;
    uint64_t every = (uint64_t)(cfg->heartbeat_ms / PEER_TICKS_PER_HEARTBEAT);
    uv_timer_start(&p->tick, on_tick, every, every);
    p->open_handles++;
    ab_list_push_tail(&br->peers, &p->link);
    p->series = stats_series_open(&br->stats, STATS_KIND_link, p, &p->st, NULL, p->host,
                                  "out");
    log_info("link connect peer=%s endpoint=%s channels=%d%s", p->host, p->endpoint,
             p->nchans, curve(p) ? "" : " plaintext");
    *out = p;
    return AB_OK;
}

void peer_close(peer *p, int reason, const char *why)
{
    if (p->closing)
        return;
    p->closing = 1;
    stats_series_close(p->series);
    p->series = NULL;
    for (int i = 0; i < p->nchans; i++) {
        peer_chan *ch = &p->chans[i];
        if (ch->state == CHAN_UP || ch->state == CHAN_HELLO)
            send_goodbye(ch, (ab_link_bye)reason, why);
        chan_down(ch, why, 0);
        close_chan(ch);
    }
    ab_list_remove(&p->link);
    log_info("link close peer=%s endpoint=%s reason=%s", p->host, p->endpoint, why);
    uv_close((uv_handle_t *)&p->tick, on_timer_closed);
}

peer *peer_find(broker *br, const char *host)
{
    for (ab_list *l = ab_list_head(&br->peers); l != &br->peers; l = l->next) {
        peer *p = AB_CONTAINER_OF(l, peer, link);
        if (strcmp(p->host, host) == 0)
            return p;
    }
    return NULL;
}

int peer_same(const peer *p, const reg_host *h, const reg_links *cfg)
{
    return strcmp(p->endpoint, h->link) == 0 &&
           memcmp(p->server_key, h->public_key, REG_KEY_LEN) == 0 &&
           memcmp(&p->cfg, cfg, sizeof *cfg) == 0;
}

const char *peer_down(const peer *p)
{
    for (int i = 0; i < p->nchans; i++) {
        if (p->chans[i].state == CHAN_UP)
            return NULL;
    }
    return p->why;
}
