/*
 * test_registry.c: registry_load() on the fixtures in $AB_TEST_DATA: every
 * resolved value of a valid file, and for each class of error the exact set
 * of diagnostics (file, line, field path and the gist of the message).
 */
#include "check.h"
#include "common.h"
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BIG_ERRLEN 16384 /* holds every diagnostic the fixtures produce */
#define REG_MAX_FILE_BYTES_FOR_TEST (1 << 20) /* the loader's size bound */

static char fixture_path[1024];

static const char *fixture(const char *name)
{
    const char *dir = getenv("AB_TEST_DATA");
    snprintf(fixture_path, sizeof fixture_path, "%s/%s", dir ? dir : ".", name);
    return fixture_path;
}

static size_t count_lines(const char *s)
{
    size_t n = *s != '\0';
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Loading NAME fails, and its diagnostics are exactly N lines, line i
 * containing WANT[i] (diagnostics come sorted by line). */
static void expect_errors(const char *name, const char *const *want, size_t n)
{
    char err[BIG_ERRLEN] = "";
    registry *reg = NULL;
    CHECK(registry_load(fixture(name), &reg, err, sizeof err) == AB_ERR);
    registry_free(reg); /* only if the load wrongly succeeded */
    CHECK(count_lines(err) == n);
    const char *line = err;
    for (size_t i = 0; i < n && line; i++) {
        const char *end = strchr(line, '\n');
        char one[1024];
        snprintf(one, sizeof one, "%.*s",
                 (int)(end ? (size_t)(end - line) : strlen(line)), line);
        CHECK_STR_CONTAINS(one, want[i]);
        line = end ? end + 1 : NULL;
    }
}

#define EXPECT_ERRORS(name, ...)                                           \
    expect_errors(name, (const char *const[]){__VA_ARGS__},                \
                  sizeof((const char *const[]){__VA_ARGS__}) /             \
                      sizeof(const char *))

/* Every field of the service named WANT->name equals WANT's. */
static void check_service(const registry *reg, const reg_service *want)
{
    const reg_service *s = registry_service(reg, want->name);
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK(strcmp(s->host, want->host) == 0);
    CHECK(s->port == want->port);
    CHECK(s->line == want->line);
    CHECK(s->timeout_ms == want->timeout_ms);
    CHECK(s->max_inflight == want->max_inflight);
    CHECK(s->queue_max == want->queue_max);
    CHECK(s->max_msg_bytes == want->max_msg_bytes);
    CHECK(s->max_frames == want->max_frames);
    CHECK(s->heartbeat_ms == want->heartbeat_ms);
    CHECK(s->nbackends == want->nbackends);
    for (size_t i = 0; i < s->nbackends && i < want->nbackends; i++)
        CHECK(strcmp(s->backends[i], want->backends[i]) == 0);
}

/* good.yaml sets timeout_ms, max_inflight and queue_max under defaults:,
 * so those resolve to defaults unless overridden and the rest to built-ins. */
static void test_good(void)
{
    char err[AB_ERRLEN] = "";
    registry *reg = NULL;
    CHECK(registry_load(fixture("good.yaml"), &reg, err, sizeof err) == AB_OK);
    CHECK(err[0] == '\0');
    if (!reg)
        return;
    CHECK(strcmp(reg->path, fixture("good.yaml")) == 0);
    CHECK(reg->nhosts == 2);
    CHECK(reg->nservices == 3);
    CHECK(registry_host(reg, "mainpc") && registry_host(reg, "mainpc")->line == 7);
    CHECK(registry_host(reg, "gpubox") && registry_host(reg, "gpubox")->line == 8);
    CHECK(registry_host(reg, "nohost") == NULL);
    const reg_host *gpu = registry_host(reg, "gpubox");
    CHECK(gpu && strcmp(gpu->link, "tcp://gpubox.lan:7700") == 0);
    CHECK(gpu && gpu->link_port == 7700 && gpu->has_key && gpu->has_next_key);
    CHECK(gpu && strcmp(gpu->public_key_z85,
                        "Sx:E3+s:-f^w1RT88jLpC8AULGvTaIc<a4dft@[S") == 0);
    CHECK(reg->links.per_peer == REG_DEFAULT_LINKS_PER_PEER);
    CHECK(reg->links.heartbeat_ms == REG_DEFAULT_LINK_HEARTBEAT_MS);
    CHECK(reg->links.down_ms == REG_DEFAULT_LINK_DOWN_MS);
    CHECK(reg->services[0].transcode == REG_TRANSCODE_AUTO);
    CHECK(registry_service(reg, "nosvc") == NULL);
    CHECK(strcmp(reg->services[0].name, "translation") == 0); /* file order */
    CHECK(strcmp(reg->services[2].name, "embeddings") == 0);

    check_service(reg, &(reg_service){
        .name = "translation", .host = "mainpc", .port = 5581, .line = 10,
        .backends = (char *[]){"tcp://127.0.0.1:15581", "tcp://localhost:15591"},
        .nbackends = 2, .timeout_ms = 3000, .max_inflight = 4, .queue_max = 0,
        .max_msg_bytes = REG_DEFAULT_MAX_MSG_BYTES,
        .max_frames = REG_DEFAULT_MAX_FRAMES,
        .heartbeat_ms = REG_DEFAULT_HEARTBEAT_MS});
    check_service(reg, &(reg_service){
        .name = "summarizer", .host = "mainpc", .port = 5582, .line = 14,
        .backends = (char *[]){"ipc:///run/agentbus/summarizer.sock",
                               "tcp://[::1]:15582"},
        .nbackends = 2, .timeout_ms = 60000, .max_inflight = 1, .queue_max = 7,
        .max_msg_bytes = 1024, .max_frames = 3, .heartbeat_ms = 0});
    check_service(reg, &(reg_service){
        .name = "embeddings", .host = "gpubox", .port = 65535, .line = 26,
        .backends = (char *[]){"tcp://gpu-01.lan:1"}, .nbackends = 1,
        .timeout_ms = 3000, .max_inflight = 4, .queue_max = 0,
        .max_msg_bytes = REG_DEFAULT_MAX_MSG_BYTES,
        .max_frames = REG_DEFAULT_MAX_FRAMES, .heartbeat_ms = 100});
    registry_free(reg);
}

/* A null host entry and an empty services: are valid. */
static void test_minimal(void)
{
    char err[AB_ERRLEN];
    registry *reg = NULL;
    CHECK(registry_load(fixture("minimal.yaml"), &reg, err, sizeof err) == AB_OK);
    CHECK(reg && reg->nhosts == 1 && reg->nservices == 0);
    CHECK(reg && registry_host(reg, "solo") != NULL);
    registry_free(reg);
}

static void test_error_fixtures(void)
{
    EXPECT_ERRORS("dup_port.yaml",
                  "dup_port.yaml:9: services.b.port: port 5581 is already used "
                  "by service a (line 4)");
    EXPECT_ERRORS("syntax.yaml",
                  "syntax.yaml:8: yaml: did not find expected ',' or ']' "
                  "(while parsing a flow sequence started at line 7)");
    EXPECT_ERRORS("kinds.yaml",
                  "kinds.yaml:2: hosts.mainpc: expected a mapping, got a sequence",
                  "kinds.yaml:5: services.a.host: expected a scalar, got a sequence",
                  "kinds.yaml:6: services.a.port: expected a scalar, got a mapping",
                  "kinds.yaml:7: services.a.backends: expected a sequence",
                  "kinds.yaml:8: services.b: expected a mapping, got a scalar",
                  "kinds.yaml:11: services.c.port: expected a decimal integer, "
                  "got a quoted string",
                  "kinds.yaml:12: services.c.backends[0]: expected a scalar",
                  "kinds.yaml:13: services: a key must be a scalar, got a sequence");
    EXPECT_ERRORS("numbers.yaml",
                  "numbers.yaml:4: defaults.timeout_ms: expected a decimal integer, got '5581.0'",
                  "numbers.yaml:5: defaults.max_inflight: expected a decimal integer, got '0x15'",
                  "numbers.yaml:6: defaults.queue_max: expected a decimal integer, got '+5'",
                  "numbers.yaml:7: defaults.max_frames: expected a decimal integer, got ''",
                  "numbers.yaml:8: defaults.max_msg_bytes: expected a decimal integer, got '0755'",
                  "numbers.yaml:12: services.a.port: 0 is out of range (1..65535)",
                  "numbers.yaml:14: services.a.timeout_ms: 3600001 is out of range",
                  "numbers.yaml:15: services.a.heartbeat_ms: 50 is out of range (0 or 100..3600000)",
                  "numbers.yaml:16: services.a.max_msg_bytes: 99999999999999999999 is out of range",
                  "numbers.yaml:19: services.b.port: 70000 is out of range",
                  "numbers.yaml:21: services.b.queue_max: -1 is out of range (0..1000000)");
    EXPECT_ERRORS("missing.yaml",
                  "missing.yaml:4: services.a.host: required key is missing",
                  "missing.yaml:4: services.a.port: required key is missing",
                  "missing.yaml:9: services.b.backends: needs 1..64 endpoints, got 0",
                  "missing.yaml:10: services.c.host: required",
                  "missing.yaml:10: services.c.port: required",
                  "missing.yaml:10: services.c.backends: required");
    EXPECT_ERRORS("unknown_keys.yaml",
                  "unknown_keys.yaml:1: version: unknown key",
                  "unknown_keys.yaml:2: hostz: unknown key (did you mean 'hosts'?)",
                  "unknown_keys.yaml:5: defaults.timout_ms: unknown key (did you mean 'timeout_ms'?)",
                  "unknown_keys.yaml:8: hosts.h.address: unknown key",
                  "unknown_keys.yaml:10: services.a.backends: required key is missing",
                  "unknown_keys.yaml:13: services.a.backend: unknown key (did you mean 'backends'?)",
                  "unknown_keys.yaml:14: services.a.colour: unknown key");
    EXPECT_ERRORS("dup_names.yaml",
                  "dup_names.yaml:3: hosts.h: defined twice (first at line 2)",
                  "dup_names.yaml:8: services.a.port: defined twice (first at line 7)",
                  "dup_names.yaml:10: services.a: defined twice (first at line 5)");
    EXPECT_ERRORS("names.yaml",
                  "names.yaml:2: hosts.bad host: name must be 1..64 characters",
                  "names.yaml:5: services.trans lation: name must be",
                  "names.yaml:9: services.aaaaaaaaaa",
                  "names.yaml:14: services.c.host: unknown host 'nowhere'");
}

/* Link knobs over their defaults, a rotation's next key, transcode from
 * defaults: and per service, a host with a key but no link. */
static void test_links(void)
{
    char err[BIG_ERRLEN] = "";
    registry *reg = NULL;
    CHECK(registry_load(fixture("links.yaml"), &reg, err, sizeof err) == AB_OK);
    if (!reg) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK(reg->links.per_peer == 2 && reg->links.heartbeat_ms == 500);
    CHECK(reg->links.down_ms == 1500 && reg->links.hwm == 1000);
    CHECK(reg->links.reconnect_ms == REG_DEFAULT_LINK_RECONNECT_MS);
    CHECK(reg->links.reconnect_max_ms == REG_DEFAULT_LINK_RECONNECT_MAX_MS);
    CHECK(reg->links.margin_ms == REG_DEFAULT_LINK_MARGIN_MS);
    const reg_host *pc2 = registry_host(reg, "pc2");
    const reg_host *laptop = registry_host(reg, "laptop");
    CHECK(pc2 && strcmp(pc2->link, "tcp://[2001:db8::2]:7700") == 0);
    CHECK(pc2 && pc2->link_line == 14 && pc2->key_line == 15);
    CHECK(pc2 && pc2->has_next_key && pc2->next_public_key[0] != 0);
    CHECK(laptop && !laptop->link && laptop->link_port == 0 && laptop->has_key);
    CHECK(registry_service(reg, "a")->transcode == REG_TRANSCODE_OFF);
    CHECK(registry_service(reg, "b")->transcode == REG_TRANSCODE_AUTO);
    registry_free(reg);
}

static void test_link_errors(void)
{
    EXPECT_ERRORS("link_errors.yaml",
                  "link_errors.yaml:3: links.per_peer: 0 is out of range (1..16)",
                  "link_errors.yaml:3: links.down_ms: 3000 must be at least twice heartbeat_ms (2000)",
                  "link_errors.yaml:3: links.reconnect_max_ms: 100 is below reconnect_ms (500)",
                  "link_errors.yaml:8: links.keepalive: unknown key",
                  "link_errors.yaml:11: hosts.a.link: port 5581 is also the port of service s1 (line 31)",
                  "link_errors.yaml:14: hosts.b.link: tcp://198.18.0.1:5581 is already the link of host a (line 11)",
                  "link_errors.yaml:14: hosts.b.link: port 5581 is also the port of service s1",
                  "link_errors.yaml:15: hosts.b.public_key: the same key as host a (line 10)",
                  "link_errors.yaml:17: hosts.c.link: invalid link 'tcp://*:7700': a wildcard cannot be connected to",
                  "link_errors.yaml:18: hosts.c.public_key: expected a Z85 CURVE key of 40 characters, got 41",
                  "link_errors.yaml:20: hosts.d.link: invalid link 'ipc:///tmp/link.sock': expected tcp://ADDR:PORT",
                  "link_errors.yaml:21: hosts.d.public_key: not a Z85 key",
                  "link_errors.yaml:23: hosts.e.link: a link needs public_key",
                  "link_errors.yaml:24: hosts.e.publickey: unknown key (did you mean 'public_key'?)",
                  "link_errors.yaml:25: hosts.f.next_public_key: the same as public_key",
                  "link_errors.yaml:29: hosts.g.link: invalid link 'tcp://0.0.0.0:7700': a wildcard",
                  "link_errors.yaml:35: services.s2.host: host f has no link, so the other hosts cannot reach this service",
                  "link_errors.yaml:39: services.s2.transcode: expected off or auto, got 'yes'");
}

static void test_endpoints(void)
{
    EXPECT_ERRORS("endpoints.yaml",
                  "endpoints.yaml:8: services.a.backends[0]: invalid endpoint 'tcp://host': expected tcp://HOST:PORT (the port is missing)",
                  "endpoints.yaml:9: services.a.backends[1]: invalid endpoint 'tcp://:80': expected tcp://HOST:PORT (the host is missing)",
                  "endpoints.yaml:10: services.a.backends[2]: invalid endpoint 'udp://127.0.0.1:5': expected tcp://HOST:PORT or ipc:///ABSOLUTE/PATH",
                  "endpoints.yaml:11: services.a.backends[3]: invalid endpoint 'inproc://x': expected tcp://HOST:PORT or ipc://",
                  "endpoints.yaml:12: services.a.backends[4]: invalid endpoint 'tcp://*:80': '*' can only bind",
                  "endpoints.yaml:13: services.a.backends[5]: invalid endpoint 'ipc://relative/path': expected ipc:///ABSOLUTE/PATH",
                  "endpoints.yaml:14: services.a.backends[6]: invalid endpoint 'ipc:///aaa",
                  "endpoints.yaml:15: services.a.backends[7]: invalid endpoint 'tcp://256.1.1.1:80': invalid IPv4 address",
                  "endpoints.yaml:16: services.a.backends[8]: invalid endpoint 'tcp://[::g]:80': invalid IPv6 address",
                  "endpoints.yaml:17: services.a.backends[9]: invalid endpoint 'tcp://127.0.0.1:0': expected tcp://HOST:PORT with PORT a decimal 1..65535",
                  "endpoints.yaml:18: services.a.backends[10]: invalid endpoint 'tcp://127.0.0.1:080': expected tcp://HOST:PORT with PORT",
                  "endpoints.yaml:19: services.a.backends[11]: invalid endpoint 'tcp://bad_host:80': invalid host name",
                  "endpoints.yaml:21: services.a.backends[13]: duplicate endpoint 'tcp://127.0.0.1:15581'",
                  "endpoints.yaml:22: services.a.backends[14]: invalid endpoint 'tcp://[::1]': expected tcp://HOST:PORT (the port is missing)",
                  "endpoints.yaml:23: services.a.backends[15]: invalid endpoint 'tcp://::1:80': invalid host name");
}

static void test_document_shape(void)
{
    EXPECT_ERRORS("alias.yaml",
                  "alias.yaml:11: yaml: alias *b: anchors and aliases are not supported");
    EXPECT_ERRORS("multi_doc.yaml",
                  "multi_doc.yaml:4: yaml: only one YAML document is allowed");
    EXPECT_ERRORS("hosts_empty.yaml",
                  "hosts_empty.yaml:1: hosts: at least one host is required");
    EXPECT_ERRORS("no_sections.yaml",
                  "no_sections.yaml:2: hosts: required key is missing",
                  "no_sections.yaml:2: services: required key is missing");
    EXPECT_ERRORS("root_kind.yaml",
                  "root_kind.yaml:1: (root): expected a mapping, got a sequence");
    EXPECT_ERRORS("empty.yaml", "empty.yaml:1: (root): the file is empty");
    /* Many aliases (billion laughs) are one diagnostic, not one per alias. */
    EXPECT_ERRORS("laughs.yaml",
                  "laughs.yaml:4: yaml: alias *a: anchors and aliases are not "
                  "supported (10 aliases in all)");
    EXPECT_ERRORS("tags.yaml",
                  "tags.yaml:4: yaml: tag 'tag:yaml.org,2002:python/object:os.system': "
                  "tags are not supported",
                  "tags.yaml:6: yaml: tag 'tag:yaml.org,2002:int': tags are not supported",
                  "tags.yaml:7: yaml: tag '!custom': tags are not supported");
    EXPECT_ERRORS("deep.yaml",
                  "deep.yaml:7: yaml: nesting is deeper than 16 levels");
}

/* Reader errors (bad encoding) are reported at their real line, which
 * libyaml itself does not track for them. */
static void test_encoding_errors(void)
{
    EXPECT_ERRORS("bad_utf8.yaml", "bad_utf8.yaml:8: yaml: invalid leading UTF-8 octet");
    EXPECT_ERRORS("nul.yaml", "nul.yaml:7: yaml: control characters are not allowed");
}

/* Writes TEXT to a new temporary file whose name is left in PATH. */
static int write_temp(char path[64], const char *text, size_t len)
{
    snprintf(path, 64, "/tmp/test_registry.XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return AB_ERR;
    int ok = write(fd, text, len) == (ssize_t)len;
    close(fd);
    return ok ? AB_OK : AB_ERR;
}

/* A file of N unknown keys under defaults: (plus valid sections). */
static char *many_errors_text(int n)
{
    size_t cap = 64 + (size_t)n * 32;
    char *text = malloc(cap);
    size_t len = (size_t)snprintf(text, cap, "hosts: {h: }\nservices: {}\ndefaults:\n");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "  bogus_key_%d: 1\n", i);
    return text;
}

/* The diagnostics are capped, and a small buffer gets whole lines only. */
static void test_many_errors(void)
{
    char path[64], err[BIG_ERRLEN], small[120];
    registry *reg;
    char *text = many_errors_text(60);
    CHECK(write_temp(path, text, strlen(text)) == AB_OK);
    CHECK(registry_load(path, &reg, err, sizeof err) == AB_ERR);
    CHECK(count_lines(err) == 51);
    CHECK_STR_CONTAINS(err, ":4: defaults.bogus_key_0: unknown key\n");
    CHECK_STR_CONTAINS(err, ":53: defaults.bogus_key_49: unknown key\n");
    CHECK(strstr(err, "bogus_key_50") == NULL);
    CHECK_STR_CONTAINS(err, "\n... 10 more errors omitted");

    CHECK(registry_load(path, &reg, small, sizeof small) == AB_ERR);
    CHECK(strlen(small) < sizeof small);
    CHECK_STR_CONTAINS(small, ":4: defaults.bogus_key_0: unknown key\n... 59 more errors omitted");
    unlink(path);
    free(text);
}

/* A file nested far deeper than the bound is refused during the first
 * event scan, before libyaml builds anything: libyaml's parse time grows
 * with the square of the depth (a 1 MiB file used to take minutes). The
 * ctest timeout is the hang guard. */
static void test_absurd_depth(void)
{
    char path[64], err[AB_ERRLEN];
    registry *reg;
    size_t n = REG_MAX_FILE_BYTES_FOR_TEST;
    char *text = malloc(n);
    memset(text, '[', n);
    CHECK(write_temp(path, text, n) == AB_OK);
    CHECK(registry_load(path, &reg, err, sizeof err) == AB_ERR);
    CHECK_STR_CONTAINS(err, ":1: yaml: nesting is deeper than 16 levels");
    unlink(path);
    free(text);
}

/* Only regular files are read: a FIFO would block the loader (and the
 * daemon) forever, a device could be endless. */
static void test_non_regular_files(void)
{
    char path[64], err[AB_ERRLEN];
    registry *reg = (registry *)1;
    snprintf(path, sizeof path, "/tmp/test_registry_fifo.%d", (int)getpid());
    CHECK(mkfifo(path, 0600) == 0);
    CHECK(registry_load(path, &reg, err, sizeof err) == AB_ERR);
    CHECK(reg == NULL);
    CHECK_STR_CONTAINS(err, ": not a regular file (a FIFO)");
    unlink(path);
    CHECK(registry_load("/dev/zero", &reg, err, sizeof err) == AB_ERR);
    CHECK_STR_CONTAINS(err, "/dev/zero: not a regular file (a character device)");
    CHECK(registry_load(getenv("AB_TEST_DATA"), &reg, err, sizeof err) == AB_ERR);
    CHECK_STR_CONTAINS(err, ": not a regular file (a directory)");
}

static void test_file_errors(void)
{
    char path[64], err[AB_ERRLEN];
    registry *reg = (registry *)1;
    CHECK(registry_load("/nonexistent/reg.yaml", &reg, err, sizeof err) == AB_ERR);
    CHECK(reg == NULL);
    CHECK(strcmp(err, "/nonexistent/reg.yaml: cannot open: No such file or directory") == 0);

    size_t big = (size_t)2 << 20; /* over the 1 MiB bound */
    char *text = malloc(big);
    memset(text, '#', big);
    CHECK(write_temp(path, text, big) == AB_OK);
    CHECK(registry_load(path, &reg, err, sizeof err) == AB_ERR);
    CHECK_STR_CONTAINS(err, ": file is larger than 1048576 bytes");
    unlink(path);
    free(text);
}

/* One host needs no link, whatever it serves. */
static void test_single_host_needs_no_link(void)
{
    static const char text[] =
        "hosts: {solo: }\n"
        "services:\n"
        "  a: {host: solo, port: 5581, backends: [tcp://127.0.0.1:1]}\n";
    char path[64], err[AB_ERRLEN] = "";
    registry *reg = NULL;
    CHECK(write_temp(path, text, sizeof text - 1) == AB_OK);
    CHECK(registry_load(path, &reg, err, sizeof err) == AB_OK);
    registry_free(reg);
    unlink(path);
}

int main(void)
{
    if (!getenv("AB_TEST_DATA")) {
        fprintf(stderr, "AB_TEST_DATA must name tests/unit/data (ctest sets it)\n");
        return 1;
    }
    test_good();
    test_minimal();
    test_error_fixtures();
    test_links();
    test_single_host_needs_no_link();
    test_link_errors();
    test_endpoints();
    test_document_shape();
    test_encoding_errors();
    test_absurd_depth();
    test_non_regular_files();
    test_many_errors();
    test_file_errors();
    return CHECK_DONE();
}
