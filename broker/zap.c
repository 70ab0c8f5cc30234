/*
 * zap.c: the ZAP handler of the link server (see zap.h): one ROUTER on
 * the loop that answers libzmq's authentication requests at once.
 *
 * A request is [routing id][""]["1.0"][request id][domain][address]
 * [identity][mechanism][credentials...]; the reply [routing id][""]
 * ["1.0"][request id][status code][status text][user id][metadata].
 */
#include "zap.h"

#include "common.h"
#include "keys.h"
#include "linkio.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frames of a request after the routing id and the delimiter. */
enum { Z_VERSION = 2, Z_ID, Z_DOMAIN, Z_ADDRESS, Z_IDENTITY, Z_MECHANISM, Z_CRED,
       Z_FRAMES_MAX = 12 };

static int frame_is(msgv *m, size_t i, const char *s)
{
    return msgv_size(m, i) == strlen(s) && memcmp(msgv_data(m, i), s, strlen(s)) == 0;
}

static const zap_key *find_key(const zap *z, const void *key)
{
    for (size_t i = 0; i < z->nkeys; i++) {
        if (memcmp(z->keys[i].key, key, REG_KEY_LEN) == 0)
            return &z->keys[i];
    }
    return NULL;
}

/* ZAP metadata: name length (1 byte), name, value length (4, big-endian),
 * value. */
static size_t put_property(uint8_t *out, const char *name, const char *value)
{
    size_t n = strlen(name), v = strlen(value);
    out[0] = (uint8_t)n;
    memcpy(out + 1, name, n);
    out[1 + n] = (uint8_t)(v >> 24);
    out[2 + n] = (uint8_t)(v >> 16);
    out[3 + n] = (uint8_t)(v >> 8);
    out[4 + n] = (uint8_t)v;
    memcpy(out + 5 + n, value, v);
    return 5 + n + v;
}

/* Answer request m (its first four frames are reused) with status. */
static void answer(zap *z, msgv *m, const char *status, const char *text,
                   const zap_key *k)
{
    uint8_t meta[128];
    size_t mlen = k ? put_property(meta, ZAP_KEY_PROPERTY, k->z85) : 0;
    msgv_truncate(m, Z_ID + 1);
    if (msgv_push_bytes(m, status, 3) != AB_OK ||
        msgv_push_bytes(m, text, strlen(text)) != AB_OK ||
        msgv_push_bytes(m, k ? k->host : "", k ? strlen(k->host) : 0) != AB_OK ||
        msgv_push_bytes(m, meta, mlen) != AB_OK ||
        zsock_send(&z->sock, m) != AB_OK)
        log_error("zap: cannot answer a handshake (%s); libzmq holds it until "
                  "its handshake timeout", zmq_strerror(zmq_errno()));
}

/* One line per refused address (and a last one when the table is full):
 * a scan of the whole range must not flood the log. */
static void log_refusal(zap *z, const char *addr, const char *why)
{
    for (size_t i = 0; i < z->nlogged; i++) {
        if (strcmp(z->logged[i], addr) == 0)
            return;
    }
    if (z->nlogged == ZAP_LOGGED_MAX)
        return;
    snprintf(z->logged[z->nlogged++], ZAP_ADDR_MAX, "%s", addr);
    log_warn("link rejected peer=%s side=in reason=%s (further refusals from this "
             "address are counted, not logged)", addr, why);
    if (z->nlogged == ZAP_LOGGED_MAX)
        log_warn("link rejected: %d addresses refused; refusals from new addresses "
                 "are counted (refused=), not logged", ZAP_LOGGED_MAX);
}

static void refuse(zap *z, msgv *m, const char *addr, const char *why)
{
    z->st->refused++;
    log_refusal(z, addr, why);
    answer(z, m, "400", why, NULL);
}

/* The key of a CURVE request: which host it is, if any. */
static void on_curve(zap *z, msgv *m, const char *addr)
{
    char why[160], fp[KEYS_FINGERPRINT_LEN], z85[REG_KEY_Z85_LEN + 1];
    if (m->n != Z_CRED + 1 || msgv_size(m, Z_CRED) != REG_KEY_LEN) {
        refuse(z, m, addr, "malformed CURVE request");
        return;
    }
    const zap_key *k = find_key(z, msgv_data(m, Z_CRED));
    if (k) {
        z->st->admitted++;
        answer(z, m, "200", "OK", k);
        return;
    }
    zmq_z85_encode(z85, msgv_data(m, Z_CRED), REG_KEY_LEN);
    keys_fingerprint(msgv_data(m, Z_CRED), fp);
    snprintf(why, sizeof why, "unknown_key key=%s fingerprint=%s", z85, fp);
    refuse(z, m, addr, why);
}

static void on_request(zsock *zs, msgv *m)
{
    zap *z = zs->data;
    char addr[ZAP_ADDR_MAX] = "?";
    if (m->n < Z_MECHANISM + 1 || msgv_size(m, 1) != 0 || !frame_is(m, Z_VERSION, "1.0")) {
        log_error("zap: malformed request (%zu frames) dropped", m->n);
        return;
    }
    snprintf(addr, sizeof addr, "%.*s", (int)msgv_size(m, Z_ADDRESS),
             (const char *)msgv_data(m, Z_ADDRESS));
    if (!frame_is(m, Z_DOMAIN, LINKIO_ZAP_DOMAIN))
        refuse(z, m, addr, "not a link server's handshake");
    else if (frame_is(m, Z_MECHANISM, "CURVE"))
        on_curve(z, m, addr);
    else
        refuse(z, m, addr, "links need CURVE");
}

/* ----------------------------------------------------------- the keys -- */

static void add_key(zap_key *k, const uint8_t *key, const char *z85, const char *host)
{
    memcpy(k->key, key, REG_KEY_LEN);
    snprintf(k->z85, sizeof k->z85, "%s", z85);
    snprintf(k->host, sizeof k->host, "%s", host);
}

int zap_set_keys(zap *z, const registry *reg, const char *self)
{
    zap_key *keys = calloc(2 * reg->nhosts + 1, sizeof *keys);
    size_t n = 0;
    if (!keys)
        return AB_ERR;
    for (size_t i = 0; i < reg->nhosts; i++) {
        const reg_host *h = &reg->hosts[i];
        if (strcmp(h->name, self) == 0)
            continue;
        if (h->has_key)
            add_key(&keys[n++], h->public_key, h->public_key_z85, h->name);
        if (h->has_next_key)
            add_key(&keys[n++], h->next_public_key, h->next_public_key_z85, h->name);
    }
    free(z->keys);
    z->keys = keys;
    z->nkeys = n;
    return AB_OK;
}

int zap_key_listed(const registry *reg, const char *host, const char *z85)
{
    const reg_host *h = registry_host(reg, host);
    return h && ((h->has_key && strcmp(h->public_key_z85, z85) == 0) ||
                 (h->has_next_key && strcmp(h->next_public_key_z85, z85) == 0));
}

/* ---------------------------------------------------------- lifecycle -- */

/* The ROUTER, bound and on the loop, or nothing. */
static int open_socket(zap *z, zsock_sched *sched, void *zctx, char *err,
                       size_t errlen)
{
    if (zsock_init(sched, &z->sock, zctx, ZMQ_ROUTER, Z_FRAMES_MAX, err, errlen) != AB_OK)
        return AB_ERR;
    if (zmq_bind(z->sock.sock, ZAP_ENDPOINT) != 0) {
        ab_seterr(err, errlen, "zap: cannot bind %s: %s (links would admit every "
                  "key without it)", ZAP_ENDPOINT, zmq_strerror(zmq_errno()));
        zsock_discard(&z->sock);
        return AB_ERR;
    }
    z->sock.data = z;
    if (zsock_start(&z->sock, on_request, err, errlen) != AB_OK) {
        zsock_discard(&z->sock);
        return AB_ERR;
    }
    return AB_OK;
}

int zap_open(zap *z, zsock_sched *sched, void *zctx, const registry *reg,
             const char *self, linksrv_stats *st, char *err, size_t errlen)
{
    memset(z, 0, sizeof *z);
    z->st = st;
    z->logged = calloc(ZAP_LOGGED_MAX, sizeof *z->logged);
    if (!z->logged || zap_set_keys(z, reg, self) != AB_OK ||
        open_socket(z, sched, zctx, err, errlen) != AB_OK) {
        if (!z->logged || !z->keys)
            ab_seterr(err, errlen, "zap: out of memory");
        free(z->keys);
        free(z->logged);
        memset(z, 0, sizeof *z);
        return AB_ERR;
    }
    z->open = 1;
    return AB_OK;
}

void zap_close(zap *z)
{
    if (!z->open)
        return;
    z->open = 0;
    zsock_close(&z->sock, NULL);
    free(z->keys);
    free(z->logged);
    z->keys = NULL;
    z->logged = NULL;
}
