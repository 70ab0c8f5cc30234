/*
 * registry.h: the registry file, the single source of truth for ports.
 *
 * registry_load() parses and validates a YAML registry and returns either a
 * fully valid registry or AB_ERR with every diagnostic found, one per line,
 * each shaped "FILE:LINE: FIELD: message" (FIELD is a dotted path such as
 * services.translation.port). A loaded registry is immutable.
 */
#ifndef AB_REGISTRY_H
#define AB_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Per-service knobs; each may be set under `defaults:` or per service. */
#define REG_DEFAULT_TIMEOUT_MS 5000
#define REG_DEFAULT_MAX_INFLIGHT 16         /* per backend */
#define REG_DEFAULT_QUEUE_MAX 1024          /* per service */
#define REG_DEFAULT_MAX_MSG_BYTES (8u << 20)
#define REG_DEFAULT_MAX_FRAMES 64
#define REG_DEFAULT_HEARTBEAT_MS 0          /* off: old REQ peers drop on PING */
#define REG_DEFAULT_MAX_PER_CLIENT 256      /* requests one client may have held */
#define REG_DEFAULT_PIPELINE_MS 2           /* see docs/registry.md */

/* Upper ends of the knobs' ranges: the bounds libzmq enforces on every
 * socket, which cannot change while a port stays bound. */
#define REG_MAX_MSG_BYTES_MAX (1u << 30)
#define REG_MAX_FRAMES_MAX 4096
#define REG_MAX_INFLIGHT_MAX 100000

#define REG_NAME_MAX 64    /* service and host names */
#define REG_KEY_LEN 32     /* a CURVE public key, bytes */
#define REG_KEY_Z85_LEN 40 /* ... and as Z85 text */

/* The top-level `links:` section: how brokers keep their links to each
 * other (docs/links.md). Each has a default; the integration reads them. */
#define REG_DEFAULT_LINKS_PER_PEER 1        /* DEALER connections per peer */
#define REG_DEFAULT_LINK_HEARTBEAT_MS 1000  /* PING at least this often */
#define REG_DEFAULT_LINK_DOWN_MS 3000       /* silent this long: link down */
#define REG_DEFAULT_LINK_RECONNECT_MS 100   /* ZMQ_RECONNECT_IVL */
#define REG_DEFAULT_LINK_RECONNECT_MAX_MS 5000 /* ZMQ_RECONNECT_IVL_MAX */
#define REG_DEFAULT_LINK_HWM 10000          /* messages queued per link */
#define REG_DEFAULT_LINK_MARGIN_MS 50       /* far deadline = near - this */

typedef struct reg_links {
    int per_peer;         /* 1..16 */
    int heartbeat_ms;     /* 100..60000 */
    int down_ms;          /* 300..600000, >= 2 * heartbeat_ms */
    int reconnect_ms;     /* 10..60000 */
    int reconnect_max_ms; /* reconnect_ms..600000 */
    int hwm;              /* 100..1000000 */
    int margin_ms;        /* 0..10000 */
} reg_links;

typedef struct reg_host {
    char *name;
    int line;
    char *link;        /* NULL, or tcp://ADDR:PORT its broker binds */
    int link_port;     /* the port of link, 0 without one */
    int link_line, key_line; /* lines of link and public_key, for messages */
    bool has_key;      /* public_key given */
    uint8_t public_key[REG_KEY_LEN];
    char public_key_z85[REG_KEY_Z85_LEN + 1];
    bool has_next_key; /* next_public_key given (key rotation) */
    uint8_t next_public_key[REG_KEY_LEN];
    char next_public_key_z85[REG_KEY_Z85_LEN + 1];
} reg_host;

/* Whether a JSON body of a service may cross a link as msgpack. */
typedef enum reg_transcode {
    REG_TRANSCODE_OFF = 0, /* always raw */
    REG_TRANSCODE_AUTO = 1 /* msgpack when the far side restores it exactly */
} reg_transcode;

typedef struct reg_service {
    char *name;
    char *host;            /* name of the host whose broker owns the backends */
    int port;              /* 1..65535, unique in the registry */
    char **backends;       /* zmq endpoints, tcp:// or ipc:// */
    size_t nbackends;      /* >= 1 */
    int timeout_ms;        /* 1..3600000 */
    int max_inflight;      /* 1..100000, per backend */
    int queue_max;         /* 0..1000000, requests waiting for a backend */
    size_t max_msg_bytes;  /* 1..1 GiB, total body bytes of one message */
    int max_frames;        /* 1..4096, body frames of one message */
    int heartbeat_ms;      /* 0 (off) or 100..3600000, backend side only */
    int max_per_client;    /* 1..1000000, requests held per client connection */
    int pipeline_ms;       /* 0..3600000, pipeline only behind a younger request */
    reg_transcode transcode; /* default auto */
    int line;              /* line of the service's key, for messages */
} reg_service;

typedef struct registry {
    char *path;
    reg_host *hosts;
    size_t nhosts;
    reg_service *services; /* in file order */
    size_t nservices;
    reg_links links;       /* defaults when the file has no links: */
} registry;

/* Load and validate PATH. On AB_OK *out owns a new registry; on AB_ERR
 * *out is NULL and err holds every diagnostic (truncated to errlen). */
int registry_load(const char *path, registry **out, char *err, size_t errlen);
void registry_free(registry *reg);

const reg_service *registry_service(const registry *reg, const char *name);
const reg_host *registry_host(const registry *reg, const char *name);

#endif
