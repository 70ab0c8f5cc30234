/* request.c: the request pool and the request state machine. */
#include "request.h"

#include "common.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* Requests are allocated in chunks on demand and never moved, so a slot
 * number maps to a stable pointer without a hash table. */
#define REQ_CHUNK 256

static const char *const state_names[] = {
#define REQ_STATE_NAME(sym, name) name,
    REQ_STATES(REQ_STATE_NAME)
#undef REQ_STATE_NAME
};

const char *req_state_name(req_state s) { return state_names[s]; }

int reqpool_init(reqpool *p, size_t max)
{
    memset(p, 0, sizeof *p);
    p->max = max;
    ab_list_init(&p->free_list);
    return AB_OK;
}

void reqpool_free(reqpool *p)
{
    for (size_t c = 0; c < p->nchunks; c++) {
        for (size_t i = 0; i < REQ_CHUNK; i++)
            msgv_clear(&p->chunks[c][i].msg);
        free(p->chunks[c]);
    }
    free(p->chunks);
    memset(p, 0, sizeof *p);
}

/* Add one chunk of FREE requests to the free list. */
static int pool_grow(reqpool *p)
{
    request **chunks = realloc(p->chunks, (p->nchunks + 1) * sizeof *chunks);
    if (!chunks)
        return AB_ERR;
    p->chunks = chunks;
    request *c = calloc(REQ_CHUNK, sizeof *c);
    if (!c)
        return AB_ERR;
    for (size_t i = 0; i < REQ_CHUNK; i++) {
        c[i].slot = (uint32_t)(p->nchunks * REQ_CHUNK + i);
        msgv_init(&c[i].msg, 0);
        ab_list_init(&c[i].dlink);
        ab_list_init(&c[i].olink);
        ab_list_push_tail(&p->free_list, &c[i].link);
    }
    p->chunks[p->nchunks++] = c;
    return AB_OK;
}

request *req_alloc(reqpool *p)
{
    if (p->used >= p->max)
        return NULL;
    if (ab_list_empty(&p->free_list) && pool_grow(p) != AB_OK)
        return NULL;
    request *r = AB_CONTAINER_OF(ab_list_head(&p->free_list), request, link);
    ab_list_remove(&r->link);
    p->used++;
    return r;
}

void req_take(reqpool *p, request *r, msgv *m, size_t env_frames)
{
    r->env_frames = env_frames;
    r->bytes = m->bytes;
    p->held_bytes += r->bytes;
    msgv_take(&r->msg, m);
}

void req_release(reqpool *p, request *r)
{
    if (r->state != REQ_FREE) {
        log_error("BUG: releasing request %u in state %s", r->slot,
                  req_state_name(r->state));
        abort();
    }
    msgv_clear(&r->msg);
    p->held_bytes -= r->bytes;
    r->bytes = 0;
    r->be = NULL;
    r->chan = NULL;
    r->svc = NULL;
    r->gen++;
    ab_list_remove(&r->dlink);
    ab_list_remove(&r->olink);
    /* LIFO: the slot just used is the one warm in cache. */
    ab_list_insert_after(&p->free_list, &r->link);
    p->used--;
}

void req_encode_id(const request *r, uint8_t out[REQ_ID_LEN])
{
    memcpy(out, &r->slot, 4);
    memcpy(out + 4, &r->gen, 4);
}

uint64_t req_id64(const request *r)
{
    return (uint64_t)r->slot << 32 | r->gen;
}

request *req_lookup64(reqpool *p, uint64_t id)
{
    uint32_t slot = (uint32_t)(id >> 32), gen = (uint32_t)id;
    if (slot / REQ_CHUNK >= p->nchunks)
        return NULL;
    request *r = &p->chunks[slot / REQ_CHUNK][slot % REQ_CHUNK];
    return r->gen == gen && r->state != REQ_FREE ? r : NULL;
}

request *req_lookup(reqpool *p, const void *id, size_t len)
{
    uint32_t slot, gen;
    if (len != REQ_ID_LEN)
        return NULL;
    memcpy(&slot, id, 4);
    memcpy(&gen, (const uint8_t *)id + 4, 4);
    return req_lookup64(p, (uint64_t)slot << 32 | gen);
}

/* Allowed transitions, [from][to]. */
static const unsigned char allowed[3][3] = {
    [REQ_FREE] = {[REQ_QUEUED] = 1},
    [REQ_QUEUED] = {[REQ_INFLIGHT] = 1, [REQ_FREE] = 1},
    [REQ_INFLIGHT] = {[REQ_FREE] = 1},
};

void req_set_state(request *r, req_state to)
{
    if (!allowed[r->state][to]) {
        log_error("BUG: request %u: impossible transition %s -> %s", r->slot,
                  req_state_name(r->state), req_state_name(to));
        abort();
    }
    r->state = to;
}
