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
    X(replies, counter, "backend replies delivered to clients")            \
    X(timeouts, counter, "timeout error replies sent")                     \
    X(unavailable, counter, "unavailable error replies sent")              \
    X(overloaded, counter, "overloaded error replies sent")                \
    X(too_large, counter, "too_large error replies sent")                  \
    X(bad_request, counter, "bad_request error replies sent")              \
    X(late_replies, counter,                                               \
      "backend replies dropped: the request was already answered")         \
    X(bad_replies, counter,                                                \
      "backend messages dropped: not shaped [id][empty][body]")            \
    X(undeliverable, counter,                                              \
      "replies dropped: the client was gone or not reading")               \
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
