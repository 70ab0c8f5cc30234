/*
 * test_agentbus_h.c: the parts of client/agentbus.h that need no broker:
 * result codes, reading the broker's error bodies, the registry reader on
 * the fixtures in tests/client/data, messages, targets and argument checks.
 * Built as C99 (test_agentbus_h) and C++11 (test_agentbus_h_cxx). Calls
 * through a real broker are tested by the test_*.py files here.
 */
#define AGENTBUS_IMPLEMENTATION
#include "agentbus.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *data_file(const char *name)
{
    static char path[2048];
    const char *dir = getenv("AB_CLIENT_TEST_DATA");
    snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", name);
    return path;
}

/* ------------------------------------------------------------- codes -- */

static void test_codes(void)
{
    CHECK(strcmp(ab_code_name(AB_OK), "ok") == 0);
    CHECK(strcmp(ab_code_name(AB_ETIMEOUT), "timeout") == 0);
    CHECK(strcmp(ab_code_name(AB_EBAD_REQUEST), "bad_request") == 0);
    CHECK(strcmp(ab_code_name(AB_ENOMEM), "nomem") == 0);
    CHECK(strcmp(ab_code_name(-1), "unknown") == 0);
    CHECK(strcmp(ab_code_name(AB__CODE_END), "unknown") == 0);
    CHECK(ab__wire_code("timeout") == AB_ETIMEOUT);
    CHECK(ab__wire_code("unavailable") == AB_EUNAVAILABLE);
    CHECK(ab__wire_code("overloaded") == AB_EOVERLOADED);
    CHECK(ab__wire_code("too_large") == AB_ETOO_LARGE);
    CHECK(ab__wire_code("bad_request") == AB_EBAD_REQUEST);
    CHECK(ab__wire_code("bad_reply") == AB_EBAD_REPLY);
    /* Local codes are never taken from the wire. */
    CHECK(ab__wire_code("invalid") == AB_EBROKER);
    CHECK(ab__wire_code("registry") == AB_EBROKER);
    CHECK(ab__wire_code("no_such_code") == AB_EBROKER);
}

/* ------------------------------------------------------ error bodies -- */

/* Decode body as the one frame of a broker error reply. */
static int decode(const char *body, size_t n, ab_error *err)
{
    ab_msg m;
    int rc;
    memset(&m, 0, sizeof m);
    if (ab_msg_add(&m, body, n) != AB_OK)
        return -1;
    rc = ab__broker_error(&m, err);
    ab_msg_free(&m);
    return rc;
}

static int decode_str(const char *body, ab_error *err) { return decode(body, strlen(body), err); }

static void test_error_bodies(void)
{
    ab_error e;
    CHECK(decode_str("{\"status\":\"error\",\"error\":\"overloaded\",\"service\":\"echo\","
                     "\"message\":\"3 requests already waiting (queue_max)\"}", &e) ==
          AB_EOVERLOADED);
    CHECK(e.code == AB_EOVERLOADED && e.from_broker == 1);
    CHECK(strcmp(e.name, "overloaded") == 0 && strcmp(e.service, "echo") == 0);
    CHECK_STR_CONTAINS(e.message, "overloaded (from agentbusd, service echo): 3 requests");

    /* A code this header does not know: generic, with the broker's name. */
    CHECK(decode_str("{\"status\":\"error\",\"error\":\"gpu_quota\",\"service\":\"s\","
                     "\"message\":\"no GPU left\"}", &e) == AB_EBROKER);
    CHECK(strcmp(e.name, "gpu_quota") == 0 && e.from_broker == 1);
    CHECK_STR_CONTAINS(e.message, "no GPU left");

    /* Member order, spaces, other scalar members, escapes. */
    CHECK(decode_str(" { \"message\" : \"a \\\"q\\\" \\\\ \\/ \\u00e9 \\ud83d\\ude00 \\t.\", "
                     "\"n\": 12.5e3, \"ok\": false, \"x\": null, \"error\" : \"timeout\" } ",
                     &e) == AB_ETIMEOUT);
    CHECK_STR_CONTAINS(e.message, "a \"q\" \\ / \xc3\xa9 \xf0\x9f\x98\x80 \t.");
    CHECK(e.service[0] == '\0');
    CHECK(decode_str("{\"error\":\"unavailable\",\"message\":\"lone \\ud800 x\"}", &e) ==
          AB_EUNAVAILABLE);
    CHECK_STR_CONTAINS(e.message, "lone \xef\xbf\xbd x");

    /* Not a flat object with a string error: generic and unreadable. */
    {
        static const char *const bad[] = {
            "", "null", "[]", "{}", "{\"error\":5}", "{\"error\":\"timeout\"",
            "{\"error\":\"time\nout\"}", "{\"error\":\"\\x\"}", "{\"a\":{\"b\":1},\"error\":\"x\"}",
            "{\"error\":\"\"}", "{\"error\":\"timeout\",}", "{\"error\":\"\\ud83d\\u00\"}",
            "{\"error\":\"timeout\" \"message\":\"m\"}", "{\"error\":\"timeout\"} x"};
        size_t i;
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            CHECK(decode_str(bad[i], &e) == AB_EBROKER);
            CHECK(e.from_broker == 1);
            CHECK_STR_CONTAINS(e.message, "unreadable error reply");
        }
    }
    CHECK(decode("{\"error\":\"timeout\"}\0", 21, &e) == AB_EBROKER); /* NUL after it */
}

/* A long message is cut to the buffer, at a UTF-8 character boundary. */
static void test_error_truncation(void)
{
    char body[4096];
    size_t n = (size_t)sprintf(body, "{\"error\":\"too_large\",\"message\":\"");
    ab_error e;
    int i;
    for (i = 0; i < 600; i++)
        n += (size_t)sprintf(body + n, "\xe2\x82\xac"); /* U+20AC, 3 bytes */
    n += (size_t)sprintf(body + n, "\"}");
    CHECK(decode(body, n, &e) == AB_ETOO_LARGE);
    n = strlen(e.message);
    CHECK(n < sizeof e.message && n > 400);
    CHECK(((unsigned char)e.message[n - 1] & 0xC0) == 0x80); /* ends on a whole euro */
    CHECK(memcmp(e.message + n - 3, "\xe2\x82\xac", 3) == 0);
}

/* ---------------------------------------------------------- registry -- */

typedef struct lookup_case {
    const char *file, *service;
    int port;                 /* 0: refused */
    const char *expect;       /* refused: part of the message; else the
                                 backends joined by '|' */
} lookup_case;

static const lookup_case LOOKUPS[] = {
    {"styles.yaml", "flow", 5581, "tcp://127.0.0.1:15581|tcp://127.0.0.1:15582|tcp://127.0.0.1:15583"},
    {"styles.yaml", "compact", 5582, "tcp://127.0.0.1:15584|ipc:///tmp/agentbus #1.sock"},
    {"styles.yaml", "indented", 5583, "tcp://gpubox:15585|tcp://[::1]:15586"},
    {"styles.yaml", "quoted", 5584, "it's:1|a\"b\\c"},
    {"styles.yaml", "last", 0, "styles.yaml:30: services.last: flow-style entries"},
    {"styles.yaml", "nope", 0, "styles.yaml: no service 'nope'"},
    {"styles.yaml", "mainpc", 0, "no service 'mainpc'"},
    {"crlf.yaml", "crlf", 5600, "tcp://127.0.0.1:15600"},
    {"bom.yaml", "bom", 7, "tcp://127.0.0.1:7"},
    {"refused.yaml", "fine", 6000, "tcp://127.0.0.1:1"},
    {"refused.yaml", "alias_port", 0, "refused.yaml:11: services.alias_port.port: anchors, aliases"},
    {"refused.yaml", "anchored_backends", 0, "services.anchored_backends.backends: anchors"},
    {"refused.yaml", "merge", 0, "merge keys"},
    {"refused.yaml", "nested_backends", 0, "nested flow collections"},
    {"refused.yaml", "port_quoted", 0, "expected a decimal integer 1..65535, got '\"6007\"'"},
    {"refused.yaml", "port_zero_led", 0, "got '06008'"},
    {"refused.yaml", "port_range", 0, "got '70000'"},
    {"refused.yaml", "port_twice", 0, "services.port_twice.port: defined twice"},
    {"refused.yaml", "no_backends", 0, "needs a port and at least one backend"},
    {"refused.yaml", "no_port", 0, "needs a port and at least one backend"},
    {"refused.yaml", "items_uneven", 0, "items indented unevenly"},
    {"refused.yaml", "twice", 0, "services.twice: defined twice"},
    {"refused.yaml", "tagged", 0, "tags"},
    {"refused.yaml", "plain_colon", 0, "may not contain ': '"},
    {"tab.yaml", "tab", 0, "tab.yaml:5: tab in indentation"},
    {"two_docs.yaml", "s", 0, "only one YAML document"},
    {"directive.yaml", "s", 0, "directive.yaml:1: YAML directives"},
    {"flow_services.yaml", "s", 0, "services: expected a block mapping"},
    {"multiline_string.yaml", "s", 1, "tcp://127.0.0.1:1 continued|b c"},
    {"multiline_string.yaml", "u", 0, "multiline_string.yaml:10: blank line inside a quoted"},
    {"multiline_flow.yaml", "ok", 1, "tcp://127.0.0.1:1"},
    {"multiline_flow.yaml", "s", 2, "tcp://127.0.0.1:1|tcp://127.0.0.1:2|tcp://127.0.0.1:3"},
    {"multiline_flow.yaml", "t", 3, "tcp://127.0.0.1:3"},
    {"unclosed_flow.yaml", "ok", 0, "unclosed_flow.yaml:7: a [ or { is never closed"},
    {"block_scalar.yaml", "ok", 0, "block_scalar.yaml:6: block scalars"},
    {"complex_key.yaml", "ok", 0, "complex keys"},
    {"long_line.yaml", "s", 0, "long_line.yaml:5: line longer than 4096 bytes"},
    {"missing.yaml", "s", 0, "missing.yaml: cannot open: No such file"},
};

static void check_lookup(const lookup_case *lc, ab_service_info *info)
{
    ab_error e;
    char joined[4096] = "";
    size_t i;
    int rc = ab_registry_lookup(data_file(lc->file), lc->service, info, &e);
    if (!lc->port) {
        CHECK(rc == AB_EREGISTRY && e.code == AB_EREGISTRY && !e.from_broker);
        CHECK(info->port == 0 && info->nbackends == 0);
        CHECK_STR_CONTAINS(e.message, lc->expect);
        return;
    }
    CHECK(rc == AB_OK);
    if (rc != AB_OK)
        fprintf(stderr, "  %s %s: %s\n", lc->file, lc->service, e.message);
    for (i = 0; i < info->nbackends; i++)
        sprintf(joined + strlen(joined), "%s%s", i ? "|" : "", info->backends[i]);
    CHECK(info->port == lc->port && strcmp(info->name, lc->service) == 0);
    CHECK(strcmp(joined, lc->expect) == 0);
    if (strcmp(joined, lc->expect) != 0)
        fprintf(stderr, "  %s %s: got '%s'\n", lc->file, lc->service, joined);
}

static void test_registry(void)
{
    ab_service_info *info = (ab_service_info *)malloc(sizeof *info);
    ab_error e;
    size_t i;
    if (!info)
        return;
    for (i = 0; i < sizeof LOOKUPS / sizeof LOOKUPS[0]; i++)
        check_lookup(&LOOKUPS[i], info);
    CHECK(ab_registry_lookup(data_file("styles.yaml"), "bad name", info, &e) == AB_EINVAL);
    CHECK(ab_registry_lookup(data_file("styles.yaml"), "", info, &e) == AB_EINVAL);
    /* The environment names the file when the caller does not. */
    setenv("AGENTBUS_REGISTRY", data_file("crlf.yaml"), 1);
    CHECK(ab_registry_lookup(NULL, "crlf", info, &e) == AB_OK && info->port == 5600);
    unsetenv("AGENTBUS_REGISTRY");
    CHECK(ab_registry_lookup(NULL, "crlf", info, &e) == AB_EREGISTRY);
    CHECK_STR_CONTAINS(e.message, "set AGENTBUS_REGISTRY");
    free(info);
}

/* ---------------------------------------------------------- messages -- */

static void test_msg(void)
{
    ab_msg m;
    char big[100];
    size_t i;
    int ok = 1;
    memset(&m, 0, sizeof m);
    memset(big, 'b', sizeof big);
    /* Small frames live inside their zmq_msg_t: growing must move them. */
    for (i = 0; i < 40; i++)
        ok &= ab_msg_add(&m, i % 2 ? big : (const char *)&i, i % 2 ? sizeof big : sizeof i) == AB_OK;
    CHECK(ok && m.nframes == 40);
    for (i = 0; i < 40; i += 2)
        ok &= m.frames[i].size == sizeof i && memcmp(m.frames[i].data, &i, sizeof i) == 0 &&
              m.frames[i + 1].size == sizeof big && memcmp(m.frames[i + 1].data, big, sizeof big) == 0;
    CHECK(ok);
    CHECK(ab_msg_add(&m, NULL, 0) == AB_OK && m.nframes == 41 && m.frames[40].size == 0);
    ab_msg_free(&m);
    CHECK(m.nframes == 0 && m.frames == NULL);
    ab_msg_free(&m); /* twice: harmless */
    ab_msg_free(NULL);
}

/* ----------------------------------------------------------- targets -- */

static void bindable(const char *in, const char *want)
{
    char ep[AB_ENDPOINT_MAX];
    snprintf(ep, sizeof ep, "%s", in);
    ab__bindable(ep, sizeof ep);
    CHECK(strcmp(ep, want) == 0);
}

static void broker_ep(const char *host, const char *want)
{
    char ep[AB_ENDPOINT_MAX];
    ab_error e;
    CHECK(ab__broker_endpoint(host, 5581, ep, sizeof ep, &e) == (want ? AB_OK : AB_EINVAL));
    if (want)
        CHECK(strcmp(ep, want) == 0);
}

static void test_targets(void)
{
    bindable("tcp://127.0.0.1:15581", "tcp://127.0.0.1:15581");
    bindable("tcp://translator:15581", "tcp://*:15581");
    bindable("tcp://[::1]:15581", "tcp://[::1]:15581");
    bindable("tcp://*:15581", "tcp://*:15581");
    bindable("ipc:///tmp/a.sock", "ipc:///tmp/a.sock");
    unsetenv("AGENTBUS_BROKER");
    broker_ep(NULL, "tcp://127.0.0.1:5581");
    broker_ep("gpubox", "tcp://gpubox:5581");
    broker_ep("::1", "tcp://[::1]:5581");
    broker_ep("[::1]", "tcp://[::1]:5581");
    broker_ep("a b", NULL);
    broker_ep("x/y", NULL);
    setenv("AGENTBUS_BROKER", "10.0.0.2", 1);
    broker_ep(NULL, "tcp://10.0.0.2:5581");
    broker_ep("gpubox", "tcp://gpubox:5581"); /* the option wins */
    unsetenv("AGENTBUS_BROKER");
}

/* ---------------------------------------------------- open and calls -- */

static void test_open_errors(void)
{
    ab_options o;
    ab_error e;
    memset(&o, 0, sizeof o);
    unsetenv("AGENTBUS_REGISTRY");
    CHECK(ab_client_open("translation", NULL, &e) == NULL && e.code == AB_EREGISTRY);
    CHECK(ab_client_open("host:5581", NULL, &e) == NULL && e.code == AB_EINVAL);
    CHECK_STR_CONTAINS(e.message, "nor an endpoint");
    CHECK(ab_client_open("", NULL, &e) == NULL && e.code == AB_EINVAL);
    CHECK(ab_client_open(NULL, NULL, NULL) == NULL);
    o.registry = data_file("styles.yaml");
    CHECK(ab_client_open("last", &o, &e) == NULL && e.code == AB_EREGISTRY);
    o.broker = "no such host!";
    CHECK(ab_client_open("flow", &o, &e) == NULL && e.code == AB_EINVAL);
    CHECK(ab_client_open("tcp://", &o, &e) == NULL && e.code == AB_EZMQ);
    CHECK(ab_worker_open("nope", &o, &e) == NULL && e.code == AB_EREGISTRY);
    ab_client_close(NULL);
    ab_worker_close(NULL);
}

static void test_call_args(void)
{
    ab_error e;
    ab_msg reply;
    ab_frame f;
    ab_call_opts o = {1000, 0, 0};
    /* Nothing listens there: connecting never completes. */
    ab_client *c = ab_client_open("tcp://127.0.0.1:1", NULL, &e);
    CHECK(c != NULL && e.code == AB_OK && strcmp(e.name, "ok") == 0);
    if (!c)
        return;
    CHECK(strcmp(ab_client_endpoint(c), "tcp://127.0.0.1:1") == 0);
    f.data = "x";
    f.size = 1;
    memset(&reply, 0xff, sizeof reply); /* garbage in: always emptied */
    CHECK(ab_callv(c, &f, 0, &o, &reply, &e) == AB_EINVAL && reply.nframes == 0);
    CHECK(ab_callv(c, NULL, 1, &o, &reply, &e) == AB_EINVAL);
    CHECK(ab_callv(c, &f, AB_MAX_FRAMES + 1, &o, &reply, &e) == AB_EINVAL);
    CHECK(ab_callv(c, &f, 1, NULL, &reply, &e) == AB_EINVAL);
    CHECK(ab_callv(c, &f, 1, &o, NULL, &e) == AB_EINVAL);
    o.retries = 1;
    CHECK(ab_callv(c, &f, 1, &o, &reply, &e) == AB_EINVAL);
    CHECK_STR_CONTAINS(e.message, "idempotent");
    o.retries = AB_MAX_RETRIES + 1;
    o.idempotent = 1;
    CHECK(ab_callv(c, &f, 1, &o, &reply, &e) == AB_EINVAL);
    CHECK(ab_call(c, "x", 1, 0, &reply, &e) == AB_EINVAL);
    CHECK(ab_call(c, "x", 1, AB_MAX_TIMEOUT_MS + 1, &reply, &e) == AB_EINVAL);
    f.data = NULL;
    CHECK(ab_callv(c, &f, 1, &o, &reply, &e) == AB_EINVAL);
    /* A request that never left: unavailable, said by the client. */
    CHECK(ab_call(c, "x", 1, 50, &reply, &e) == AB_EUNAVAILABLE);
    CHECK(e.from_broker == 0 && reply.nframes == 0);
    CHECK_STR_CONTAINS(e.message, "the request was not sent");
    CHECK(ab_call(c, "x", 1, 50, &reply, NULL) == AB_EUNAVAILABLE); /* err is optional */
    ab_client_close(c);
}

int main(void)
{
    test_codes();
    test_error_bodies();
    test_error_truncation();
    test_registry();
    test_msg();
    test_targets();
    test_open_errors();
    test_call_args();
    return CHECK_DONE();
}
