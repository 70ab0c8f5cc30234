/*
 * stats.h: every per-service statistic, declared once.
 *
 * SVC_STATS lists (name, type, help). The struct, the log line printed on
 * SIGUSR1 and the docs table are all generated from this list, so a new stat
 * is one line here and nothing else.
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
    X(cuts_too_large, counter,                                             \
      "connections cut: a partial message over the per-message bound")     \
    X(cuts_too_slow, counter,                                              \
      "connections cut: a partial message pending over --partial-ms")      \
    X(cuts_memory, counter,                                                \
      "connections cut: the largest partial message over --max-memory")    \
    X(queued, gauge, "requests waiting for a free backend")                \
    X(inflight, gauge, "requests sent to a backend, not yet answered")

typedef struct svc_stats {
#define SVC_STAT_FIELD(name, type, help) uint64_t name;
    SVC_STATS(SVC_STAT_FIELD)
#undef SVC_STAT_FIELD
} svc_stats;

/* Append "name=value" pairs for every stat to buf; returns buf. */
char *svc_stats_format(const svc_stats *s, char *buf, size_t len);

#endif
