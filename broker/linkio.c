/*
 * linkio.c: the parts of a link both ends share (see linkio.h): link
 * messages on a socket, sessions, RTT, and the transcoding of bodies at
 * the link edge.
 */
#include "linkio.h"

#include "common.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void linkio_bufs_free(linkio_bufs *b)
{
    ab_buf_free(&b->out);
    ab_buf_free(&b->scratch);
}

/* ------------------------------------------------------- messages -- */

int linkio_put_env(msgv *out, const ab_link_msg *msg, size_t nbody)
{
    uint8_t env[AB_LINK_ENVELOPE_MAX];
    size_t len;
    ab_link_err e = ab_link_encode(msg, nbody, env, sizeof env, &len);
    if (e != AB_LINK_OK) {
        /* Our own message: a broker bug, never input. */
        log_error("BUG: link %s not encodable: %s", ab_link_type_name(msg->type),
                  ab_link_err_name(e));
        return AB_ERR;
    }
    return msgv_push_bytes(out, env, len);
}

int linkio_send(zsock *zs, conn_set *cs, conn *c, msgv *out, link_stats *st)
{
    size_t wire = conn_wire(cs, out);
    if (zsock_send(zs, out) != AB_OK) {
        st->unsendable++;
        return AB_ERR;
    }
    conn_wrote(c, wire);
    st->wire_out += wire;
    return AB_OK;
}

ab_link_err linkio_parse(msgv *m, size_t at, ab_link_msg *msg)
{
    if (m->n <= at)
        return AB_LINK_E_EMPTY;
    size_t nbody = m->n + m->dropped - at - 1;
    return ab_link_parse(msgv_data(m, at), msgv_size(m, at), nbody, msg);
}

int linkio_bad(linkio_sess *s, link_stats *st, ab_link_err e, const char *who)
{
    uint32_t bit = 1u << ((unsigned)e % 32);
    st->bad_messages++;
    s->bad_row++;
    if (!(s->bad_logged & bit)) {
        s->bad_logged |= bit;
        log_warn("link bad_message %s reason=%s (%s); further ones are counted, "
                 "not logged", who, ab_link_err_name(e), ab_link_err_help(e));
    }
    return s->bad_row > LINKIO_BAD_ROW_MAX;
}

/* ------------------------------------------------------- sessions -- */

void linkio_hello(ab_link_msg *m, uint64_t epoch, int heartbeat_ms, const char *host)
{
    memset(m, 0, sizeof *m);
    m->version = 1; /* HELLO's layout is frozen at version 1 */
    m->type = AB_LINK_HELLO;
    m->u.hello.min_version = AB_LINK_VERSION_MIN;
    m->u.hello.max_version = AB_LINK_VERSION_MAX;
    m->u.hello.epoch = epoch;
    m->u.hello.flags = AB_LINK_F_TRANSCODE;
    m->u.hello.heartbeat_ms = (uint32_t)heartbeat_ms;
    m->u.hello.host.p = host;
    m->u.hello.host.len = strlen(host);
}

void linkio_goodbye(ab_link_msg *m, ab_link_bye reason, const char *text)
{
    memset(m, 0, sizeof *m);
    m->version = 1; /* GOODBYE's layout is frozen at version 1 */
    m->type = AB_LINK_GOODBYE;
    m->u.goodbye.min_version = AB_LINK_VERSION_MIN;
    m->u.goodbye.max_version = AB_LINK_VERSION_MAX;
    m->u.goodbye.reason = (uint8_t)reason;
    m->u.goodbye.text.p = text;
    m->u.goodbye.text.len = strlen(text);
}

int linkio_accept_hello(linkio_sess *s, const ab_link_hello *h, char *why, size_t len)
{
    uint8_t v = ab_link_version_pick(h->min_version, h->max_version);
    if (v == 0)
        return ab_seterr(why, len, "ours=%d..%d theirs=%d..%d", AB_LINK_VERSION_MIN,
                         AB_LINK_VERSION_MAX, h->min_version, h->max_version);
    s->version = v;
    s->epoch = h->epoch;
    s->flags = h->flags;
    s->heartbeat_ms = h->heartbeat_ms;
    return AB_OK;
}

int linkio_ping_due(const linkio_sess *s, uint64_t now, int heartbeat_ms)
{
    return now - s->last_ping >= (uint64_t)heartbeat_ms;
}

int linkio_silent(const linkio_sess *s, uint64_t now, int down_ms)
{
    uint64_t limit = (uint64_t)down_ms;
    if (2 * (uint64_t)s->heartbeat_ms > limit)
        limit = 2 * (uint64_t)s->heartbeat_ms;
    return now - s->last_heard >= limit;
}

void linkio_name(const ab_link_str *s, char *out, size_t len)
{
    size_t n = s->len < len - 1 ? s->len : len - 1;
    memcpy(out, s->p, n);
    out[n] = '\0';
}

void linkio_pong(stats_series *s, uint64_t t)
{
    if (stats_clock(s) && t <= uv_hrtime())
        stats_record_since(s, HIST_link_rtt, t);
}

/* ---------------------------------------------------------- bodies -- */

/* The msgpack of a single JSON frame, if it restores exactly and is
 * smaller; else AB_ERR and the body goes raw. */
static int try_msgpack(linkio_bufs *b, msgv *src, size_t at, msgv *out,
                       uint8_t *style)
{
    const uint8_t *json = msgv_data(src, at);
    size_t len = msgv_size(src, at);
    ab_json_style st;
    if (len < 2)
        return AB_ERR;
    /* The codec may need more room while it writes (container headers
     * are sized once their length is known), and the check re-renders
     * the input: both get the slack transcode.h asks for. */
    b->out.len = 0;
    b->out.max = len + 64;
    b->scratch.max = len + 64;
    if (ab_json_to_msgpack_exact(json, len, &b->out, &b->scratch, NULL, &st,
                                 NULL) != AB_TC_OK || b->out.len >= len)
        return AB_ERR; /* refused, or not worth it: no smaller */
    *style = (uint8_t)st;
    return msgv_push_bytes(out, b->out.data, b->out.len);
}

int linkio_body_out(linkio_bufs *b, msgv *src, size_t from, int msgpack_ok,
                    msgv *out, uint8_t *enc, uint8_t *style, link_stats *st)
{
    for (size_t i = from; i < src->n; i++)
        st->body_out += msgv_size(src, i);
    *enc = AB_LINK_ENC_RAW;
    *style = 0;
    if (msgpack_ok && src->n == from + 1 && try_msgpack(b, src, from, out, style) == AB_OK) {
        *enc = AB_LINK_ENC_MSGPACK;
        st->transcoded++;
        return AB_OK;
    }
    st->raw++;
    return msgv_copy_range(out, src, from);
}

int linkio_body_in(msgv *src, size_t from, uint8_t enc, uint8_t style, size_t max,
                   msgv *out, svc_error *code, char *why, size_t len, link_stats *st)
{
    ab_tc_opts opts = {.style = style};
    ab_buf json;
    if (enc == AB_LINK_ENC_RAW) {
        for (size_t i = from; i < src->n; i++)
            st->body_in += msgv_size(src, i);
        return msgv_move_range(out, src, from);
    }
    /* A buffer of its own: the frame made of it takes it over. */
    ab_buf_init(&json, max);
    ab_tc_reason r = ab_msgpack_to_json(msgv_data(src, from), msgv_size(src, from),
                                        &json, &opts, NULL);
    if (r != AB_TC_OK) {
        ab_buf_free(&json);
        *code = r == AB_TC_TOO_LARGE ? ERR_TOO_LARGE : ERR_BAD_REQUEST;
        if (r == AB_TC_TOO_LARGE)
            return ab_seterr(why, len, "body is over max_msg_bytes (%zu) as JSON", max);
        return ab_seterr(why, len, "msgpack body does not decode: %s",
                         ab_tc_reason_name(r));
    }
    st->body_in += json.len;
    return msgv_push_owned(out, json.data, json.len);
}

/* ---------------------------------------------------------- errors -- */

/* (svc_error, status): how each broker error crosses a link. */
#define LINKIO_ERRORS(X)                                                   \
    X(ERR_TIMEOUT, AB_LINK_ST_TIMEOUT)                                     \
    X(ERR_UNAVAILABLE, AB_LINK_ST_UNAVAILABLE)                             \
    X(ERR_OVERLOADED, AB_LINK_ST_OVERLOADED)                               \
    X(ERR_TOO_LARGE, AB_LINK_ST_TOO_LARGE)                                 \
    X(ERR_BAD_REQUEST, AB_LINK_ST_BAD_REQUEST)                             \
    X(ERR_BAD_REPLY, AB_LINK_ST_BAD_REPLY)

ab_link_status linkio_status_of(svc_error code)
{
    switch (code) {
#define LINKIO_TO_STATUS(err, st) case err: return st;
        LINKIO_ERRORS(LINKIO_TO_STATUS)
#undef LINKIO_TO_STATUS
    }
    return AB_LINK_ST_UNAVAILABLE;
}

/* no_service and draining are the far broker's reasons for unavailable. */
svc_error linkio_error_of(uint8_t status)
{
    switch (status) {
#define LINKIO_TO_ERROR(err, st) case st: return err;
        LINKIO_ERRORS(LINKIO_TO_ERROR)
#undef LINKIO_TO_ERROR
    }
    return ERR_UNAVAILABLE;
}
