/*
 * stats.h: every statistic, declared once.
 *
 * SVC_STATS (per service), LINK_STATS (per link to a peer host, each
 * way) and LINKSRV_STATS (the link server as a whole) list (name, type,
 * help). The structs, the log lines printed on SIGUSR1 and the docs
 * tables are all generated from these lists, so a new stat is one line
 * here and nothing else.
 */
#ifndef AB_STATS_H
#define AB_STATS_H

#include <stddef.h>
#include <stdint.h>

#define SVC_STATS(X)                                                       \
    X(requests, counter, "requests received from clients")                 \
    X(replies, counter,                                                    \
      "backend replies delivered to clients (not those undeliverable)")    \
    X(timeouts, counter, "requests answered with a timeout error")         \
    X(unavailable, counter, "requests answered with an unavailable error") \
    X(overloaded, counter, "requests answered with an overloaded error")   \
    X(too_large, counter, "requests answered with a too_large error")      \
    X(bad_request, counter, "requests answered with a bad_request error")  \
    X(bad_reply, counter, "requests answered with a bad_reply error")      \
    X(late_replies, counter,                                               \
      "backend replies dropped: the request was already answered")         \
    X(stray_replies, counter,                                              \
      "backend messages dropped: no request id in front")                  \
    X(undeliverable, counter,                                              \
      "replies (real or error) dropped: the client was gone or not reading") \
    X(cancelled, counter,                                                  \
      "queued requests dropped unanswered: the requesting broker cancelled") \
    X(cuts_too_large, counter,                                             \
      "connections cut: a partial message over the per-message bound")     \
    X(cuts_too_slow, counter,                                              \
      "connections cut: a partial message pending over --partial-ms")      \
    X(cuts_memory, counter,                                                \
      "connections cut: the largest partial message over --max-memory")    \
    X(queued, gauge, "requests waiting for a free backend")                \
    X(inflight, gauge, "requests sent to a backend, not yet answered")

/* One link to a peer host in one direction (docs/links.md,
 * "Statistics"): `out` is the pool of connections this broker keeps to
 * the peer's link server (requests it sends there), `in` the connections
 * the peer keeps to this broker's (requests it serves). Each side counts
 * what it sends and receives; a counter that cannot move on one side
 * stays 0 there. */
#define LINK_STATS(X)                                                      \
    X(requests, counter, "requests sent (out) or received (in)")           \
    X(replies, counter, "agent replies received (out) or sent (in)")       \
    X(errors, counter,                                                     \
      "error replies received from the far broker (out) or sent (in)")     \
    X(failed, counter,                                                     \
      "requests in flight answered unavailable because the link went down") \
    X(late_replies, counter,                                               \
      "replies dropped: already answered (out); cancelled or requester gone (in)") \
    X(cancels, counter, "CANCELs sent (out) or received (in)")             \
    X(ups, counter, "sessions that came up (HELLO exchanged)")             \
    X(downs, counter, "sessions that went down")                           \
    X(reconnects, counter, "connection attempts retried (out)")            \
    X(rejected, counter,                                                   \
      "handshakes or HELLOs refused (out: by the peer; in: by this broker)") \
    X(bad_messages, counter, "malformed link messages received and dropped") \
    X(unsendable, counter,                                                 \
      "messages libzmq refused to queue (full, or the peer vanished)")     \
    X(wire_out, counter,                                                   \
      "bytes sent: link envelopes and bodies with ZMTP and CURVE framing") \
    X(wire_in, counter, "bytes received, counted the same way")            \
    X(body_out, counter, "agent body bytes sent (as the agent sent them)") \
    X(body_in, counter, "agent body bytes received (as restored)")         \
    X(transcoded, counter, "bodies sent as msgpack")                       \
    X(raw, counter, "bodies sent as the agent's bytes")                    \
    X(pings, counter, "PINGs sent")                                        \
    X(guard_cuts, counter,                                                 \
      "connections the guard cut (a partial message over its bound)")     \
    X(up, gauge, "connections whose session is up")                        \
    X(inflight, gauge, "requests sent, not answered yet (out); being served (in)") \
    X(rtt_p50_us, gauge, "median PING round trip of the last 128, microseconds") \
    X(rtt_p99_us, gauge, "99th percentile of the same, microseconds")

/* The link server as a whole: handshakes its ZAP handler decided. */
#define LINKSRV_STATS(X)                                                   \
    X(admitted, counter, "link handshakes admitted (a registry host's key)") \
    X(refused, counter, "link handshakes refused (a key not in the registry)") \
    X(guard_cuts, counter,                                                 \
      "connections the guard cut (a partial message over its bound)")     \
    X(connections, gauge, "link connections open to this broker")

#define STATS_FIELD(name, type, help) uint64_t name;
typedef struct svc_stats { SVC_STATS(STATS_FIELD) } svc_stats;
typedef struct link_stats { LINK_STATS(STATS_FIELD) } link_stats;
typedef struct linksrv_stats { LINKSRV_STATS(STATS_FIELD) } linksrv_stats;
#undef STATS_FIELD

/* Append "name=value" pairs for every stat to buf; return buf. */
char *svc_stats_format(const svc_stats *s, char *buf, size_t len);
char *link_stats_format(const link_stats *s, char *buf, size_t len);
char *linksrv_stats_format(const linksrv_stats *s, char *buf, size_t len);

#endif
