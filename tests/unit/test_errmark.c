/*
 * test_errmark.c: the error mark for agentbus.h clients: set on exactly
 * their tag frame, and on nothing a REQ or other DEALER client sends.
 */
#include "check.h"
#include "errmark.h"
#include "msgv.h"

/* An envelope [routing id][extra frames...][""]; returns env. */
static msgv *envelope(msgv *env, const void *extra, size_t len)
{
    msgv_init(env, (size_t)-1);
    msgv_push_bytes(env, "\0\x01\x02\x03\x04", 5); /* a libzmq routing id */
    if (extra)
        msgv_push_bytes(env, extra, len);
    msgv_push_bytes(env, NULL, 0);
    return env;
}

static const unsigned char *frame(msgv *m, size_t i) { return msgv_data(m, i); }

static void test_marks_the_tag(void)
{
    static const unsigned char tag[ERRMARK_TAG_LEN] = {0, 'a', 'b', 'q', 1, 2, 3, 4, 5, 6, 7, 8};
    msgv env;
    errmark_envelope(envelope(&env, tag, sizeof tag));
    CHECK(frame(&env, 1)[ERRMARK_KIND_AT] == ERRMARK_KIND_ERROR);
    CHECK(memcmp(frame(&env, 1), tag, ERRMARK_KIND_AT) == 0);
    CHECK(memcmp(frame(&env, 1) + 4, tag + 4, 8) == 0); /* the sequence is kept */
    CHECK(msgv_size(&env, 2) == 0 && env.n == 3);
    msgv_clear(&env);
}

static void test_leaves_everything_else(void)
{
    static const unsigned char near[][ERRMARK_TAG_LEN] = {
        {0, 'a', 'b', 'e', 1, 2, 3, 4, 5, 6, 7, 8},   /* already marked */
        {1, 'a', 'b', 'q', 1, 2, 3, 4, 5, 6, 7, 8},   /* not the magic */
        {0, 'a', 'c', 'q', 1, 2, 3, 4, 5, 6, 7, 8}};
    msgv env;
    size_t i;
    for (i = 0; i < sizeof near / sizeof near[0]; i++) {
        errmark_envelope(envelope(&env, near[i], sizeof near[i]));
        CHECK(memcmp(frame(&env, 1), near[i], sizeof near[i]) == 0);
        msgv_clear(&env);
    }
    /* The right prefix in a frame of another length. */
    errmark_envelope(envelope(&env, "\0abq1234567", 11));
    CHECK(frame(&env, 1)[3] == 'q');
    msgv_clear(&env);
    /* A REQ client's envelope: [routing id][""], untouched. */
    errmark_envelope(envelope(&env, NULL, 0));
    CHECK(env.n == 2 && msgv_size(&env, 0) == 5 && frame(&env, 0)[1] == 1);
    msgv_clear(&env);
}

int main(void)
{
    test_marks_the_tag();
    test_leaves_everything_else();
    return CHECK_DONE();
}
