/*
 * linkio.h: what both ends of a link share (docs/link-protocol.md): a
 * link message on a socket (the envelope frame of proto/link.h, then the
 * body frames), the body transcoding at the link edge, the session of one
 * link connection (HELLO, liveness, malformed input) and the mapping
 * between REPLY statuses and the broker's error codes.
 *
 * peer.c (the near side: DEALERs to another host's broker) and linksrv.c
 * (the far side: the ROUTER other brokers connect to) drive it; nothing
 * here owns a socket.
 */
#ifndef AB_LINKIO_H
#define AB_LINKIO_H

#include "guard.h"
#include "link.h"
#include "msgv.h"
#include "service.h"
#include "stats.h"
#include "transcode.h"
#include "zsock.h"

#include <stdint.h>

/* What CURVE adds to every frame on the wire: each frame travels as a
 * MESSAGE command ("\x07MESSAGE" 8 bytes, nonce 8, flags 1, MAC 16). */
#define LINKIO_CURVE_FRAME_EXTRA 33
/* Malformed messages in a row after which a connection is dropped with
 * GOODBYE(protocol). */
#define LINKIO_BAD_ROW_MAX 100
/* The ZAP domain of link servers: only their handshakes reach zap.c. */
#define LINKIO_ZAP_DOMAIN "agentbus-link"

/* The session of one link connection: what the peer's HELLO said and
 * when it was last heard from. */
typedef struct linkio_sess {
    uint8_t version;        /* agreed version; 0 until the peer's HELLO */
    uint64_t epoch;         /* the peer's */
    uint32_t flags;         /* the peer's HELLO flags (AB_LINK_F_*) */
    uint32_t heartbeat_ms;  /* how often the peer promised to send */
    uint64_t last_heard;    /* loop time (ms) of its last message */
    uint64_t last_ping;     /* loop time of our last PING to it */
    unsigned bad_row;       /* malformed messages in a row */
    uint32_t bad_logged;    /* parse errors already logged (bit per code) */
} linkio_sess;

/* Scratch buffers of the transcoding, reused across bodies (one per
 * broker: the loop is single-threaded). They keep the capacity of the
 * largest body transcoded. */
typedef struct linkio_bufs {
    ab_buf out;
    ab_buf scratch;
} linkio_bufs;

void linkio_bufs_free(linkio_bufs *b);

/* ------------------------------------------------------- messages -- */

/* Append the envelope of msg (checked as the peer will parse it, with
 * nbody body frames to follow) to out as one frame. */
int linkio_put_env(msgv *out, const ab_link_msg *msg, size_t nbody);
/* Send out ([routing id]... envelope, body) on zs for connection c of
 * cs. Counts wire_out, or unsendable when libzmq refused (errno set). */
int linkio_send(zsock *zs, conn_set *cs, conn *c, msgv *out, link_stats *st);
/* Parse the envelope at frame `at` of m (body frames follow it). */
ab_link_err linkio_parse(msgv *m, size_t at, ab_link_msg *msg);
/* A malformed message from `who`: counted, the first of each reason
 * logged. Returns 1 when the connection has sent too many in a row. */
int linkio_bad(linkio_sess *s, link_stats *st, ab_link_err e, const char *who);

/* ------------------------------------------------------- sessions -- */

/* Our HELLO. */
void linkio_hello(ab_link_msg *m, uint64_t epoch, int heartbeat_ms, const char *host);
/* A GOODBYE, with our version range. */
void linkio_goodbye(ab_link_msg *m, ab_link_bye reason, const char *text);
/* Take the peer's HELLO into s. AB_ERR: no version in common (why says
 * both ranges). */
int linkio_accept_hello(linkio_sess *s, const ab_link_hello *h, char *why,
                        size_t len);
/* Time to PING (every heartbeat_ms, whatever else is sent: the PONGs
 * measure the link's RTT). */
int linkio_ping_due(const linkio_sess *s, uint64_t now, int heartbeat_ms);
/* Nothing heard for down_ms (or twice the heartbeat the peer promised,
 * if longer): the link is down. */
int linkio_silent(const linkio_sess *s, uint64_t now, int down_ms);
/* A name of the envelope (a host or service) as a C string. */
void linkio_name(const ab_link_str *s, char *out, size_t len);

/* A PONG came for a PING sent at t (uv_hrtime): its round trip goes to
 * the series' rtt histogram (when histograms are on). */
void linkio_pong(stats_series *s, uint64_t t);

/* ---------------------------------------------------------- bodies -- */

/* Append the body frames of src (from frame `from` on) to out as they
 * travel: a single-frame JSON body as msgpack when msgpack is allowed,
 * the byte-exact transcode proves the far side restores it, and it is
 * smaller; otherwise the frames themselves (shared, not copied). Sets
 * *enc and *style; counts body_out and transcoded or raw. */
int linkio_body_out(linkio_bufs *b, msgv *src, size_t from, int msgpack_ok,
                    msgv *out, uint8_t *enc, uint8_t *style, link_stats *st);
/* Move the body frames of src (from frame `from` on) to out as the agent
 * sent them: a msgpack body becomes its JSON again, in `style`, of at
 * most max bytes. AB_ERR: *code and why say what was wrong (too_large,
 * or bad_request for a body that does not decode). Counts body_in. */
int linkio_body_in(msgv *src, size_t from, uint8_t enc, uint8_t style, size_t max,
                   msgv *out, svc_error *code, char *why, size_t len, link_stats *st);

/* ---------------------------------------------------------- errors -- */

/* The REPLY status that carries a broker error, and back. */
ab_link_status linkio_status_of(svc_error code);
svc_error linkio_error_of(uint8_t status);

#endif
