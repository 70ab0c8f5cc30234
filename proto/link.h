/*
 * link.h: the broker-to-broker link protocol (public API of proto/).
 *
 * A link message is one envelope frame, built and read here, followed by
 * zero or more body frames that this module never touches (the caller
 * passes their count). docs/link-protocol.md is the specification: byte
 * layouts, semantics, versioning and bounds. Everything is big-endian.
 *
 * Contract: ab_link_parse() reads only [env, env + len), never allocates,
 * and either fills *msg (strings point into env) or returns a stable
 * reason code. ab_link_encode() applies the very same checks before it
 * writes, so it never emits an envelope the parser refuses, and for every
 * envelope the parser accepts, encoding the result gives the same bytes.
 */
#ifndef AB_LINK_H
#define AB_LINK_H

#include <stddef.h>
#include <stdint.h>

/* Protocol versions this code speaks (a range, so a later build can speak
 * two during a rolling upgrade). */
#define AB_LINK_VERSION_MIN 1
#define AB_LINK_VERSION_MAX 1

/* Bounds on what a peer can make the receiver hold or look at. */
#define AB_LINK_NAME_MAX 64          /* host and service names */
#define AB_LINK_TEXT_MAX 512         /* error and goodbye texts, bytes */
#define AB_LINK_ENVELOPE_MAX 640     /* the largest valid envelope frame */
#define AB_LINK_MAX_BODY_FRAMES 4096 /* body frames after one envelope */
#define AB_LINK_DEADLINE_MAX 3600000 /* ms, as the registry's timeout_ms */

/* Message types: symbol, wire value, name. The values are the wire format:
 * never renumber, only append. */
#define AB_LINK_TYPES(X)                                                   \
    X(AB_LINK_HELLO, 1, "hello")                                           \
    X(AB_LINK_REQUEST, 2, "request")                                       \
    X(AB_LINK_REPLY, 3, "reply")                                           \
    X(AB_LINK_CANCEL, 4, "cancel")                                         \
    X(AB_LINK_PING, 5, "ping")                                             \
    X(AB_LINK_PONG, 6, "pong")                                             \
    X(AB_LINK_GOODBYE, 7, "goodbye")

typedef enum ab_link_type {
#define AB_LINK_TYPE_ENUM(sym, val, name) sym = val,
    AB_LINK_TYPES(AB_LINK_TYPE_ENUM)
#undef AB_LINK_TYPE_ENUM
} ab_link_type;

/* How the body frames of a REQUEST or successful REPLY are encoded. */
#define AB_LINK_ENCODINGS(X)                                               \
    X(AB_LINK_ENC_RAW, 0, "raw", "the agent's frames, byte for byte")      \
    X(AB_LINK_ENC_MSGPACK, 1, "msgpack",                                   \
      "one JSON frame carried as msgpack; the style id restores its bytes")

typedef enum ab_link_encoding {
#define AB_LINK_ENC_ENUM(sym, val, name, help) sym = val,
    AB_LINK_ENCODINGS(AB_LINK_ENC_ENUM)
#undef AB_LINK_ENC_ENUM
} ab_link_encoding;

/* A REPLY's status: 0 carries the agent's reply in the body frames, any
 * other value is an error answered by the far broker (no body frames, an
 * explanatory text in the envelope). The near broker turns an error into
 * its usual JSON error reply. Wire values: never renumber. */
#define AB_LINK_STATUSES(X)                                                \
    X(AB_LINK_ST_OK, 0, "ok", "the agent's reply follows")                 \
    X(AB_LINK_ST_TIMEOUT, 1, "timeout",                                    \
      "no reply from the agent within the deadline")                       \
    X(AB_LINK_ST_UNAVAILABLE, 2, "unavailable",                            \
      "no backend of the service could take the request")                  \
    X(AB_LINK_ST_OVERLOADED, 3, "overloaded", "the service queue is full") \
    X(AB_LINK_ST_TOO_LARGE, 4, "too_large",                                \
      "the body exceeds the service's max_msg_bytes or max_frames")        \
    X(AB_LINK_ST_NO_SERVICE, 5, "no_service",                              \
      "the far broker does not serve this service")                        \
    X(AB_LINK_ST_BAD_REQUEST, 6, "bad_request",                            \
      "the far broker could not use the request (e.g. undecodable body)")  \
    X(AB_LINK_ST_DRAINING, 7, "draining",                                  \
      "the far broker is shutting down and takes no new requests")         \
    X(AB_LINK_ST_BAD_REPLY, 8, "bad_reply",                                \
      "the far agent's reply was not a reply (no body, no delimiter)")

typedef enum ab_link_status {
#define AB_LINK_ST_ENUM(sym, val, name, help) sym = val,
    AB_LINK_STATUSES(AB_LINK_ST_ENUM)
#undef AB_LINK_ST_ENUM
} ab_link_status;

/* Why a peer ends a link session (GOODBYE). Wire values: never renumber. */
#define AB_LINK_BYES(X)                                                    \
    X(AB_LINK_BYE_SHUTDOWN, 1, "shutdown", "the broker is stopping")       \
    X(AB_LINK_BYE_VERSION, 2, "version",                                   \
      "no protocol version in common (see the version range)")             \
    X(AB_LINK_BYE_NO_HELLO, 3, "no_hello",                                 \
      "a message came before this connection's HELLO")                     \
    X(AB_LINK_BYE_PROTOCOL, 4, "protocol",                                 \
      "too many malformed messages on this connection")                    \
    X(AB_LINK_BYE_REMOVED, 5, "removed",                                   \
      "the registry no longer lists this peer or its key")

typedef enum ab_link_bye {
#define AB_LINK_BYE_ENUM(sym, val, name, help) sym = val,
    AB_LINK_BYES(AB_LINK_BYE_ENUM)
#undef AB_LINK_BYE_ENUM
} ab_link_bye;

/* HELLO capability bits; unknown bits are ignored, so a peer may announce
 * features this build does not have. */
#define AB_LINK_F_TRANSCODE 0x1u /* accepts AB_LINK_ENC_MSGPACK bodies */

/* Parse and encode reason codes. Names are stable (logs, stats, docs). */
#define AB_LINK_ERRS(X)                                                    \
    X(AB_LINK_OK, "ok", "valid")                                           \
    X(AB_LINK_E_EMPTY, "empty", "the envelope frame is empty")             \
    X(AB_LINK_E_TOO_LONG, "too_long",                                      \
      "the envelope is longer than AB_LINK_ENVELOPE_MAX")                  \
    X(AB_LINK_E_VERSION, "version",                                        \
      "a protocol version this build does not speak")                      \
    X(AB_LINK_E_TYPE, "unknown_type", "an unknown message type")           \
    X(AB_LINK_E_TRUNCATED, "truncated", "the envelope ends inside a field")\
    X(AB_LINK_E_TRAILING, "trailing_bytes",                                \
      "bytes after the last field of the envelope")                        \
    X(AB_LINK_E_NAME, "bad_name",                                          \
      "a host or service name is empty, too long or not [A-Za-z0-9_.-]")   \
    X(AB_LINK_E_TEXT, "bad_text",                                          \
      "a text is too long, not UTF-8 or holds control characters")         \
    X(AB_LINK_E_EPOCH, "bad_epoch", "a HELLO with session epoch 0")        \
    X(AB_LINK_E_RANGE, "bad_version_range",                                \
      "a version range that is empty or starts at 0")                      \
    X(AB_LINK_E_HEARTBEAT, "bad_heartbeat",                                \
      "a heartbeat interval outside 1..AB_LINK_DEADLINE_MAX ms")           \
    X(AB_LINK_E_DEADLINE, "bad_deadline",                                  \
      "a deadline outside 1..AB_LINK_DEADLINE_MAX ms")                     \
    X(AB_LINK_E_ENCODING, "bad_encoding",                                  \
      "an unknown body encoding, or an encoding and style that disagree")  \
    X(AB_LINK_E_STATUS, "bad_status", "an unknown reply status")           \
    X(AB_LINK_E_REASON, "bad_reason", "an unknown goodbye reason")         \
    X(AB_LINK_E_FRAMES, "bad_frame_count",                                 \
      "body frames where none belong, too many, or not exactly one "       \
      "msgpack frame")                                                     \
    X(AB_LINK_E_NOSPACE, "no_space",                                       \
      "the output buffer is smaller than the envelope (encode only)")

typedef enum ab_link_err {
#define AB_LINK_ERR_ENUM(sym, name, help) sym,
    AB_LINK_ERRS(AB_LINK_ERR_ENUM)
#undef AB_LINK_ERR_ENUM
} ab_link_err;

/* A string inside an envelope (not NUL-terminated). */
typedef struct ab_link_str {
    const char *p;
    size_t len;
} ab_link_str;

typedef struct ab_link_hello {
    uint8_t min_version, max_version; /* the sender speaks this range */
    uint64_t epoch;        /* random, nonzero, new on every broker start */
    uint32_t flags;        /* AB_LINK_F_* */
    uint32_t heartbeat_ms; /* the sender pings at least this often */
    ab_link_str host;      /* the sender's registry host name */
} ab_link_hello;

typedef struct ab_link_request {
    uint64_t id;          /* sender's request id, echoed by the REPLY */
    uint32_t deadline_ms; /* time left, already less the sender's margin */
    uint8_t encoding;     /* ab_link_encoding */
    uint8_t style;        /* ab_json_style when encoding is msgpack, else 0 */
    ab_link_str service;
} ab_link_request;

typedef struct ab_link_reply {
    uint64_t id;
    uint8_t status;   /* ab_link_status */
    uint8_t encoding; /* ok only; 0 for errors */
    uint8_t style;    /* ok and msgpack only; else 0 */
    ab_link_str text; /* errors only (may be empty); empty for ok */
} ab_link_reply;

typedef struct ab_link_ping {
    uint64_t t;      /* PING: sender's clock; PONG: the PING's t, echoed */
    uint64_t t_peer; /* PONG only: the responder's clock when it answered */
} ab_link_ping;

typedef struct ab_link_goodbye {
    uint8_t min_version, max_version; /* what the sender speaks */
    uint8_t reason;                   /* ab_link_bye */
    ab_link_str text;
} ab_link_goodbye;

/* One parsed (or to-be-encoded) envelope. */
typedef struct ab_link_msg {
    uint8_t version; /* session version (HELLO: the layout's, 1) */
    uint8_t type;    /* ab_link_type */
    union {
        ab_link_hello hello;
        ab_link_request request;
        ab_link_reply reply;
        uint64_t cancel_id; /* CANCEL: the request id to drop */
        ab_link_ping ping;  /* PING and PONG */
        ab_link_goodbye goodbye;
    } u;
} ab_link_msg;

/* Parse the envelope [env, env + len) of a message that had nbody body
 * frames after it. On AB_LINK_OK *msg is filled and its strings point into
 * env. On AB_LINK_E_VERSION for a HELLO or GOODBYE, msg->type and the
 * peer's version range (u.hello or u.goodbye min/max_version) are filled,
 * so the caller can log both ranges and answer GOODBYE(version). */
ab_link_err ab_link_parse(const uint8_t *env, size_t len, size_t nbody,
                          ab_link_msg *msg);

/* Check *msg as the parser would (with nbody body frames to follow) and
 * write its envelope at out (cap bytes; AB_LINK_ENVELOPE_MAX always
 * suffices). *len gets the envelope length on AB_LINK_OK. */
ab_link_err ab_link_encode(const ab_link_msg *msg, size_t nbody, uint8_t *out,
                           size_t cap, size_t *len);

/* The protocol version two peers use: the highest both speak, or 0 when
 * the ranges do not meet. */
uint8_t ab_link_version_pick(uint8_t peer_min, uint8_t peer_max);

const char *ab_link_err_name(ab_link_err e);  /* "truncated", ... */
const char *ab_link_err_help(ab_link_err e);
const char *ab_link_type_name(uint8_t type);     /* "unknown" if none */
const char *ab_link_status_name(uint8_t status); /* "unknown" if none */
const char *ab_link_bye_name(uint8_t reason);    /* "unknown" if none */

#endif
