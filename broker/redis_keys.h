/*
 * redis_keys.h: what agentbusd writes to Redis every interval (the key
 * schema of docs/stats.md), as one batch for redis_push():
 *
 *   agentbus:<host>:<kind>:<label>[:<label>]   hash, every series: its flat
 *       view (stats.h) plus updated_ms; PEXPIRE ttl
 *   agentbus:<host>:<kind>:<labels>:points     stream, kinds marked stream
 *       (services): one entry per interval, XADD MAXLEN ~ stream_len;
 *       PEXPIRE max(ttl, stream_len intervals)
 *   agentbus:<host>:snapshot                   string, the /stats.json
 *       document; PX ttl
 *   agentbus:hosts                             sorted set, host -> last push
 *       (ms); members older than REDIS_HOSTS_KEEP_MS removed; PEXPIRE that
 *   PUBLISH agentbus:stats <snapshot>          the same document, for tools
 *       that subscribe instead of polling
 * where ttl = max(REDIS_TTL_INTERVALS intervals, REDIS_TTL_MIN_MS): every
 * key has a TTL or a cap, so Redis memory stays bounded.
 */
#ifndef AB_REDIS_KEYS_H
#define AB_REDIS_KEYS_H

#include "redis.h"
#include "stats.h"

#include <stddef.h>

#define REDIS_KEY_PREFIX "agentbus"
#define REDIS_CHANNEL "agentbus:stats"
#define REDIS_HOSTS_KEY "agentbus:hosts"
#define REDIS_TTL_INTERVALS 5
#define REDIS_TTL_MIN_MS 3000
#define REDIS_HOSTS_KEEP_MS 3600000

typedef struct redis_keys {
    stats_reg *reg;
    const char *host;
    uint64_t now_ms;          /* wall clock */
    const char *snapshot;     /* the JSON document */
    size_t snapshot_len;
    long stream_len;          /* MAXLEN ~ of the streams */
} redis_keys;

/* A redis_build_fn: ctx is a redis_keys. */
void redis_keys_batch(void *ctx, redis_sink *sink);

#endif
