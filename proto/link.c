/*
 * link.c: encoding and strict parsing of link envelopes (link.h has the
 * API, docs/link-protocol.md the format).
 *
 * Parsing is two steps: read the fixed layout of the type (every field
 * must be there, nothing may follow), then check the values with the one
 * function the encoder also runs, so the two can never disagree about
 * what is valid.
 */
#include "link.h"

#include "tc_internal.h"
#include "transcode.h"

#include <string.h>

/* Fixed bytes of each layout before its variable-length string. */
#define HDR_LEN 2           /* version, type */
#define HELLO_FIXED 21      /* ... min, max, epoch, flags, heartbeat, hlen */
#define REQUEST_FIXED 17    /* ... id, deadline, encoding, style, slen */
#define REPLY_FIXED 15      /* ... id, status, encoding, style, tlen(2) */
#define CANCEL_LEN 10       /* ... id */
#define PING_LEN 10         /* ... t */
#define PONG_LEN 18         /* ... t, t_peer */
#define GOODBYE_FIXED 7     /* ... min, max, reason, tlen(2) */
#define HELLO_LAYOUT 1      /* HELLO and GOODBYE keep this layout forever */

#define NAME_CHARS                                                         \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

/* ---------------------------------------------------------------------
 * Checks shared by parse and encode
 * --------------------------------------------------------------------- */

static int name_ok(ab_link_str s)
{
    if (s.len == 0 || s.len > AB_LINK_NAME_MAX)
        return 0;
    for (size_t i = 0; i < s.len; i++)
        if (!s.p[i] || !strchr(NAME_CHARS, s.p[i]))
            return 0;
    return 1;
}

/* Texts end up in logs and JSON error messages: UTF-8, no controls. */
static int text_ok(ab_link_str s)
{
    if (s.len == 0)
        return 1; /* an empty text may have no pointer at all */
    const uint8_t *p = (const uint8_t *)s.p, *end = p + s.len;
    if (s.len > AB_LINK_TEXT_MAX)
        return 0;
    while (p < end) {
        size_t n = *p < 0x80 ? 1 : tc_utf8_seq(p, end);
        if (n == 0 || *p < 0x20 || *p == 0x7f)
            return 0;
        p += n;
    }
    return 1;
}

static int range_ok(uint8_t min, uint8_t max)
{
    return min >= 1 && min <= max;
}

/* A body's encoding, style and frame count agree. */
static ab_link_err body_check(uint8_t encoding, uint8_t style, size_t nbody)
{
    if (encoding == AB_LINK_ENC_RAW && style == 0)
        return nbody <= AB_LINK_MAX_BODY_FRAMES ? AB_LINK_OK
                                                : AB_LINK_E_FRAMES;
    if (encoding == AB_LINK_ENC_MSGPACK && style < AB_JSON_NSTYLES)
        return nbody == 1 ? AB_LINK_OK : AB_LINK_E_FRAMES;
    return AB_LINK_E_ENCODING;
}

static ab_link_err check_hello(const ab_link_hello *h, size_t nbody)
{
    if (!range_ok(h->min_version, h->max_version))
        return AB_LINK_E_RANGE;
    if (h->epoch == 0)
        return AB_LINK_E_EPOCH;
    if (h->heartbeat_ms == 0 || h->heartbeat_ms > AB_LINK_DEADLINE_MAX)
        return AB_LINK_E_HEARTBEAT;
    if (!name_ok(h->host))
        return AB_LINK_E_NAME;
    return nbody ? AB_LINK_E_FRAMES : AB_LINK_OK;
}

static ab_link_err check_request(const ab_link_request *r, size_t nbody)
{
    if (r->deadline_ms == 0 || r->deadline_ms > AB_LINK_DEADLINE_MAX)
        return AB_LINK_E_DEADLINE;
    if (!name_ok(r->service))
        return AB_LINK_E_NAME;
    return body_check(r->encoding, r->style, nbody);
}

static int status_known(uint8_t status)
{
    switch (status) {
#define AB_LINK_ST_CASE(sym, val, name, help) case sym:
        AB_LINK_STATUSES(AB_LINK_ST_CASE)
#undef AB_LINK_ST_CASE
        return 1;
    default:
        return 0;
    }
}

/* A successful reply carries a body and no text; an error the opposite. */
static ab_link_err check_reply(const ab_link_reply *r, size_t nbody)
{
    if (!status_known(r->status))
        return AB_LINK_E_STATUS;
    if (!text_ok(r->text) || (r->status == AB_LINK_ST_OK && r->text.len))
        return AB_LINK_E_TEXT;
    if (r->status == AB_LINK_ST_OK)
        return body_check(r->encoding, r->style, nbody);
    if (r->encoding || r->style)
        return AB_LINK_E_ENCODING;
    return nbody ? AB_LINK_E_FRAMES : AB_LINK_OK;
}

static int bye_known(uint8_t reason)
{
    switch (reason) {
#define AB_LINK_BYE_CASE(sym, val, name, help) case sym:
        AB_LINK_BYES(AB_LINK_BYE_CASE)
#undef AB_LINK_BYE_CASE
        return 1;
    default:
        return 0;
    }
}

static ab_link_err check_goodbye(const ab_link_goodbye *g, size_t nbody)
{
    if (!range_ok(g->min_version, g->max_version))
        return AB_LINK_E_RANGE;
    if (!bye_known(g->reason))
        return AB_LINK_E_REASON;
    if (!text_ok(g->text))
        return AB_LINK_E_TEXT;
    return nbody ? AB_LINK_E_FRAMES : AB_LINK_OK;
}

/* HELLO and GOODBYE have the fixed layout version; the others the session
 * version, which must be one this build speaks. */
static ab_link_err check_version(const ab_link_msg *m)
{
    if (m->type == AB_LINK_HELLO || m->type == AB_LINK_GOODBYE)
        return m->version == HELLO_LAYOUT ? AB_LINK_OK : AB_LINK_E_VERSION;
    return m->version >= AB_LINK_VERSION_MIN &&
                   m->version <= AB_LINK_VERSION_MAX
               ? AB_LINK_OK
               : AB_LINK_E_VERSION;
}

static ab_link_err check_msg(const ab_link_msg *m, size_t nbody)
{
    ab_link_err e = check_version(m);
    if (e != AB_LINK_OK)
        return e;
    switch (m->type) {
    case AB_LINK_HELLO: return check_hello(&m->u.hello, nbody);
    case AB_LINK_REQUEST: return check_request(&m->u.request, nbody);
    case AB_LINK_REPLY: return check_reply(&m->u.reply, nbody);
    case AB_LINK_GOODBYE: return check_goodbye(&m->u.goodbye, nbody);
    case AB_LINK_CANCEL:
    case AB_LINK_PING:
    case AB_LINK_PONG: return nbody ? AB_LINK_E_FRAMES : AB_LINK_OK;
    default: return AB_LINK_E_TYPE;
    }
}

/* ---------------------------------------------------------------------
 * Reading
 * --------------------------------------------------------------------- */

/* A cursor over the envelope; a read past the end sets short_read and
 * yields zeros, so a layout is read straight through and checked once. */
typedef struct rd {
    const uint8_t *p, *end;
    int short_read;
} rd;

static const uint8_t *rd_take(rd *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n) {
        r->short_read = 1;
        r->p = r->end;
        return NULL;
    }
    const uint8_t *at = r->p;
    r->p += n;
    return at;
}

static uint64_t rd_be(rd *r, size_t n)
{
    const uint8_t *p = rd_take(r, n);
    uint64_t v = 0;
    for (size_t i = 0; p && i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static uint8_t rd_u8(rd *r) { return (uint8_t)rd_be(r, 1); }
static uint16_t rd_u16(rd *r) { return (uint16_t)rd_be(r, 2); }
static uint32_t rd_u32(rd *r) { return (uint32_t)rd_be(r, 4); }
static uint64_t rd_u64(rd *r) { return rd_be(r, 8); }

static ab_link_str rd_str(rd *r, size_t n)
{
    const uint8_t *p = rd_take(r, n);
    return (ab_link_str){p ? (const char *)p : "", p ? n : 0};
}

static void read_hello(rd *r, ab_link_hello *h)
{
    h->min_version = rd_u8(r);
    h->max_version = rd_u8(r);
    h->epoch = rd_u64(r);
    h->flags = rd_u32(r);
    h->heartbeat_ms = rd_u32(r);
    h->host = rd_str(r, rd_u8(r));
}

static void read_request(rd *r, ab_link_request *q)
{
    q->id = rd_u64(r);
    q->deadline_ms = rd_u32(r);
    q->encoding = rd_u8(r);
    q->style = rd_u8(r);
    q->service = rd_str(r, rd_u8(r));
}

static void read_reply(rd *r, ab_link_reply *p)
{
    p->id = rd_u64(r);
    p->status = rd_u8(r);
    p->encoding = rd_u8(r);
    p->style = rd_u8(r);
    p->text = rd_str(r, rd_u16(r));
}

static void read_goodbye(rd *r, ab_link_goodbye *g)
{
    g->min_version = rd_u8(r);
    g->max_version = rd_u8(r);
    g->reason = rd_u8(r);
    g->text = rd_str(r, rd_u16(r));
}

/* The fields after the two header bytes; AB_LINK_E_TYPE if unknown. */
static ab_link_err read_body(rd *r, ab_link_msg *m)
{
    switch (m->type) {
    case AB_LINK_HELLO: read_hello(r, &m->u.hello); break;
    case AB_LINK_REQUEST: read_request(r, &m->u.request); break;
    case AB_LINK_REPLY: read_reply(r, &m->u.reply); break;
    case AB_LINK_CANCEL: m->u.cancel_id = rd_u64(r); break;
    case AB_LINK_PING: m->u.ping.t = rd_u64(r); break;
    case AB_LINK_PONG:
        m->u.ping.t = rd_u64(r);
        m->u.ping.t_peer = rd_u64(r);
        break;
    case AB_LINK_GOODBYE: read_goodbye(r, &m->u.goodbye); break;
    default: return AB_LINK_E_TYPE;
    }
    if (r->short_read)
        return AB_LINK_E_TRUNCATED;
    return r->p == r->end ? AB_LINK_OK : AB_LINK_E_TRAILING;
}

/* A HELLO or GOODBYE in a layout this build does not know still shows its
 * version range at bytes 2..3: report it with the mismatch. */
static ab_link_err foreign_layout(const uint8_t *env, size_t len,
                                  ab_link_msg *m)
{
    uint8_t min = len >= 4 ? env[2] : 0, max = len >= 4 ? env[3] : 0;
    if (m->type == AB_LINK_HELLO) {
        m->u.hello.min_version = min;
        m->u.hello.max_version = max;
    } else {
        m->u.goodbye.min_version = min;
        m->u.goodbye.max_version = max;
    }
    return AB_LINK_E_VERSION;
}

ab_link_err ab_link_parse(const uint8_t *env, size_t len, size_t nbody,
                          ab_link_msg *msg)
{
    memset(msg, 0, sizeof *msg);
    if (len == 0)
        return AB_LINK_E_EMPTY;
    if (len > AB_LINK_ENVELOPE_MAX)
        return AB_LINK_E_TOO_LONG;
    if (len < HDR_LEN)
        return AB_LINK_E_TRUNCATED;
    msg->version = env[0];
    msg->type = env[1];
    int fixed = msg->type == AB_LINK_HELLO || msg->type == AB_LINK_GOODBYE;
    if (fixed && msg->version != HELLO_LAYOUT)
        return foreign_layout(env, len, msg);
    if (!fixed && check_version(msg) != AB_LINK_OK)
        return AB_LINK_E_VERSION;
    rd r = {env + HDR_LEN, env + len, 0};
    ab_link_err e = read_body(&r, msg);
    return e != AB_LINK_OK ? e : check_msg(msg, nbody);
}

/* ---------------------------------------------------------------------
 * Writing
 * --------------------------------------------------------------------- */

typedef struct wr {
    uint8_t *p;
} wr;

static void wr_be(wr *w, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        w->p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    w->p += n;
}

static void wr_str(wr *w, ab_link_str s)
{
    if (s.len)
        memcpy(w->p, s.p, s.len);
    w->p += s.len;
}

/* Envelope length of a valid message. */
static size_t encoded_len(const ab_link_msg *m)
{
    switch (m->type) {
    case AB_LINK_HELLO: return HELLO_FIXED + m->u.hello.host.len;
    case AB_LINK_REQUEST: return REQUEST_FIXED + m->u.request.service.len;
    case AB_LINK_REPLY: return REPLY_FIXED + m->u.reply.text.len;
    case AB_LINK_CANCEL: return CANCEL_LEN;
    case AB_LINK_PING: return PING_LEN;
    case AB_LINK_PONG: return PONG_LEN;
    default: return GOODBYE_FIXED + m->u.goodbye.text.len;
    }
}

static void write_hello(wr *w, const ab_link_hello *h)
{
    wr_be(w, h->min_version, 1);
    wr_be(w, h->max_version, 1);
    wr_be(w, h->epoch, 8);
    wr_be(w, h->flags, 4);
    wr_be(w, h->heartbeat_ms, 4);
    wr_be(w, h->host.len, 1);
    wr_str(w, h->host);
}

static void write_request(wr *w, const ab_link_request *q)
{
    wr_be(w, q->id, 8);
    wr_be(w, q->deadline_ms, 4);
    wr_be(w, q->encoding, 1);
    wr_be(w, q->style, 1);
    wr_be(w, q->service.len, 1);
    wr_str(w, q->service);
}

static void write_reply(wr *w, const ab_link_reply *p)
{
    wr_be(w, p->id, 8);
    wr_be(w, p->status, 1);
    wr_be(w, p->encoding, 1);
    wr_be(w, p->style, 1);
    wr_be(w, p->text.len, 2);
    wr_str(w, p->text);
}

static void write_goodbye(wr *w, const ab_link_goodbye *g)
{
    wr_be(w, g->min_version, 1);
    wr_be(w, g->max_version, 1);
    wr_be(w, g->reason, 1);
    wr_be(w, g->text.len, 2);
    wr_str(w, g->text);
}

static void write_body(wr *w, const ab_link_msg *m)
{
    switch (m->type) {
    case AB_LINK_HELLO: write_hello(w, &m->u.hello); break;
    case AB_LINK_REQUEST: write_request(w, &m->u.request); break;
    case AB_LINK_REPLY: write_reply(w, &m->u.reply); break;
    case AB_LINK_CANCEL: wr_be(w, m->u.cancel_id, 8); break;
    case AB_LINK_PING: wr_be(w, m->u.ping.t, 8); break;
    case AB_LINK_PONG:
        wr_be(w, m->u.ping.t, 8);
        wr_be(w, m->u.ping.t_peer, 8);
        break;
    default: write_goodbye(w, &m->u.goodbye); break;
    }
}

ab_link_err ab_link_encode(const ab_link_msg *msg, size_t nbody, uint8_t *out,
                           size_t cap, size_t *len)
{
    ab_link_err e = check_msg(msg, nbody);
    if (e != AB_LINK_OK)
        return e;
    size_t n = encoded_len(msg);
    if (n > cap)
        return AB_LINK_E_NOSPACE;
    wr w = {out};
    wr_be(&w, msg->version, 1);
    wr_be(&w, msg->type, 1);
    write_body(&w, msg);
    *len = n;
    return AB_LINK_OK;
}

uint8_t ab_link_version_pick(uint8_t peer_min, uint8_t peer_max)
{
    uint8_t lo = peer_min > AB_LINK_VERSION_MIN ? peer_min : AB_LINK_VERSION_MIN;
    uint8_t hi = peer_max < AB_LINK_VERSION_MAX ? peer_max : AB_LINK_VERSION_MAX;
    return range_ok(peer_min, peer_max) && lo <= hi ? hi : 0;
}

/* ---------------------------------------------------------------------
 * Names
 * --------------------------------------------------------------------- */

#define AB_LINK_ERR_NAME(sym, name, help) name,
#define AB_LINK_ERR_HELP(sym, name, help) help,
static const char *const err_names[] = {AB_LINK_ERRS(AB_LINK_ERR_NAME)};
static const char *const err_helps[] = {AB_LINK_ERRS(AB_LINK_ERR_HELP)};

const char *ab_link_err_name(ab_link_err e)
{
    return (size_t)e < sizeof err_names / sizeof *err_names ? err_names[e]
                                                            : "unknown";
}

const char *ab_link_err_help(ab_link_err e)
{
    return (size_t)e < sizeof err_helps / sizeof *err_helps ? err_helps[e]
                                                            : "unknown reason";
}

const char *ab_link_type_name(uint8_t type)
{
    switch (type) {
#define AB_LINK_TYPE_NAME(sym, val, name) case sym: return name;
        AB_LINK_TYPES(AB_LINK_TYPE_NAME)
#undef AB_LINK_TYPE_NAME
    default: return "unknown";
    }
}

const char *ab_link_status_name(uint8_t status)
{
    switch (status) {
#define AB_LINK_ST_NAME(sym, val, name, help) case sym: return name;
        AB_LINK_STATUSES(AB_LINK_ST_NAME)
#undef AB_LINK_ST_NAME
    default: return "unknown";
    }
}

const char *ab_link_bye_name(uint8_t reason)
{
    switch (reason) {
#define AB_LINK_BYE_NAME(sym, val, name, help) case sym: return name;
        AB_LINK_BYES(AB_LINK_BYE_NAME)
#undef AB_LINK_BYE_NAME
    default: return "unknown";
    }
}
