/*
 * test_request.c: the request pool and state machine: ids name exactly one
 * live request, stale ids are refused, the pool bound holds, and impossible
 * transitions abort instead of corrupting state.
 */
#include "check.h"
#include "request.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_alloc_and_bound(void)
{
    reqpool p;
    reqpool_init(&p, 3);
    request *a = req_alloc(&p), *b = req_alloc(&p), *c = req_alloc(&p);
    CHECK(a && b && c);
    CHECK(a != b && b != c && a != c);
    CHECK(req_alloc(&p) == NULL); /* bound reached */
    CHECK(p.used == 3);
    req_release(&p, b);
    CHECK(p.used == 2);
    request *d = req_alloc(&p);
    CHECK(d == b); /* recycled */
    req_release(&p, a);
    req_release(&p, c);
    req_release(&p, d);
    CHECK(p.used == 0);
    reqpool_free(&p);
}

static void test_ids(void)
{
    reqpool p;
    reqpool_init(&p, 1000);
    request *r = req_alloc(&p);
    uint8_t id[REQ_ID_LEN], old[REQ_ID_LEN];
    req_set_state(r, REQ_QUEUED);
    req_encode_id(r, id);
    CHECK(req_lookup(&p, id, sizeof id) == r);
    CHECK(req_lookup(&p, id, sizeof id - 1) == NULL); /* wrong length */
    memcpy(old, id, sizeof id);
    req_set_state(r, REQ_FREE);
    req_release(&p, r);
    CHECK(req_lookup(&p, old, sizeof old) == NULL); /* freed */
    request *again = req_alloc(&p);
    CHECK(again == r);
    req_set_state(again, REQ_QUEUED);
    CHECK(req_lookup(&p, old, sizeof old) == NULL); /* late reply: stale gen */
    req_encode_id(again, id);
    CHECK(req_lookup(&p, id, sizeof id) == again);
    uint8_t bogus[REQ_ID_LEN] = {0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0};
    CHECK(req_lookup(&p, bogus, sizeof bogus) == NULL); /* slot out of range */
    req_set_state(again, REQ_FREE);
    req_release(&p, again);
    reqpool_free(&p);
}

static void test_legal_transitions(void)
{
    reqpool p;
    reqpool_init(&p, 4);
    request *r = req_alloc(&p);
    CHECK(r->state == REQ_FREE);
    req_set_state(r, REQ_QUEUED);
    req_set_state(r, REQ_INFLIGHT);
    CHECK(r->state == REQ_INFLIGHT);
    req_set_state(r, REQ_FREE);
    req_set_state(r, REQ_QUEUED);
    req_set_state(r, REQ_FREE); /* answered while queued */
    CHECK(r->state == REQ_FREE);
    CHECK(strcmp(req_state_name(REQ_INFLIGHT), "inflight") == 0);
    req_release(&p, r);
    reqpool_free(&p);
}

/* Run one transition in a child; 1 if the child died of SIGABRT. */
static int aborts(req_state from_path_end, req_state to)
{
    pid_t pid = fork();
    if (pid == 0) {
        reqpool p;
        reqpool_init(&p, 1);
        request *r = req_alloc(&p);
        if (from_path_end != REQ_FREE)
            req_set_state(r, REQ_QUEUED);
        if (from_path_end == REQ_INFLIGHT)
            req_set_state(r, REQ_INFLIGHT);
        req_set_state(r, to);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void test_impossible_transitions(void)
{
    CHECK(aborts(REQ_FREE, REQ_INFLIGHT));   /* dispatch without accept */
    CHECK(aborts(REQ_FREE, REQ_FREE));       /* answer twice */
    CHECK(aborts(REQ_INFLIGHT, REQ_QUEUED)); /* re-queue a sent request */
    CHECK(aborts(REQ_INFLIGHT, REQ_INFLIGHT));
    CHECK(aborts(REQ_QUEUED, REQ_QUEUED));
    CHECK(!aborts(REQ_QUEUED, REQ_INFLIGHT)); /* the harness itself works */
}

int main(void)
{
    /* The aborting children would print ASan/abort noise; keep it short. */
    setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
    test_alloc_and_bound();
    test_ids();
    test_legal_transitions();
    test_impossible_transitions();
    return CHECK_DONE();
}
