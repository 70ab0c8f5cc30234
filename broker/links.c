/*
 * links.c: the links of the broker as a whole (see links.h): which peers
 * and which link server the registry asks for, opened at start and kept
 * in step on reloads.
 */
#include "links.h"

#include "broker.h"
#include "common.h"
#include "log.h"

#include <sodium.h>
#include <string.h>

/* The first reason host takes part in reg's links, or NULL. */
static const char *part_reason(const registry *reg, const char *host, char *buf,
                               size_t len)
{
    const reg_host *h = registry_host(reg, host);
    if (reg->nhosts < 2 || !h)
        return NULL;
    if (h->link) {
        ab_strfmt(buf, len, "it has a link: %s", h->link);
        return buf;
    }
    for (size_t i = 0; i < reg->nservices; i++) {
        if (strcmp(reg->services[i].host, host) != 0) {
            ab_strfmt(buf, len, "it fronts service %s of host %s", reg->services[i].name,
                      reg->services[i].host);
            return buf;
        }
    }
    return NULL;
}

bool links_take_part(const registry *reg, const char *host)
{
    char why[160];
    return part_reason(reg, host, why, sizeof why) != NULL;
}

int links_load_key(const char *path, const registry *reg, const char *host,
                   int plaintext, keys_secret *key, int *has, char *err, size_t errlen)
{
    char why[160];
    *has = 0;
    if (!path) {
        if (plaintext || !part_reason(reg, host, why, sizeof why))
            return AB_OK;
        return ab_seterr(err, errlen, "host %s takes part in links (%s): start "
                         "agentbusd with --secret-key FILE (make one with: agentbus "
                         "keygen %s), or with --link-plaintext in a lab", host, why, host);
    }
    if (keys_load(path, key, err, errlen) != AB_OK)
        return AB_ERR;
    if (keys_check_registry(key, reg, host, path, err, errlen) != AB_OK) {
        keys_wipe(key);
        return AB_ERR;
    }
    *has = 1;
    return AB_OK;
}

/* ------------------------------------------------------------ peers -- */

/* Whether this broker dials host h of reg: it hosts a service. */
static bool dials(const registry *reg, const reg_host *h, const char *self)
{
    if (strcmp(h->name, self) == 0 || !h->link)
        return false;
    for (size_t i = 0; i < reg->nservices; i++) {
        if (strcmp(reg->services[i].host, h->name) == 0)
            return true;
    }
    return false;
}

size_t links_dialled(const registry *reg, const char *host)
{
    size_t n = 0;
    if (!links_take_part(reg, host))
        return 0;
    for (size_t i = 0; i < reg->nhosts; i++)
        n += dials(reg, &reg->hosts[i], host);
    return n;
}

static peer *take_peer(ab_list *from, const char *host)
{
    for (ab_list *l = ab_list_head(from); l != from; l = l->next) {
        peer *p = AB_CONTAINER_OF(l, peer, link);
        if (strcmp(p->host, host) == 0)
            return p;
    }
    return NULL;
}

/* The peers reg asks for, reusing those of `old` that still fit (moved
 * back to br->peers); old keeps the rest. */
static int place_peers(broker *br, const registry *reg, ab_list *old, int rekeyed,
                       char *err, size_t errlen)
{
    int rc = AB_OK;
    if (!links_take_part(reg, br->opts.host))
        return AB_OK;
    for (size_t i = 0; i < reg->nhosts; i++) {
        const reg_host *h = &reg->hosts[i];
        peer *p;
        if (!dials(reg, h, br->opts.host))
            continue;
        p = take_peer(old, h->name);
        if (p && !rekeyed && peer_same(p, h, &reg->links)) {
            ab_list_remove(&p->link);
            ab_list_push_tail(&br->peers, &p->link);
        } else if (peer_open(br, h, &reg->links, &p, err, errlen) != AB_OK) {
            rc = AB_ERR; /* its services answer unavailable: no link */
        }
    }
    return rc;
}

static void close_peers(ab_list *list, int reason, const char *why)
{
    while (!ab_list_empty(list))
        peer_close(AB_CONTAINER_OF(ab_list_head(list), peer, link), reason, why);
}

/* ----------------------------------------------------- the link server -- */

/* The link this host serves under reg, or NULL. */
static const char *served_link(const registry *reg, const char *self)
{
    const reg_host *h = registry_host(reg, self);
    return h && links_take_part(reg, self) ? h->link : NULL;
}

static int open_zap(broker *br, const registry *reg, char *err, size_t errlen)
{
    if (br->opts.link_plaintext)
        return AB_OK;
    if (br->zap.open)
        return zap_set_keys(&br->zap, reg, br->opts.host) == AB_OK
                   ? AB_OK : ab_seterr(err, errlen, "zap: out of memory");
    return zap_open(&br->zap, &br->sched, br->zctx, reg, br->opts.host, &br->lsrv_stats,
                    err, errlen);
}

/* The server reg asks for: kept, re-opened (another endpoint, another
 * key, other socket knobs), opened, or closed. */
static int place_server(broker *br, const registry *reg, int rekeyed, char *err,
                        size_t errlen)
{
    const char *link = served_link(reg, br->opts.host);
    linksrv *srv = br->srv;
    if (srv && (!link || rekeyed || strcmp(srv->endpoint, link) != 0 ||
                memcmp(&srv->cfg, &reg->links, sizeof reg->links) != 0)) {
        linksrv_close(srv, link ? AB_LINK_BYE_SHUTDOWN : AB_LINK_BYE_REMOVED);
        br->srv = NULL;
    }
    if (!link || br->srv)
        return AB_OK;
    if (open_zap(br, reg, err, errlen) != AB_OK)
        return AB_ERR; /* never a link server without its ZAP handler */
    return linksrv_open(br, reg, link, srv != NULL, &br->srv, err, errlen);
}

/* ---------------------------------------------------------- lifecycle -- */

/* This broker's session epoch: random, nonzero, drawn once. */
static void draw_epoch(broker *br)
{
    while (br->epoch == 0)
        randombytes_buf(&br->epoch, sizeof br->epoch);
}

int links_open(broker *br, char *err, size_t errlen)
{
    if (!links_take_part(br->reg, br->opts.host))
        return AB_OK;
    draw_epoch(br);
    if (br->opts.link_plaintext)
        log_warn("link plaintext: links between brokers are NOT encrypted and NOT "
                 "authenticated (--link-plaintext); use this in a lab only");
    if (place_server(br, br->reg, 0, err, errlen) != AB_OK)
        return AB_ERR;
    ab_list none;
    ab_list_init(&none);
    return place_peers(br, br->reg, &none, 0, err, errlen);
}

void links_reload_begin(broker *br, const registry *next, const keys_secret *key, int has)
{
    char err[AB_ERRLEN], fp[KEYS_FINGERPRINT_LEN];
    int rekeyed = has != br->has_key ||
                  (has && memcmp(key->secret_key, br->key.secret_key, KEYS_LEN) != 0);
    if (rekeyed) {
        keys_wipe(&br->key);
        br->key = *key;
        br->has_key = has;
        keys_fingerprint(br->key.public_key, fp);
        log_info("reload secret_key host=%s public_key=%s fingerprint=%s: links are "
                 "re-made with it", br->key.host, br->key.public_z85, fp);
    }
    draw_epoch(br);
    ab_list_move_all(&br->old_peers, &br->peers);
    if (place_peers(br, next, &br->old_peers, rekeyed, err, sizeof err) != AB_OK)
        log_error("reload link: %s", err);
    if (br->zap.open && open_zap(br, next, err, sizeof err) != AB_OK)
        log_error("reload link: %s", err);
    if (place_server(br, next, rekeyed, err, sizeof err) != AB_OK)
        log_error("reload link: %s", err);
}

void links_reload_end(broker *br, const registry *next)
{
    close_peers(&br->old_peers, AB_LINK_BYE_REMOVED, "removed or changed by a reload");
    if (br->srv)
        linksrv_apply(br->srv, next);
}

void links_close(broker *br)
{
    close_peers(&br->peers, AB_LINK_BYE_SHUTDOWN, "broker shutting down");
    if (br->srv)
        linksrv_close(br->srv, AB_LINK_BYE_SHUTDOWN);
    br->srv = NULL;
    zap_close(&br->zap);
    linkio_bufs_free(&br->lbufs);
}

int links_ready(const broker *br, char *why, size_t len)
{
    for (const ab_list *l = ab_list_head(&br->peers); l != &br->peers; l = l->next) {
        const peer *p = AB_CONTAINER_OF(l, peer, link);
        const char *down = peer_down(p);
        if (down)
            return ab_seterr(why, len, "no link to host %s is up (%s)", p->host, down);
    }
    return AB_OK;
}
