/*
 * test_linkio.c: what both ends of a link decide without a socket: which
 * bodies cross as msgpack and come back byte for byte, how errors cross,
 * when a session is silent or due a PING, the RTT percentiles, and which
 * keys the ZAP handler admits.
 */
#include "check.h"
#include "common.h"
#include "linkio.h"
#include "registry.h"
#include "zap.h"

#include <stdlib.h>

static void push(msgv *m, const char *s) { msgv_push_bytes(m, s, strlen(s)); }

/* Send src's body out and read it back in: the agent's bytes again. */
static void round_trip(const char *body, int msgpack_ok, uint8_t want_enc)
{
    linkio_bufs b;
    link_stats st = {0};
    msgv src, wire, back;
    uint8_t enc = 9, style = 9;
    svc_error code;
    char why[200];
    memset(&b, 0, sizeof b);
    msgv_init(&src, 8);
    msgv_init(&wire, 8);
    msgv_init(&back, 8);
    push(&src, body);
    CHECK(linkio_body_out(&b, &src, 0, msgpack_ok, &wire, &enc, &style, &st) == AB_OK);
    CHECK(enc == want_enc && wire.n == 1);
    CHECK(st.transcoded == (want_enc == AB_LINK_ENC_MSGPACK) && st.body_out == strlen(body));
    CHECK(linkio_body_in(&wire, 0, enc, style, 1 << 20, &back, &code, why, sizeof why,
                         &st) == AB_OK);
    CHECK(back.n == 1 && msgv_size(&back, 0) == strlen(body) &&
          memcmp(msgv_data(&back, 0), body, strlen(body)) == 0);
    msgv_clear(&src);
    msgv_clear(&wire);
    msgv_clear(&back);
    linkio_bufs_free(&b);
}

static void test_bodies(void)
{
    const char *py = "{\"role\": \"user\", \"content\": \"Gr\\u00fc\\u00dfe\", \"n\": [1, 2.5, 1e-07]}";
    const char *compact = "{\"role\":\"user\",\"content\":\"Grüße\",\"n\":[1,2.5,1e-07]}";
    round_trip(py, 1, AB_LINK_ENC_MSGPACK);
    round_trip(compact, 1, AB_LINK_ENC_MSGPACK);
    round_trip(py, 0, AB_LINK_ENC_RAW);                    /* transcode: off */
    round_trip("{\"a\" :1}", 1, AB_LINK_ENC_RAW);          /* no style writes it */
    round_trip("not json at all", 1, AB_LINK_ENC_RAW);
    round_trip("\"a long string is not smaller in msgpack\"", 1, AB_LINK_ENC_RAW);
}

static void test_multi_frame_bodies_go_raw(void)
{
    linkio_bufs b;
    link_stats st = {0};
    msgv src, wire;
    uint8_t enc, style;
    memset(&b, 0, sizeof b);
    msgv_init(&src, 8);
    msgv_init(&wire, 8);
    push(&src, "{\"a\": 1}");
    push(&src, "{\"b\": 2}");
    CHECK(linkio_body_out(&b, &src, 0, 1, &wire, &enc, &style, &st) == AB_OK);
    CHECK(enc == AB_LINK_ENC_RAW && wire.n == 2 && st.raw == 1 && st.transcoded == 0);
    msgv_clear(&src);
    msgv_clear(&wire);
    linkio_bufs_free(&b);
}

static void test_decoding_refusals(void)
{
    link_stats st = {0};
    msgv wire, back;
    svc_error code = ERR_TIMEOUT;
    char why[200];
    msgv_init(&wire, 8);
    msgv_init(&back, 8);
    msgv_push_bytes(&wire, "\xc1", 1); /* never used in msgpack */
    CHECK(linkio_body_in(&wire, 0, AB_LINK_ENC_MSGPACK, 1, 100, &back, &code, why,
                         sizeof why, &st) == AB_ERR);
    CHECK(code == ERR_BAD_REQUEST);
    CHECK_STR_CONTAINS(why, "does not decode");
    msgv_clear(&wire);
    msgv_push_bytes(&wire, "\xa5hello", 6); /* "hello": 7 bytes as JSON */
    CHECK(linkio_body_in(&wire, 0, AB_LINK_ENC_MSGPACK, 0, 6, &back, &code, why,
                         sizeof why, &st) == AB_ERR);
    CHECK(code == ERR_TOO_LARGE);
    CHECK_STR_CONTAINS(why, "max_msg_bytes (6)");
    msgv_clear(&wire);
    msgv_clear(&back);
}

/* Every broker error crosses as a status and comes back as itself. */
static void test_errors_cross_as_themselves(void)
{
    svc_error all[] = {ERR_TIMEOUT, ERR_UNAVAILABLE, ERR_OVERLOADED, ERR_TOO_LARGE,
                       ERR_BAD_REQUEST, ERR_BAD_REPLY};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        CHECK(linkio_error_of(linkio_status_of(all[i])) == all[i]);
    CHECK(linkio_error_of(AB_LINK_ST_NO_SERVICE) == ERR_UNAVAILABLE);
    CHECK(linkio_error_of(AB_LINK_ST_DRAINING) == ERR_UNAVAILABLE);
}

static void test_sessions(void)
{
    linkio_sess s = {.last_heard = 1000, .last_ping = 1000};
    ab_link_hello h = {.min_version = 1, .max_version = 3, .epoch = 9, .heartbeat_ms = 2000};
    char why[100];
    CHECK(!linkio_silent(&s, 3999, 3000) && linkio_silent(&s, 4000, 3000));
    CHECK(!linkio_ping_due(&s, 1999, 1000) && linkio_ping_due(&s, 2000, 1000));
    CHECK(linkio_accept_hello(&s, &h, why, sizeof why) == AB_OK && s.version == 1);
    /* A peer that promised a slow heartbeat is not taken for silent. */
    CHECK(!linkio_silent(&s, 4500, 3000) && linkio_silent(&s, 5000, 3000));
    h.min_version = 2;
    CHECK(linkio_accept_hello(&s, &h, why, sizeof why) == AB_ERR);
    CHECK(strcmp(why, "ours=1..1 theirs=2..3") == 0);
}

/* A PONG's round trip lands in the link's rtt histogram, only when
 * histograms are on. */
static void test_rtt_is_recorded(void)
{
    stats_reg on, off;
    link_stats st = {0};
    stats_reg_init(&on, 1000, 60000);
    stats_reg_init(&off, 0, 60000);
    stats_series *s = stats_series_open(&on, STATS_KIND_link, NULL, &st, NULL, "h", "out");
    stats_series *q = stats_series_open(&off, STATS_KIND_link, NULL, &st, NULL, "h", "out");
    linkio_pong(s, uv_hrtime() - 250000);
    linkio_pong(s, uv_hrtime() + 1000000000); /* not from this clock: dropped */
    linkio_pong(q, uv_hrtime() - 250000);
    linkio_pong(NULL, uv_hrtime());
    CHECK(s->hist[HIST_link_rtt].cur.count == 1);
    CHECK(s->hist[HIST_link_request_time].cur.count == 0);
    stats_series_close(s);
    stats_series_close(q);
}

static void test_zap_keys(void)
{
    registry reg = {0};
    reg_host hosts[2] = {{.name = "a", .has_key = true}, {.name = "b", .has_key = true,
                                                            .has_next_key = true}};
    zap z = {0};
    strcpy(hosts[0].public_key_z85, "A-key");
    strcpy(hosts[1].public_key_z85, "B-key");
    strcpy(hosts[1].next_public_key_z85, "B-next");
    hosts[1].public_key[0] = 2;
    hosts[1].next_public_key[0] = 3;
    reg.hosts = hosts;
    reg.nhosts = 2;
    CHECK(zap_set_keys(&z, &reg, "a") == AB_OK);
    CHECK(z.nkeys == 2 && strcmp(z.keys[0].host, "b") == 0 &&
          strcmp(z.keys[1].z85, "B-next") == 0);
    CHECK(zap_key_listed(&reg, "b", "B-next") && zap_key_listed(&reg, "a", "A-key"));
    CHECK(!zap_key_listed(&reg, "b", "A-key") && !zap_key_listed(&reg, "c", "B-key"));
    free(z.keys);
}

int main(void)
{
    test_bodies();
    test_multi_frame_bodies_go_raw();
    test_decoding_refusals();
    test_errors_cross_as_themselves();
    test_sessions();
    test_rtt_is_recorded();
    test_zap_keys();
    return CHECK_DONE();
}
