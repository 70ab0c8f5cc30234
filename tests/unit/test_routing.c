/*
 * test_routing.c: the routing decisions that do not need sockets: which
 * backend takes the next request, how envelopes are found and bounded, and
 * the exact shape of an error reply.
 */
#include "backend.h"
#include "check.h"
#include "msgv.h"
#include "service.h"

static void set(backend *b, int up, int stalled, int inflight)
{
    b->up = up;
    b->stalled = stalled;
    b->inflight = inflight;
}

/* Everyone busy since t=0; pipelining allowed behind requests under 10 ms. */
static const pick_rule young = {.max_inflight = 16, .pipeline_ms = 10, .now = 5};

static void test_pick_fewest_outstanding(void)
{
    backend b[3] = {0};
    backend *bes[3] = {&b[0], &b[1], &b[2]};
    pick_rule at5 = {.max_inflight = 5, .pipeline_ms = 10, .now = 5};
    set(&b[0], 1, 0, 5);
    set(&b[1], 1, 0, 2);
    set(&b[2], 1, 0, 3);
    CHECK(backend_pick(bes, 3, &young, 0) == &b[1]);
    CHECK(backend_pick(bes, 3, &young, 2) == &b[1]); /* start only breaks ties */
    set(&b[1], 0, 0, 0);                              /* down: skipped */
    CHECK(backend_pick(bes, 3, &young, 0) == &b[2]);
    set(&b[2], 1, 1, 0);                              /* stalled: skipped */
    CHECK(backend_pick(bes, 3, &young, 0) == &b[0]);
    CHECK(backend_pick(bes, 3, &at5, 0) == NULL);     /* b[0] at max_inflight */
    CHECK(backend_pick(bes, 0, &young, 0) == NULL);   /* no backends */
}

static void test_pick_rotates_ties(void)
{
    backend b[3] = {0};
    backend *bes[3] = {&b[0], &b[1], &b[2]};
    for (int i = 0; i < 3; i++)
        set(&b[i], 1, 0, 0);
    CHECK(backend_pick(bes, 3, &young, 0) == &b[0]);
    CHECK(backend_pick(bes, 3, &young, 1) == &b[1]);
    CHECK(backend_pick(bes, 3, &young, 5) == &b[2]); /* start wraps modulo n */
}

/* A backend busy with one request for pipeline_ms or more gets nothing
 * more until it replies: the request would wait for all of that one. */
static void test_pick_never_stacks_behind_an_old_request(void)
{
    backend b[2] = {0};
    backend *bes[2] = {&b[0], &b[1]};
    set(&b[0], 1, 0, 1);
    set(&b[1], 1, 0, 3);
    b[0].busy_since = 0;
    b[1].busy_since = 95;
    pick_rule at100 = {.max_inflight = 16, .pipeline_ms = 10, .now = 100};
    CHECK(backend_pick(bes, 2, &young, 0) == &b[0]);   /* both young: fewest */
    CHECK(backend_pick(bes, 2, &at100, 0) == &b[1]);   /* b[0]'s is 100 ms old */
    b[1].busy_since = 90;
    CHECK(backend_pick(bes, 2, &at100, 0) == NULL);    /* both old: queue */
    set(&b[1], 1, 0, 0);
    CHECK(backend_pick(bes, 2, &at100, 0) == &b[1]);   /* idle takes it */
    pick_rule never = {.max_inflight = 16, .pipeline_ms = 0, .now = 5};
    set(&b[1], 1, 0, 1);
    CHECK(backend_pick(bes, 2, &never, 0) == NULL);    /* 0: no pipelining */
}

/* A request answered `timeout` still occupies a REP until it is done (or
 * for another timeout, then it is assumed dropped). */
static void test_pick_counts_zombies(void)
{
    backend b[2] = {0};
    backend *bes[2] = {&b[0], &b[1]};
    set(&b[0], 1, 0, 0);
    set(&b[1], 1, 0, 1);
    b[1].busy_since = 0;
    backend_abandon(&b[0], 0, 1000);                   /* b[0]: one zombie */
    pick_rule at100 = {.max_inflight = 16, .pipeline_ms = 10, .now = 100};
    CHECK(backend_pick(bes, 2, &at100, 0) == NULL);    /* both busy, old */
    pick_rule at1000 = {.max_inflight = 16, .pipeline_ms = 10, .now = 1000};
    CHECK(backend_pick(bes, 2, &at1000, 0) == &b[0]);  /* assumed dropped */
    backend_abandon(&b[0], 1000, 2000);
    CHECK(b[0].zombies == 1);                          /* the stale one is gone */
}

static void test_msgv_limit_and_delimiter(void)
{
    msgv m;
    msgv_init(&m, 3);
    CHECK(msgv_push_bytes(&m, "id", 2) == 0);
    CHECK(msgv_push_bytes(&m, NULL, 0) == 0);
    CHECK(msgv_push_bytes(&m, "body", 4) == 0);
    CHECK(msgv_push_bytes(&m, "more", 4) == 0); /* beyond limit: dropped */
    CHECK(m.n == 3 && m.dropped == 1 && m.bytes == 10);
    CHECK(msgv_delimiter(&m) == 1);
    msgv_truncate(&m, 2);
    CHECK(m.n == 2);
    msgv big;
    msgv_init(&big, (size_t)-1);
    for (int i = 0; i < 20; i++) /* forces the heap array */
        CHECK(msgv_push_bytes(&big, "x", 1) == 0);
    msgv dst;
    msgv_init(&dst, 7);
    msgv_take(&dst, &big);
    CHECK(dst.n == 20 && big.n == 0 && dst.limit == 7);
    CHECK(msgv_delimiter(&dst) == -1);
    msgv_clear(&dst);
    msgv_clear(&m);
}

static void test_error_body(void)
{
    char buf[512];
    size_t n = svc_error_body(buf, sizeof buf, "translation", ERR_TIMEOUT,
                              "no reply from \"a\"\n");
    CHECK(n == strlen(buf));
    CHECK(strcmp(buf, "{\"status\":\"error\",\"error\":\"timeout\",\"service\":"
                      "\"translation\",\"message\":\"no reply from \\\"a\\\"\\u000a\"}") == 0);
    svc_error_body(buf, sizeof buf, "s", ERR_OVERLOADED, "");
    CHECK_STR_CONTAINS(buf, "\"error\":\"overloaded\"");
    svc_error_body(buf, sizeof buf, "s", ERR_UNAVAILABLE, "");
    CHECK_STR_CONTAINS(buf, "\"error\":\"unavailable\"");
    svc_error_body(buf, sizeof buf, "s", ERR_TOO_LARGE, "");
    CHECK_STR_CONTAINS(buf, "\"error\":\"too_large\"");
    svc_error_body(buf, sizeof buf, "s", ERR_BAD_REQUEST, "");
    CHECK_STR_CONTAINS(buf, "\"error\":\"bad_request\"");
    svc_error_body(buf, sizeof buf, "s", ERR_BAD_REPLY, "");
    CHECK_STR_CONTAINS(buf, "\"error\":\"bad_reply\"");
    n = svc_error_body(buf, 16, "s", ERR_TIMEOUT, "x"); /* truncation is safe */
    CHECK(n == 15 && strlen(buf) == 15);
}

int main(void)
{
    test_pick_fewest_outstanding();
    test_pick_rotates_ties();
    test_pick_never_stacks_behind_an_old_request();
    test_pick_counts_zombies();
    test_msgv_limit_and_delimiter();
    test_error_body();
    return CHECK_DONE();
}
