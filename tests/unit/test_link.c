/*
 * test_link.c: the link envelope codec (proto/link.h): byte layouts as
 * docs/link-protocol.md specifies them, round trips of every type, and one
 * case per refusal reason.
 */
#include "check.h"
#include "link.h"
#include "transcode.h"

#include <string.h>

#define S(lit) ((ab_link_str){(lit), sizeof(lit) - 1})

static ab_link_msg hello(void)
{
    ab_link_msg m = {.version = 1, .type = AB_LINK_HELLO};
    m.u.hello = (ab_link_hello){1, 1, 0x0102030405060708u, AB_LINK_F_TRANSCODE,
                                1000, S("mainpc")};
    return m;
}

static ab_link_msg request(void)
{
    ab_link_msg m = {.version = 1, .type = AB_LINK_REQUEST};
    m.u.request = (ab_link_request){0xa1a2a3a4a5a6a7a8u, 4950,
                                    AB_LINK_ENC_MSGPACK, AB_JSON_PYTHON,
                                    S("translation")};
    return m;
}

static ab_link_msg reply_error(void)
{
    ab_link_msg m = {.version = 1, .type = AB_LINK_REPLY};
    m.u.reply = (ab_link_reply){7, AB_LINK_ST_NO_SERVICE, 0, 0,
                                S("no service 'x' on gpubox")};
    return m;
}

static ab_link_msg goodbye(void)
{
    ab_link_msg m = {.version = 1, .type = AB_LINK_GOODBYE};
    m.u.goodbye = (ab_link_goodbye){1, 1, AB_LINK_BYE_SHUTDOWN, S("bye")};
    return m;
}

/* Encode m, parse it back, encode again: same bytes, same fields. */
static void round_trip(const ab_link_msg *m, size_t nbody)
{
    uint8_t a[AB_LINK_ENVELOPE_MAX], b[AB_LINK_ENVELOPE_MAX];
    size_t na = 0, nb = 0;
    ab_link_msg p;
    CHECK(ab_link_encode(m, nbody, a, sizeof a, &na) == AB_LINK_OK);
    CHECK(ab_link_parse(a, na, nbody, &p) == AB_LINK_OK);
    CHECK(p.type == m->type && p.version == m->version);
    CHECK(ab_link_encode(&p, nbody, b, sizeof b, &nb) == AB_LINK_OK);
    CHECK(na == nb && memcmp(a, b, na) == 0);
}

static void test_round_trips(void)
{
    ab_link_msg m = hello();
    round_trip(&m, 0);
    m = request();
    round_trip(&m, 1);
    m.u.request.encoding = AB_LINK_ENC_RAW;
    m.u.request.style = 0;
    round_trip(&m, 0);
    round_trip(&m, AB_LINK_MAX_BODY_FRAMES);
    m = reply_error();
    round_trip(&m, 0);
    m.u.reply = (ab_link_reply){9, AB_LINK_ST_OK, AB_LINK_ENC_RAW, 0, S("")};
    round_trip(&m, 3);
    m = (ab_link_msg){.version = 1, .type = AB_LINK_CANCEL, .u.cancel_id = 5};
    round_trip(&m, 0);
    m = (ab_link_msg){.version = 1, .type = AB_LINK_PING, .u.ping = {42, 0}};
    round_trip(&m, 0);
    m = (ab_link_msg){.version = 1, .type = AB_LINK_PONG, .u.ping = {42, 43}};
    round_trip(&m, 0);
    m = goodbye();
    round_trip(&m, 0);
}

/* The REQUEST layout byte for byte, as docs/link-protocol.md draws it. */
static void test_request_layout(void)
{
    static const uint8_t want[] = {
        1, 2,                                           /* version, type */
        0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, /* id */
        0x00, 0x00, 0x13, 0x56,                         /* deadline 4950 */
        1, 1,                                           /* msgpack, python */
        11, 't', 'r', 'a', 'n', 's', 'l', 'a', 't', 'i', 'o', 'n'};
    uint8_t out[AB_LINK_ENVELOPE_MAX];
    size_t n = 0;
    ab_link_msg m = request(), p;
    CHECK(ab_link_encode(&m, 1, out, sizeof out, &n) == AB_LINK_OK);
    CHECK(n == sizeof want && memcmp(out, want, n) == 0);
    CHECK(ab_link_parse(want, sizeof want, 1, &p) == AB_LINK_OK);
    CHECK(p.u.request.id == 0xa1a2a3a4a5a6a7a8u);
    CHECK(p.u.request.deadline_ms == 4950);
    CHECK(p.u.request.service.len == 11 &&
          memcmp(p.u.request.service.p, "translation", 11) == 0);
}

static void test_hello_layout(void)
{
    static const uint8_t want[] = {1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0,
                                   0, 1, 0, 0, 0x03, 0xe8, 6, 'm', 'a', 'i',
                                   'n', 'p', 'c'};
    uint8_t out[AB_LINK_ENVELOPE_MAX];
    size_t n = 0;
    ab_link_msg m = hello();
    CHECK(ab_link_encode(&m, 0, out, sizeof out, &n) == AB_LINK_OK);
    CHECK(n == sizeof want && memcmp(out, want, n) == 0);
}

/* Every proper prefix of a valid envelope is truncated, never accepted. */
static void test_truncation(void)
{
    uint8_t out[AB_LINK_ENVELOPE_MAX];
    size_t n = 0;
    ab_link_msg m = reply_error(), p;
    CHECK(ab_link_encode(&m, 0, out, sizeof out, &n) == AB_LINK_OK);
    CHECK(ab_link_parse(out, 0, 0, &p) == AB_LINK_E_EMPTY);
    for (size_t i = 1; i < n; i++)
        CHECK(ab_link_parse(out, i, 0, &p) == AB_LINK_E_TRUNCATED);
    out[n] = 0;
    CHECK(ab_link_parse(out, n + 1, 0, &p) == AB_LINK_E_TRAILING);
}

static ab_link_err parse_bytes(const uint8_t *b, size_t n, size_t nbody)
{
    ab_link_msg p;
    return ab_link_parse(b, n, nbody, &p);
}

static void test_header_refusals(void)
{
    static uint8_t big[AB_LINK_ENVELOPE_MAX + 1];
    static const uint8_t v2_ping[] = {2, 5, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t v0_ping[] = {0, 5, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t unknown[] = {1, 99, 0};
    static const uint8_t v3_hello[] = {3, 1, 2, 3, 0xff};
    ab_link_msg p;
    CHECK(parse_bytes(big, sizeof big, 0) == AB_LINK_E_TOO_LONG);
    CHECK(parse_bytes(v2_ping, sizeof v2_ping, 0) == AB_LINK_E_VERSION);
    CHECK(parse_bytes(v0_ping, sizeof v0_ping, 0) == AB_LINK_E_VERSION);
    CHECK(parse_bytes(unknown, sizeof unknown, 0) == AB_LINK_E_TYPE);
    CHECK(ab_link_parse(v3_hello, sizeof v3_hello, 0, &p) == AB_LINK_E_VERSION);
    CHECK(p.type == AB_LINK_HELLO && p.u.hello.min_version == 2 &&
          p.u.hello.max_version == 3);
    CHECK(ab_link_parse(big, 1, 0, &p) == AB_LINK_E_TRUNCATED);
}

/* Encode refuses m with want, and a hand-made envelope of it is refused
 * by the parser with the same reason. */
static void refused(const ab_link_msg *m, size_t nbody, ab_link_err want)
{
    uint8_t out[AB_LINK_ENVELOPE_MAX];
    size_t n = 0;
    ab_link_err got = ab_link_encode(m, nbody, out, sizeof out, &n);
    CHECK(got == want);
    if (got != want)
        fprintf(stderr, "  type %d: got %s, want %s\n", m->type,
                ab_link_err_name(got), ab_link_err_name(want));
}

static void test_field_refusals(void)
{
    ab_link_msg m = hello();
    m.u.hello.epoch = 0;
    refused(&m, 0, AB_LINK_E_EPOCH);
    m = hello();
    m.u.hello.min_version = 0;
    refused(&m, 0, AB_LINK_E_RANGE);
    m.u.hello.min_version = 2;
    refused(&m, 0, AB_LINK_E_RANGE); /* 2..1 */
    m = hello();
    m.u.hello.heartbeat_ms = 0;
    refused(&m, 0, AB_LINK_E_HEARTBEAT);
    m = hello();
    refused(&m, 1, AB_LINK_E_FRAMES);
    m.u.hello.host = S("bad host");
    refused(&m, 0, AB_LINK_E_NAME);
    m.u.hello.host = S("");
    refused(&m, 0, AB_LINK_E_NAME);
    static char long_name[AB_LINK_NAME_MAX + 1];
    memset(long_name, 'h', sizeof long_name);
    m.u.hello.host = (ab_link_str){long_name, sizeof long_name};
    refused(&m, 0, AB_LINK_E_NAME);
    m.u.hello.host.len--;
    refused(&m, 0, AB_LINK_OK);
    m = hello();
    m.version = 2; /* HELLO keeps layout 1 */
    refused(&m, 0, AB_LINK_E_VERSION);
}

static void test_request_refusals(void)
{
    ab_link_msg m = request();
    m.u.request.deadline_ms = 0;
    refused(&m, 1, AB_LINK_E_DEADLINE);
    m.u.request.deadline_ms = AB_LINK_DEADLINE_MAX + 1;
    refused(&m, 1, AB_LINK_E_DEADLINE);
    m = request();
    refused(&m, 2, AB_LINK_E_FRAMES); /* msgpack is one frame */
    refused(&m, 0, AB_LINK_E_FRAMES);
    m.u.request.style = AB_JSON_NSTYLES;
    refused(&m, 1, AB_LINK_E_ENCODING);
    m.u.request.encoding = 2;
    m.u.request.style = 0;
    refused(&m, 1, AB_LINK_E_ENCODING);
    m.u.request.encoding = AB_LINK_ENC_RAW;
    m.u.request.style = 1; /* raw has no style */
    refused(&m, 1, AB_LINK_E_ENCODING);
    m.u.request.style = 0;
    refused(&m, AB_LINK_MAX_BODY_FRAMES + 1, AB_LINK_E_FRAMES);
    m.u.request.service = S("a/b");
    refused(&m, 1, AB_LINK_E_NAME);
}

static void test_reply_refusals(void)
{
    ab_link_msg m = reply_error();
    refused(&m, 1, AB_LINK_E_FRAMES); /* errors carry no body */
    m.u.reply.encoding = AB_LINK_ENC_MSGPACK;
    refused(&m, 0, AB_LINK_E_ENCODING);
    m = reply_error();
    m.u.reply.status = 200;
    refused(&m, 0, AB_LINK_E_STATUS);
    m = reply_error();
    m.u.reply.text = S("line\nbreak");
    refused(&m, 0, AB_LINK_E_TEXT);
    m.u.reply.text = S("\xc0\x80");
    refused(&m, 0, AB_LINK_E_TEXT);
    m.u.reply.text = S("caf\xc3\xa9 \xe2\x80\x94 ok");
    refused(&m, 0, AB_LINK_OK);
    static char longtext[AB_LINK_TEXT_MAX + 1];
    memset(longtext, 'x', sizeof longtext);
    m.u.reply.text = (ab_link_str){longtext, sizeof longtext};
    refused(&m, 0, AB_LINK_E_TEXT);
    m.u.reply.text = (ab_link_str){longtext, AB_LINK_TEXT_MAX};
    refused(&m, 0, AB_LINK_OK);
    m.u.reply = (ab_link_reply){1, AB_LINK_ST_OK, 0, 0, S("x")};
    refused(&m, 1, AB_LINK_E_TEXT); /* ok replies have no text */
}

static void test_other_refusals(void)
{
    ab_link_msg m = goodbye();
    m.u.goodbye.reason = 0;
    refused(&m, 0, AB_LINK_E_REASON);
    m = goodbye();
    refused(&m, 1, AB_LINK_E_FRAMES);
    m = (ab_link_msg){.version = 1, .type = AB_LINK_PING};
    refused(&m, 1, AB_LINK_E_FRAMES);
    m.type = 0;
    refused(&m, 0, AB_LINK_E_TYPE);
    m = request();
    uint8_t small[8];
    size_t n = 0;
    CHECK(ab_link_encode(&m, 1, small, sizeof small, &n) == AB_LINK_E_NOSPACE);
}

/* A zero-initialised message has empty texts with no pointer: valid. */
static void test_empty_text_without_pointer(void)
{
    ab_link_msg m = {.version = 1, .type = AB_LINK_REPLY};
    uint8_t out[AB_LINK_ENVELOPE_MAX];
    size_t n = 0;
    m.u.reply.id = 7;
    CHECK(ab_link_encode(&m, 0, out, sizeof out, &n) == AB_LINK_OK && n == 15);
    m.u.reply.status = AB_LINK_ST_BAD_REPLY;
    CHECK(ab_link_encode(&m, 0, out, sizeof out, &n) == AB_LINK_OK);
    CHECK(strcmp(ab_link_status_name(AB_LINK_ST_BAD_REPLY), "bad_reply") == 0);
}

static void test_versions_and_names(void)
{
    CHECK(ab_link_version_pick(1, 1) == 1);
    CHECK(ab_link_version_pick(1, 5) == 1);
    CHECK(ab_link_version_pick(2, 5) == 0);
    CHECK(ab_link_version_pick(0, 0) == 0);
    CHECK(ab_link_version_pick(3, 2) == 0);
    CHECK(strcmp(ab_link_err_name(AB_LINK_E_TRUNCATED), "truncated") == 0);
    CHECK(strcmp(ab_link_err_name((ab_link_err)999), "unknown") == 0);
    CHECK(strcmp(ab_link_type_name(AB_LINK_PONG), "pong") == 0);
    CHECK(strcmp(ab_link_status_name(AB_LINK_ST_NO_SERVICE), "no_service") == 0);
    CHECK(strcmp(ab_link_bye_name(AB_LINK_BYE_VERSION), "version") == 0);
    CHECK(strcmp(ab_link_bye_name(0), "unknown") == 0);
}

int main(void)
{
    test_round_trips();
    test_request_layout();
    test_hello_layout();
    test_truncation();
    test_header_refusals();
    test_field_refusals();
    test_request_refusals();
    test_reply_refusals();
    test_other_refusals();
    test_empty_text_without_pointer();
    test_versions_and_names();
    return CHECK_DONE();
}
