/*
 * agentbus.h: the single-header C client of agentbus, for new agents.
 *
 * Call a service by name with a deadline, or serve one, without writing a
 * REQ state machine, retries or error-reply parsing. The user guide is
 * client/README.md; this comment is the short version.
 *
 *   #define AGENTBUS_IMPLEMENTATION   (in exactly one .c or .cpp file)
 *   #include "agentbus.h"
 *   cc app.c $(pkg-config --cflags --libs agentbus)
 *
 * C99 or C++11, depends only on libzmq (>= 4.3), no global state. Every
 * call that can fail returns AB_OK (0) or an AB_E* code and, if given an
 * ab_error, fills it with the code's name and one printable line.
 *
 * Threads: an ab_client or ab_worker belongs to one thread at a time (like
 * the ZMQ socket inside it). Open one client per thread; clients may share
 * a ZMQ context through ab_options.zmq_ctx.
 *
 * Wire (docs/errors.md, last section): a request goes out as
 * [tag][""][body frames...] on a DEALER. The 12-byte tag frame is
 *   "\0ab" + kind + 8-byte request sequence,  kind 'q' as sent.
 * The broker keeps the client's envelope (tag included) and puts it back in
 * front of the reply; when the reply is the broker's own JSON error, it
 * changes kind to 'e'. A backend never sees the envelope, so it cannot
 * forge that mark: a backend reply shaped like an error reply is returned
 * as a reply, byte for byte. The sequence lets late replies (to an earlier
 * call that timed out) be recognised and dropped.
 */
#ifndef AGENTBUS_H
#define AGENTBUS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ limits -- */

/* Every bound below may be overridden with -D before the include. */
#ifndef AB_MAX_FRAMES
#define AB_MAX_FRAMES 4096          /* body frames of one request or reply */
#endif
#ifndef AB_MAX_TIMEOUT_MS
#define AB_MAX_TIMEOUT_MS 3600000   /* longest deadline of one call */
#endif
#ifndef AB_MAX_RETRIES
#define AB_MAX_RETRIES 100          /* extra attempts of an idempotent call */
#endif
#ifndef AB_RETRY_BACKOFF_MS
#define AB_RETRY_BACKOFF_MS 50      /* wait before retry n: this << n, */
#endif
#ifndef AB_RETRY_BACKOFF_MAX_MS
#define AB_RETRY_BACKOFF_MAX_MS 1000 /* ... at most this */
#endif
#ifndef AB_WORKER_TICK_MS
#define AB_WORKER_TICK_MS 100       /* a worker looks at its stop flag this often */
#endif
#ifndef AB_WORKER_LINGER_MS
#define AB_WORKER_LINGER_MS 1000    /* time a closing worker gives its last replies */
#endif
#ifndef AB_REGISTRY_MAX_BYTES
#define AB_REGISTRY_MAX_BYTES (1 << 20) /* registry file size (as the broker's) */
#endif
#ifndef AB_REGISTRY_MAX_LINE
#define AB_REGISTRY_MAX_LINE 4096   /* bytes of one registry line */
#endif
#define AB_MAX_BACKENDS 64          /* backends of one service (as the broker's) */
#define AB_ENDPOINT_MAX 288         /* tcp:// + 253-byte DNS name + :port, NUL */
#define AB_NAME_MAX 72              /* service name (1..64 bytes) and NUL */

/* ------------------------------------------------------------- codes -- */

#define AB_OK 0

/* Every result code: (symbol, name, wire). wire = 1: a code the broker
 * sends in its JSON error replies (docs/errors.md), returned with the same
 * name. AB_EBROKER stands for any code this header does not know (a newer
 * broker's); ab_error.name then carries the broker's name. The meanings
 * are in client/README.md. */
#define AB_CODES(X)                                                        \
    X(AB_ETIMEOUT, "timeout", 1)         /* no reply within a deadline */ \
    X(AB_EUNAVAILABLE, "unavailable", 1) /* no backend, or no broker */   \
    X(AB_EOVERLOADED, "overloaded", 1)   /* the service's queue is full */ \
    X(AB_ETOO_LARGE, "too_large", 1)     /* over max_msg_bytes/frames */  \
    X(AB_EBAD_REQUEST, "bad_request", 1) /* not a REQ envelope */         \
    X(AB_EBAD_REPLY, "bad_reply", 1)     /* the agent's reply was malformed */ \
    X(AB_EBROKER, "broker", 0)           /* a broker code unknown here */ \
    X(AB_EPROTOCOL, "protocol", 0)       /* a reply with 0 or too many frames */ \
    X(AB_EINVAL, "invalid", 0)           /* a bad argument */             \
    X(AB_EREGISTRY, "registry", 0)       /* registry unreadable, no such service */ \
    X(AB_EZMQ, "zmq", 0)                 /* a libzmq call failed */       \
    X(AB_ENOMEM, "nomem", 0)             /* out of memory */

enum ab_code {
    AB__CODE_OK = AB_OK,
#define AB__CODE_ENUM(sym, name, wire) sym,
    AB_CODES(AB__CODE_ENUM)
#undef AB__CODE_ENUM
    AB__CODE_END
};

/* The stable name of a code ("ok", "timeout", ...); "unknown" otherwise. */
const char *ab_code_name(int code);

/* What went wrong, for the caller to print or match on. */
typedef struct ab_error {
    int code;                 /* AB_OK or an AB_E* code */
    int from_broker;          /* 1: the broker's own error reply */
    char name[32];            /* the code's name; for a broker error, the
                                 broker's name (may be one this header does
                                 not know, then code is AB_EBROKER) */
    char service[AB_NAME_MAX]; /* from a broker error reply, else "" */
    char message[512];        /* one printable line */
} ab_error;

/* ---------------------------------------------------------- messages -- */

/* A frame to send: the caller's bytes, copied by the call. */
typedef struct ab_frame {
    const void *data;
    size_t size;
} ab_frame;

/* A multipart message owned by whoever holds it: a reply from ab_call*, a
 * request or reply inside a worker. frames[0..nframes) stay valid until
 * ab_msg_free(). Initialise one with AB_MSG_INIT before ab_msg_add(). */
typedef struct ab_msg {
    ab_frame *frames;
    size_t nframes;
    zmq_msg_t *ab__parts;     /* internal: the received/added frames */
    size_t ab__nparts, ab__cap, ab__skip;
} ab_msg;

#define AB_MSG_INIT {NULL, 0, NULL, 0, 0, 0}

/* Append a copy of size bytes at data as a new frame. */
int ab_msg_add(ab_msg *m, const void *data, size_t size);
/* Release every frame; m is left empty and may be reused. */
void ab_msg_free(ab_msg *m);

/* ---------------------------------------------------------- registry -- */

typedef struct ab_options {
    const char *registry;     /* registry file; NULL: $AGENTBUS_REGISTRY */
    const char *broker;       /* broker host for service names; NULL:
                                 $AGENTBUS_BROKER, else 127.0.0.1 */
    void *zmq_ctx;            /* ZMQ context to use (not owned, must outlive
                                 the client); NULL: the client makes one */
} ab_options;

/* What the registry says about one service. */
typedef struct ab_service_info {
    char name[AB_NAME_MAX];
    int port;                 /* the broker's port for the service */
    size_t nbackends;
    char backends[AB_MAX_BACKENDS][AB_ENDPOINT_MAX];
} ab_service_info;

/* Read service `name` from the registry at path (NULL: $AGENTBUS_REGISTRY).
 * Reads the YAML subset registries are written in (docs/registry.md) and
 * refuses, with FILE:LINE and the reason, anything it cannot read for
 * sure. It does not validate the file: `agentbus check` does that. */
int ab_registry_lookup(const char *path, const char *name, ab_service_info *out,
                       ab_error *err);

/* ------------------------------------------------------------ client -- */

typedef struct ab_client ab_client;

/* target: a service name, resolved to tcp://BROKER:PORT through the
 * registry, or an endpoint ("tcp://host:port", "ipc:///path"). opts may be
 * NULL. Connecting is asynchronous: a broker that is down shows up as
 * AB_EUNAVAILABLE from the first call. NULL on error. */
ab_client *ab_client_open(const char *target, const ab_options *opts, ab_error *err);
/* Close; a call still unanswered is abandoned. NULL is ignored. */
void ab_client_close(ab_client *c);
/* The endpoint the client is connected to. */
const char *ab_client_endpoint(const ab_client *c);
/* Replies dropped so far: late replies to earlier calls, and strays. */
unsigned long ab_client_dropped(const ab_client *c);

typedef struct ab_call_opts {
    int timeout_ms;           /* deadline of the whole call, 1..AB_MAX_TIMEOUT_MS */
    int idempotent;           /* 1: the request may be sent more than once */
    int retries;              /* extra attempts (needs idempotent) after
                                 timeout, unavailable or overloaded */
} ab_call_opts;

/* Send one request (frames[0..nframes), 1..AB_MAX_FRAMES) and wait for its
 * reply until the deadline. On AB_OK *reply holds the reply's frames (at
 * least one); otherwise *reply is empty. Either way ab_msg_free() it.
 * A broker error reply is returned as its code, with from_broker = 1. */
int ab_callv(ab_client *c, const ab_frame *frames, size_t nframes,
             const ab_call_opts *opts, ab_msg *reply, ab_error *err);
/* ab_callv with one frame and no retries. */
int ab_call(ab_client *c, const void *body, size_t size, int timeout_ms,
            ab_msg *reply, ab_error *err);

/* ------------------------------------------------------------ worker -- */

typedef struct ab_worker ab_worker;

/* Answer one request: append the reply's frames to *reply with ab_msg_add()
 * (no frame added: one empty frame is sent). Both messages are the
 * worker's; do not keep pointers into them. Return 0 to go on serving,
 * anything else to make ab_worker_run() return after this reply. */
typedef int (*ab_handler)(void *user, const ab_msg *request, ab_msg *reply);

/* Bind a REP socket for target: a service name (its first backend endpoint
 * from the registry) or an endpoint. NULL on error. */
ab_worker *ab_worker_open(const char *target, const ab_options *opts, ab_error *err);
/* Serve requests one at a time until the handler returns non-zero or
 * *stop (may be NULL) becomes non-zero, which is seen within
 * AB_WORKER_TICK_MS: set it from a SIGTERM/SIGINT handler. Returns AB_OK
 * then, or an error code. */
int ab_worker_run(ab_worker *w, ab_handler handler, void *user,
                  volatile sig_atomic_t *stop, ab_error *err);
/* Close (replies already sent get AB_WORKER_LINGER_MS to leave). */
void ab_worker_close(ab_worker *w);
/* The endpoint the worker is bound to. */
const char *ab_worker_endpoint(const ab_worker *w);

#ifdef __cplusplus
}
#endif

#endif /* AGENTBUS_H */

/* ================================================== implementation == */

#if defined(AGENTBUS_IMPLEMENTATION) && !defined(AGENTBUS_IMPLEMENTED)
#define AGENTBUS_IMPLEMENTED

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The tag frame in front of every request (see the top of this file). */
#define AB__TAG_LEN 12
#define AB__TAG_MAGIC "\0ab"
#define AB__TAG_MAGIC_LEN 3
#define AB__KIND_REQUEST 'q'
#define AB__KIND_ERROR 'e'

/* -------------------------------------------------------------- codes -- */

const char *ab_code_name(int code)
{
    switch (code) {
    case AB_OK:
        return "ok";
#define AB__CODE_NAME(sym, name, wire)                                     \
    case sym:                                                              \
        return name;
        AB_CODES(AB__CODE_NAME)
#undef AB__CODE_NAME
    }
    return "unknown";
}

/* The code the broker's wire name stands for; AB_EBROKER if unknown. */
static int ab__wire_code(const char *name)
{
#define AB__CODE_WIRE(sym, cname, wire)                                    \
    if (wire && strcmp(name, cname) == 0)                                  \
        return sym;
    AB_CODES(AB__CODE_WIRE)
#undef AB__CODE_WIRE
    return AB_EBROKER;
}

/* Drop a UTF-8 sequence cut short at the end of s[0..*n). */
static void ab__utf8_trim(char *s, size_t *n)
{
    size_t i = *n, cont = 0;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && cont < 3) {
        i--;
        cont++;
    }
    if (i > 0 && ((unsigned char)s[i - 1] & 0x80)) {
        unsigned char lead = (unsigned char)s[i - 1];
        size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : 1;
        if (cont < need)
            *n = i - 1;
    }
    s[*n] = '\0';
}

#if defined(__GNUC__)
#define AB__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define AB__PRINTF(f, a)
#endif

/* vsnprintf for text that may be cut to fit on purpose (messages quoting
 * a peer or a path); a cut never splits a UTF-8 character. */
static void ab__vfmt(char *out, size_t len, const char *fmt, va_list ap)
{
    size_t n;
    vsnprintf(out, len, fmt, ap);
    n = strlen(out);
    ab__utf8_trim(out, &n);
}

static void ab__fmt(char *out, size_t len, const char *fmt, ...) AB__PRINTF(3, 4);
static void ab__fmt(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ab__vfmt(out, len, fmt, ap);
    va_end(ap);
}

/* Fill *err with a local error (not the broker's); returns code. */
static int ab__fail(ab_error *err, int code, const char *fmt, ...) AB__PRINTF(3, 4);
static int ab__fail(ab_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    size_t n;
    err->code = code;
    err->from_broker = 0;
    ab__fmt(err->name, sizeof err->name, "%s", ab_code_name(code));
    err->service[0] = '\0';
    ab__fmt(err->message, sizeof err->message, "%s: ", err->name);
    n = strlen(err->message);
    va_start(ap, fmt);
    ab__vfmt(err->message + n, sizeof err->message - n, fmt, ap);
    va_end(ap);
    return code;
}

static int ab__zmq_fail(ab_error *err, const char *what)
{
    int e = zmq_errno();
    return ab__fail(err, e == ENOMEM ? AB_ENOMEM : AB_EZMQ, "%s: %s", what,
                    zmq_strerror(e));
}

static void ab__ok(ab_error *err)
{
    memset(err, 0, sizeof *err);
    ab__fmt(err->name, sizeof err->name, "ok");
}

/* ----------------------------------------------------------- messages -- */

static void ab__msg_view(ab_msg *m);

/* Room for at least n parts; parts move with zmq_msg_move (a zmq_msg_t may
 * hold its bytes inline, so it is never copied with memcpy, and frames[]
 * must be pointed at the new places). */
static int ab__msg_reserve(ab_msg *m, size_t n)
{
    size_t cap = m->ab__cap ? m->ab__cap : 4, i;
    zmq_msg_t *parts;
    ab_frame *frames;
    if (n <= m->ab__cap)
        return AB_OK;
    while (cap < n)
        cap *= 2;
    parts = (zmq_msg_t *)malloc(cap * (sizeof *parts + sizeof *frames));
    if (!parts)
        return AB_ENOMEM;
    frames = (ab_frame *)(void *)(parts + cap);
    for (i = 0; i < m->ab__nparts; i++) {
        zmq_msg_init(&parts[i]);
        zmq_msg_move(&parts[i], &m->ab__parts[i]);
        zmq_msg_close(&m->ab__parts[i]);
    }
    free(m->ab__parts);
    m->ab__parts = parts;
    m->frames = frames;
    m->ab__cap = cap;
    ab__msg_view(m);
    return AB_OK;
}

/* Point frames[] at the parts after the first ab__skip ones (none while
 * there are no more parts than that). */
static void ab__msg_view(ab_msg *m)
{
    size_t i;
    m->nframes = m->ab__nparts > m->ab__skip ? m->ab__nparts - m->ab__skip : 0;
    for (i = 0; i < m->nframes; i++) {
        zmq_msg_t *p = &m->ab__parts[m->ab__skip + i];
        m->frames[i].data = zmq_msg_data(p);
        m->frames[i].size = zmq_msg_size(p);
    }
}

int ab_msg_add(ab_msg *m, const void *data, size_t size)
{
    zmq_msg_t *p;
    if (ab__msg_reserve(m, m->ab__nparts + 1) != AB_OK)
        return AB_ENOMEM;
    p = &m->ab__parts[m->ab__nparts];
    if (zmq_msg_init_size(p, size) != 0)
        return AB_ENOMEM;
    if (size)
        memcpy(zmq_msg_data(p), data, size);
    m->ab__nparts++;
    m->nframes = m->ab__nparts - m->ab__skip;
    m->frames[m->nframes - 1].data = zmq_msg_data(p);
    m->frames[m->nframes - 1].size = size;
    return AB_OK;
}

void ab_msg_free(ab_msg *m)
{
    size_t i;
    if (!m)
        return;
    for (i = 0; i < m->ab__nparts; i++)
        zmq_msg_close(&m->ab__parts[i]);
    free(m->ab__parts);
    memset(m, 0, sizeof *m);
}

/* Receive one whole message into the empty m, keeping at most max parts
 * (the rest are received and released, so the socket stays in step).
 * Returns the parts the message had, or -1 (zmq_errno() says why; m is
 * then empty). */
static long ab__msg_recv(ab_msg *m, void *sock, size_t max, int flags)
{
    long total = 0;
    int more = 1, lost = 0;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, total ? 0 : flags) < 0) {
            int e = zmq_errno();
            zmq_msg_close(&part);
            ab_msg_free(m);
            errno = e;
            return -1;
        }
        more = zmq_msg_more(&part);
        total++;
        if (m->ab__nparts < max && ab__msg_reserve(m, m->ab__nparts + 1) == AB_OK) {
            zmq_msg_init(&m->ab__parts[m->ab__nparts]);
            zmq_msg_move(&m->ab__parts[m->ab__nparts++], &part);
        } else if (m->ab__nparts < max) {
            lost = 1;
        }
        zmq_msg_close(&part);
    }
    if (lost) {
        ab_msg_free(m);
        errno = ENOMEM;
        return -1;
    }
    return total;
}

/* -------------------------------------------------------------- time -- */

/* Microseconds since the stopwatch started, from libzmq's monotonic clock;
 * differences stay right across a wrap of unsigned long. */
static unsigned long ab__now(void *watch) { return zmq_stopwatch_intermediate(watch); }

/* Milliseconds left before t0 + budget_us (rounded up), or 0. */
static long ab__left_ms(void *watch, unsigned long t0, unsigned long budget_us)
{
    unsigned long spent = ab__now(watch) - t0;
    return spent >= budget_us ? 0 : (long)((budget_us - spent + 999) / 1000);
}

/* Wait until sock has `events` or ms pass: 1 ready, 0 not yet, -1 error.
 * A signal just ends the wait early (the caller looks at the time). */
static int ab__wait(void *sock, short events, long ms)
{
    zmq_pollitem_t item;
    int rc;
    item.socket = sock;
    item.fd = 0;
    item.events = events;
    item.revents = 0;
    rc = zmq_poll(&item, 1, ms);
    if (rc < 0)
        return zmq_errno() == EINTR ? 0 : -1;
    return rc > 0;
}

/* ----------------------------------------------------------- registry -- */

/* The YAML subset registries are written in: block mappings indented by
 * spaces, plain or quoted scalars, backends as a flow sequence ([a, "b"],
 * possibly wrapped over lines) or a block sequence (- a), comments. Read
 * line by line, tracking open quotes and flow brackets across lines; what
 * could mean something the reader does not follow (block scalars, anchors,
 * aliases, tags, merge keys, complex keys, flow-style services, directives,
 * several documents, tabs) is refused where it could matter. */

enum { AB__SEC_NONE, AB__SEC_SERVICES, AB__SEC_OTHER };

typedef struct ab__reg {
    const char *path, *want;
    ab_service_info *out;
    ab_error *err;
    int line;
    int section;            /* AB__SEC_* of the current top-level key */
    int svc_indent;         /* indentation of service names, -1 unknown */
    int field_indent;       /* ... of the wanted service's keys, -1 unknown */
    int item_indent;        /* ... of its `backends:` block items, -1 unknown */
    int target;             /* inside the wanted service */
    int in_items;           /* reading its `backends:` block sequence */
    int depth;              /* flow collection depth at the end of the line */
    char quote;             /* the quote still open there, or 0 */
    char *flow;             /* its `backends: [...]` over several lines, */
    size_t flow_len;        /* ... joined here until the ] */
    int found, services_seen, port_seen, backends_seen, docs;
} ab__reg;

/* One line split up: indentation, "- " item marker, key and value. */
typedef struct ab__yline {
    int indent;
    int item;               /* the line is "- VALUE" */
    int has_key;
    char key[AB_NAME_MAX];
    int key_long;           /* key longer than AB_NAME_MAX - 1: matches nothing */
    const char *value;      /* rest of the line after "key:" or "- ", trimmed */
} ab__yline;

static int ab__reg_fail(ab__reg *r, const char *fmt, ...) AB__PRINTF(2, 3);
static int ab__reg_fail(ab__reg *r, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    ab__vfmt(why, sizeof why, fmt, ap);
    va_end(ap);
    if (r->line > 0)
        return ab__fail(r->err, AB_EREGISTRY, "%s:%d: %s", r->path, r->line, why);
    return ab__fail(r->err, AB_EREGISTRY, "%s: %s", r->path, why);
}

static int ab__is_space(char c) { return c == ' ' || c == '\t'; }

static const char *ab__skip_spaces(const char *s)
{
    while (ab__is_space(*s))
        s++;
    return s;
}

/* Cut a comment (a '#' outside quotes, at the start or after a blank) and
 * trailing blanks. *quote (the open quote, or 0) and *depth (of [ and {)
 * are the state before the line, and after it on return. A bracket counts
 * only where YAML reads it as one (where a value may start, or inside a
 * flow), so a plain value like a[b opens nothing. */
static void ab__strip(char *s, char *quote_io, int *depth)
{
    char quote = *quote_io;
    int start = 1; /* a value (scalar or collection) may start here */
    size_t i, n;
    for (i = 0; s[i]; i++) {
        char c = s[i];
        if (quote) {
            if (quote == '"' && c == '\\' && s[i + 1])
                i++;
            else if (c == quote && quote == '\'' && s[i + 1] == '\'')
                i++;
            else if (c == quote)
                quote = 0;
        } else if (c == '#' && (i == 0 || ab__is_space(s[i - 1]))) {
            break;
        } else if (start && (c == '"' || c == '\'')) {
            quote = c;
            start = 0;
        } else if ((start || *depth > 0) && (c == '[' || c == '{')) {
            (*depth)++;
            start = 1;
        } else if (*depth > 0 && (c == ']' || c == '}' || c == ',')) {
            *depth -= c != ',';
            start = c == ',';
        } else if (!ab__is_space(c)) {
            start = (c == '-' || c == ':' || c == '?') && (!s[i + 1] || ab__is_space(s[i + 1]));
        }
    }
    s[i] = '\0';
    *quote_io = quote;
    n = i;
    while (n > 0 && ab__is_space(s[n - 1]))
        s[--n] = '\0';
}

/* Parse one scalar at *pp into out (len bytes, NUL-terminated; *cut set
 * if it did not fit). flow: a plain scalar ends at ',' or ']'. Returns
 * NULL, or why it cannot be read. */
static const char *ab__scalar(const char **pp, int flow, char *out, size_t len, int *cut)
{
    const char *p = *pp;
    size_t o = 0;
    char q = *p;
    *cut = 0;
    if (q == '"' || q == '\'') {
        for (p++; *p && !(*p == q && !(q == '\'' && p[1] == '\'')); p++) {
            if (q == '\'' && *p == '\'')
                p++; /* '' is one quote */
            else if (q == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '/'))
                p++;
            else if (q == '"' && *p == '\\')
                return "escape sequences other than \\\\, \\\" and \\/ are not supported";
            if (o + 1 < len)
                out[o++] = *p;
            else
                *cut = 1;
        }
        if (*p != q)
            return "unterminated quoted string";
        p++;
    } else {
        if (*p && strchr("[]{}#&*!|>%@`,", *p))
            return *p == '&' || *p == '*' ? "anchors and aliases are not supported"
                   : *p == '!'            ? "tags are not supported"
                   : *p == '|' || *p == '>' ? "block scalars are not supported"
                   : *p == '[' || *p == '{' ? "nested flow collections are not supported"
                                            : "value starts with a reserved character";
        if ((*p == '-' || *p == '?' || *p == ':') && (!p[1] || ab__is_space(p[1])))
            return "value starts with a reserved character";
        for (; *p && !(flow && (*p == ',' || *p == ']')); p++) {
            if (*p == ':' && (!p[1] || ab__is_space(p[1]) || (flow && p[1] == ',')))
                return "a plain value may not contain ': '";
            if (flow && strchr("[{}", *p))
                return "nested flow collections are not supported";
            if (o + 1 < len)
                out[o++] = *p;
            else
                *cut = 1;
        }
        while (o > 0 && ab__is_space(out[o - 1]))
            o--;
    }
    out[o] = '\0';
    *pp = p;
    return NULL;
}

/* Split a stripped line into an ab__yline. Returns NULL or why not. */
static const char *ab__split(const char *s, ab__yline *y)
{
    const char *p = s, *colon, *why;
    memset(y, 0, sizeof *y);
    while (*p == ' ')
        p++;
    y->indent = (int)(p - s);
    if (*p == '\t')
        return "tab in indentation (YAML allows only spaces)";
    if (*p == '?' && (!p[1] || p[1] == ' '))
        return "complex keys ('? ') are not supported";
    if (*p && strchr("[]{}&*!|>%@`,", *p))
        return "a line may not start with a flow collection, anchor, alias, tag or block "
               "scalar here";
    if (*p == '-' && (!p[1] || p[1] == ' ')) {
        y->item = 1;
        y->value = ab__skip_spaces(p + 1);
        return NULL;
    }
    if (*p == '"' || *p == '\'') {
        const char *q = p;
        if ((why = ab__scalar(&q, 0, y->key, sizeof y->key, &y->key_long)) != NULL)
            return why;
        colon = ab__skip_spaces(q);
        if (*colon != ':')
            return NULL; /* a bare scalar: no key */
    } else {
        size_t n;
        for (colon = p; *colon && !(*colon == ':' && (!colon[1] || colon[1] == ' ')); colon++) {
        }
        if (!*colon)
            return NULL;
        for (n = (size_t)(colon - p); n > 0 && p[n - 1] == ' '; n--) {
        }
        if (n >= sizeof y->key)
            y->key_long = 1;
        else
            memcpy(y->key, p, n);
    }
    y->has_key = 1;
    y->value = ab__skip_spaces(colon + 1);
    return NULL;
}

/* The port: plain decimal 1..65535, no sign, no leading zero. */
static int ab__reg_port(ab__reg *r, const char *v)
{
    long port = 0;
    const char *p = v;
    if (r->port_seen++)
        return ab__reg_fail(r, "services.%s.port: defined twice", r->want);
    if (*p == '0' && p[1])
        p = ""; /* leading zero: refused below */
    for (; *p >= '0' && *p <= '9' && port <= 65535; p++)
        port = port * 10 + (*p - '0');
    if (!*v || *p || port < 1 || port > 65535)
        return ab__reg_fail(r, "services.%s.port: expected a decimal integer 1..65535, got '%s'",
                            r->want, v);
    r->out->port = (int)port;
    return AB_OK;
}

static int ab__reg_backend(ab__reg *r, const char **pp, int flow)
{
    const char *why;
    int cut;
    if (r->out->nbackends >= AB_MAX_BACKENDS)
        return ab__reg_fail(r, "services.%s.backends: more than %d", r->want, AB_MAX_BACKENDS);
    why = ab__scalar(pp, flow, r->out->backends[r->out->nbackends], AB_ENDPOINT_MAX, &cut);
    if (!why && cut)
        why = "endpoint too long";
    if (why)
        return ab__reg_fail(r, "services.%s.backends[%d]: %s", r->want,
                            (int)r->out->nbackends, why);
    if (!r->out->backends[r->out->nbackends][0])
        return ab__reg_fail(r, "services.%s.backends[%d]: empty", r->want,
                            (int)r->out->nbackends);
    r->out->nbackends++;
    return AB_OK;
}

/* backends: [a, "b", 'c'] on one line. */
static int ab__reg_flow_backends(ab__reg *r, const char *p)
{
    p = ab__skip_spaces(p + 1);
    while (*p != ']') {
        if (ab__reg_backend(r, &p, 1) != AB_OK)
            return r->err->code;
        p = ab__skip_spaces(p);
        if (*p == ',')
            p = ab__skip_spaces(p + 1);
        else if (*p != ']')
            return ab__reg_fail(r, "services.%s.backends: expected ',' or ']'", r->want);
    }
    if (*ab__skip_spaces(p + 1))
        return ab__reg_fail(r, "services.%s.backends: text after ']'", r->want);
    return AB_OK;
}

/* The room a `backends:` flow sequence over several lines may take. */
#define AB__FLOW_MAX ((size_t)AB_MAX_BACKENDS * AB_ENDPOINT_MAX + AB_REGISTRY_MAX_LINE)

/* Append one line of the wanted service's `backends: [` over several
 * lines; at the closing ] read the whole sequence. */
static int ab__reg_flow_add(ab__reg *r, const char *text)
{
    size_t n = strlen(text);
    if (!r->flow && !(r->flow = (char *)malloc(AB__FLOW_MAX)))
        return ab__fail(r->err, AB_ENOMEM, "reading %s", r->path);
    if (r->flow_len + n + 2 > AB__FLOW_MAX)
        return ab__reg_fail(r, "services.%s.backends: longer than %d bytes", r->want,
                            (int)AB__FLOW_MAX);
    if (r->flow_len)
        r->flow[r->flow_len++] = ' ';
    memcpy(r->flow + r->flow_len, text, n + 1);
    r->flow_len += n;
    if (r->depth > 0 || r->quote)
        return AB_OK;
    r->flow_len = 0;
    return ab__reg_flow_backends(r, r->flow);
}

/* One key of the wanted service (port and backends; others are skipped). */
static int ab__reg_field(ab__reg *r, const ab__yline *y)
{
    const char *v = y->value;
    if (!y->has_key)
        return ab__reg_fail(r, "services.%s: expected 'key: value'", r->want);
    if (strcmp(y->key, "<<") == 0)
        return ab__reg_fail(r, "services.%s: merge keys ('<<') are not supported", r->want);
    if (*v && strchr("&*!|>", *v))
        return ab__reg_fail(r, "services.%s.%s: anchors, aliases, tags and block scalars are "
                            "not supported", r->want, y->key);
    if (strcmp(y->key, "port") == 0)
        return ab__reg_port(r, v);
    if (strcmp(y->key, "backends") != 0)
        return AB_OK;
    if (r->backends_seen++)
        return ab__reg_fail(r, "services.%s.backends: defined twice", r->want);
    if (*v == '[' && (r->depth > 0 || r->quote))
        return ab__reg_flow_add(r, v);
    if (*v == '[')
        return ab__reg_flow_backends(r, v);
    if (*v)
        return ab__reg_fail(r, "services.%s.backends: expected a sequence", r->want);
    r->in_items = 1;
    r->item_indent = -1;
    return AB_OK;
}

/* A line inside the wanted service (deeper than the service names). */
static int ab__reg_target_line(ab__reg *r, const ab__yline *y)
{
    if (r->field_indent < 0)
        r->field_indent = y->indent;
    if (r->in_items && y->item && y->indent >= r->field_indent) {
        const char *v = y->value;
        if (r->item_indent < 0)
            r->item_indent = y->indent;
        if (y->indent != r->item_indent)
            return ab__reg_fail(r, "services.%s.backends: items indented unevenly", r->want);
        if (ab__reg_backend(r, &v, 0) != AB_OK)
            return r->err->code;
        return *v ? ab__reg_fail(r, "services.%s.backends: text after the value", r->want)
                  : AB_OK;
    }
    r->in_items = 0;
    if (y->indent != r->field_indent)
        return ab__reg_fail(r, "services.%s: unexpected indentation (nested or multi-line "
                            "values are not supported)", r->want);
    return ab__reg_field(r, y);
}

/* A line under `services:`. */
static int ab__reg_services_line(ab__reg *r, const ab__yline *y)
{
    if (r->svc_indent < 0)
        r->svc_indent = y->indent;
    if (y->indent > r->svc_indent)
        return r->target ? ab__reg_target_line(r, y) : AB_OK;
    if (y->indent < r->svc_indent || !y->has_key)
        return ab__reg_fail(r, "services: expected 'NAME:' at the indentation of the other "
                            "services");
    r->in_items = 0;
    r->target = !y->key_long && strcmp(y->key, r->want) == 0;
    if (!r->target)
        return AB_OK;
    if (r->found++)
        return ab__reg_fail(r, "services.%s: defined twice", r->want);
    r->field_indent = -1;
    if (*y->value == '{')
        return ab__reg_fail(r, "services.%s: flow-style entries ({...}) are not supported; "
                            "write one key per line", r->want);
    return *y->value ? ab__reg_fail(r, "services.%s: expected a mapping", r->want) : AB_OK;
}

/* A line at indentation 0: a top-level key, or a document marker. */
static int ab__reg_top_line(ab__reg *r, const char *s, const ab__yline *y)
{
    r->target = 0;
    r->in_items = 0;
    if (strncmp(s, "---", 3) == 0 && (!s[3] || s[3] == ' ')) {
        if (r->docs++ || s[3])
            return ab__reg_fail(r, "only one YAML document, with '---' alone on its line, is "
                                "supported");
        return AB_OK;
    }
    if (!y->has_key || y->item)
        return ab__reg_fail(r, "expected a top-level 'key:'");
    r->docs = 1;
    if (strcmp(y->key, "services") != 0) {
        r->section = AB__SEC_OTHER;
        return AB_OK;
    }
    if (r->services_seen++)
        return ab__reg_fail(r, "services: defined twice");
    r->section = AB__SEC_SERVICES;
    r->svc_indent = -1;
    if (*y->value && strcmp(y->value, "{}") != 0)
        return ab__reg_fail(r, "services: expected a block mapping (one service per line)");
    return AB_OK;
}

/* One raw line (no newline); modified in place. */
static int ab__reg_line(ab__reg *r, char *s)
{
    ab__yline y;
    const char *why;
    int in_quote = r->quote != 0, inside = in_quote || r->depth > 0;
    ab__strip(s, &r->quote, &r->depth);
    /* The rest of a flow collection or quoted value: ours to read (joined
     * with single spaces, as YAML folds lines), or skipped. */
    if (inside && r->flow_len && in_quote && !*s)
        return ab__reg_fail(r, "blank line inside a quoted value");
    if (inside)
        return r->flow_len ? ab__reg_flow_add(r, ab__skip_spaces(s)) : AB_OK;
    if (!*s)
        return AB_OK;
    if (s[0] == '%')
        return ab__reg_fail(r, "YAML directives are not supported");
    if ((why = ab__split(s, &y)) != NULL)
        return ab__reg_fail(r, "%s", why);
    if (y.value && (*y.value == '|' || *y.value == '>'))
        return ab__reg_fail(r, "block scalars ('|', '>') are not supported");
    if (y.indent == 0)
        return ab__reg_top_line(r, s, &y);
    if (r->section == AB__SEC_NONE)
        return ab__reg_fail(r, "indented line before any top-level key");
    return r->section == AB__SEC_SERVICES ? ab__reg_services_line(r, &y) : AB_OK;
}

/* Read the whole file (at most AB_REGISTRY_MAX_BYTES) into a new buffer. */
static int ab__read_file(ab__reg *r, char **out, size_t *len)
{
    FILE *f = fopen(r->path, "rb");
    char *buf;
    size_t n;
    if (!f)
        return ab__reg_fail(r, "cannot open: %s", strerror(errno));
    buf = (char *)malloc((size_t)AB_REGISTRY_MAX_BYTES + 2);
    if (!buf) {
        fclose(f);
        return ab__fail(r->err, AB_ENOMEM, "reading %s", r->path);
    }
    n = fread(buf, 1, (size_t)AB_REGISTRY_MAX_BYTES + 1, f);
    if (ferror(f) || n > (size_t)AB_REGISTRY_MAX_BYTES) {
        int toolong = !ferror(f);
        fclose(f);
        free(buf);
        return toolong ? ab__reg_fail(r, "larger than %d bytes", AB_REGISTRY_MAX_BYTES)
                       : ab__reg_fail(r, "read error");
    }
    fclose(f);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return AB_OK;
}

/* Feed buf[0..len) to ab__reg_line line by line (after a UTF-8 BOM). */
static int ab__reg_parse(ab__reg *r, char *buf, size_t len)
{
    char *line = buf, *end = buf + len;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        line += 3;
    while (line < end) {
        char *nl = (char *)memchr(line, '\n', (size_t)(end - line));
        char *stop = nl ? nl : end;
        r->line++;
        if (memchr(line, '\0', (size_t)(stop - line)))
            return ab__reg_fail(r, "NUL byte in the file");
        if (stop - line > AB_REGISTRY_MAX_LINE)
            return ab__reg_fail(r, "line longer than %d bytes", AB_REGISTRY_MAX_LINE);
        if (stop > line && stop[-1] == '\r')
            stop[-1] = '\0';
        *stop = '\0';
        if (ab__reg_line(r, line) != AB_OK)
            return r->err->code;
        line = stop + 1;
    }
    if (r->depth > 0 || r->quote)
        return ab__reg_fail(r, "a %s is never closed", r->quote ? "quote" : "[ or {");
    r->line = 0;
    if (!r->found)
        return ab__reg_fail(r, "no service '%s'", r->want);
    if (!r->port_seen || !r->out->nbackends)
        return ab__reg_fail(r, "services.%s: needs a port and at least one backend", r->want);
    return AB_OK;
}

static int ab__valid_name(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

int ab_registry_lookup(const char *path, const char *name, ab_service_info *out,
                       ab_error *err)
{
    ab_error scratch;
    ab__reg r;
    char *buf = NULL;
    size_t len = 0;
    int rc;
    if (!err)
        err = &scratch;
    if (!name || !out || !ab__valid_name(name))
        return ab__fail(err, AB_EINVAL, "'%.80s' is neither a service name (1..64 characters "
                        "from [A-Za-z0-9_.-]) nor an endpoint (tcp://HOST:PORT, ipc:///PATH)",
                        name ? name : "(null)");
    if (!path || !*path)
        path = getenv("AGENTBUS_REGISTRY");
    if (!path || !*path)
        return ab__fail(err, AB_EREGISTRY, "no registry file: set AGENTBUS_REGISTRY or "
                                           "ab_options.registry");
    memset(&r, 0, sizeof r);
    memset(out, 0, sizeof *out);
    r.path = path;
    r.want = name;
    r.out = out;
    r.err = err;
    if (ab__read_file(&r, &buf, &len) != AB_OK)
        return err->code;
    rc = ab__reg_parse(&r, buf, len);
    free(buf);
    free(r.flow);
    if (rc != AB_OK) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    ab__fmt(out->name, sizeof out->name, "%s", name);
    ab__ok(err);
    return AB_OK;
}

/* ------------------------------------------------------------ targets -- */

static int ab__is_endpoint(const char *target) { return strstr(target, "://") != NULL; }

/* tcp://HOST:PORT for the broker host (IPv6 literals get brackets). */
static int ab__broker_endpoint(const char *host, int port, char *out, size_t len, ab_error *err)
{
    size_t n;
    if (!host || !*host)
        host = getenv("AGENTBUS_BROKER");
    if (!host || !*host)
        host = "127.0.0.1";
    n = strlen(host);
    if (n > 253 || strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789.-:[]") != n)
        return ab__fail(err, AB_EINVAL, "broker host '%.64s' is not a host name or address "
                                        "($AGENTBUS_BROKER / ab_options.broker)", host);
    if (strchr(host, ':') && host[0] != '[')
        ab__fmt(out, len, "tcp://[%s]:%d", host, port);
    else
        ab__fmt(out, len, "tcp://%s:%d", host, port);
    return AB_OK;
}

/* The endpoint to connect (client) or bind (worker) for target. */
static int ab__resolve(const char *target, const ab_options *o, int worker, char *out,
                       size_t len, ab_error *err)
{
    ab_service_info *info;
    int rc;
    if (!target || !*target)
        return ab__fail(err, AB_EINVAL, "no target: give a service name or an endpoint");
    if (ab__is_endpoint(target)) {
        if (strlen(target) >= len)
            return ab__fail(err, AB_EINVAL, "endpoint longer than %d bytes", (int)len - 1);
        memcpy(out, target, strlen(target) + 1);
        return AB_OK;
    }
    info = (ab_service_info *)malloc(sizeof *info);
    if (!info)
        return ab__fail(err, AB_ENOMEM, "resolving %s", target);
    rc = ab_registry_lookup(o ? o->registry : NULL, target, info, err);
    if (rc == AB_OK && worker)
        ab__fmt(out, len, "%s", info->backends[0]);
    else if (rc == AB_OK)
        rc = ab__broker_endpoint(o ? o->broker : NULL, info->port, out, len, err);
    free(info);
    return rc;
}

/* ZeroMQ binds addresses, not DNS names: a backend registered by name
 * (tcp://translator:15581, a container) is bound on every interface. */
static void ab__bindable(char *ep, size_t len)
{
    const char *host = ep + 6, *colon;
    char port[8];
    size_t n;
    if (strncmp(ep, "tcp://", 6) != 0 || !(colon = strrchr(host, ':')) ||
        strlen(colon + 1) >= sizeof port)
        return;
    n = (size_t)(colon - host);
    if (*host == '[' || (n == 1 && *host == '*') || strspn(host, "0123456789.") >= n)
        return; /* an address already */
    memcpy(port, colon + 1, strlen(colon + 1) + 1);
    ab__fmt(ep, len, "tcp://*:%s", port);
}

/* A socket of type with the given linger, ready for ep (IPv6 if needed). */
static void *ab__socket(void *ctx, int type, int linger, const char *ep, ab_error *err)
{
    int ipv6 = strchr(ep, '[') != NULL;
    void *s = zmq_socket(ctx, type);
    if (!s) {
        ab__zmq_fail(err, "zmq_socket");
        return NULL;
    }
    if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(s, ZMQ_IPV6, &ipv6, sizeof ipv6) != 0) {
        ab__zmq_fail(err, "zmq_setsockopt");
        zmq_close(s);
        return NULL;
    }
    return s;
}

/* Common to clients and workers: a context (the caller's or our own). */
static void *ab__context(const ab_options *o, int *own, ab_error *err)
{
    void *ctx = o ? o->zmq_ctx : NULL;
    *own = ctx == NULL;
    if (!ctx && !(ctx = zmq_ctx_new()))
        ab__zmq_fail(err, "zmq_ctx_new");
    return ctx;
}

/* -------------------------------------------------------- error reply -- */

static const char *ab__json_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Append code point cp as UTF-8 if it fits in out[0..len-1). */
static void ab__put_utf8(char *out, size_t len, size_t *o, unsigned long cp)
{
    unsigned char b[4];
    size_t n = 0, i;
    if (cp < 0x80) {
        b[n++] = (unsigned char)cp;
    } else if (cp < 0x800) {
        b[n++] = (unsigned char)(0xC0 | (cp >> 6));
        b[n++] = (unsigned char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        b[n++] = (unsigned char)(0xE0 | (cp >> 12));
        b[n++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[n++] = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
        b[n++] = (unsigned char)(0xF0 | (cp >> 18));
        b[n++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[n++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[n++] = (unsigned char)(0x80 | (cp & 0x3F));
    }
    if (*o + n < len)
        for (i = 0; i < n; i++)
            out[(*o)++] = (char)b[i];
}

/* Four hex digits at p (p + 4 <= end): the value, or -1. */
static long ab__hex4(const char *p, const char *end)
{
    long v = 0;
    int i;
    if (end - p < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* \uXXXX at *pp (just after the 'u'), with a following low surrogate if
 * this is a high one. Unpaired surrogates become U+FFFD. */
static long ab__json_u(const char **pp, const char *end)
{
    long cp = ab__hex4(*pp, end), lo;
    if (cp < 0)
        return -1;
    *pp += 4;
    if (cp < 0xD800 || cp > 0xDFFF)
        return cp;
    if (cp <= 0xDBFF && end - *pp >= 6 && (*pp)[0] == '\\' && (*pp)[1] == 'u' &&
        (lo = ab__hex4(*pp + 2, end)) >= 0xDC00 && lo <= 0xDFFF) {
        *pp += 6;
        return 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    return 0xFFFD;
}

/* The JSON string at *pp (at its '"') into out, UTF-8, truncated to fit
 * at a character boundary. Returns 0, or -1 if malformed. */
static int ab__json_string(const char **pp, const char *end, char *out, size_t len)
{
    const char *p = *pp;
    size_t o = 0;
    if (p >= end || *p++ != '"')
        return -1;
    while (p < end && *p != '"') {
        unsigned char c = (unsigned char)*p++;
        long cp = c;
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            if (p >= end)
                return -1;
            c = (unsigned char)*p++;
            cp = c == 'b' ? 8 : c == 'f' ? 12 : c == 'n' ? 10 : c == 'r' ? 13 : c == 't' ? 9
               : c == '"' || c == '\\' || c == '/' ? c : c == 'u' ? ab__json_u(&p, end) : -1;
            if (cp < 0)
                return -1;
            ab__put_utf8(out, len, &o, (unsigned long)cp);
        } else if (o + 1 < len) {
            out[o++] = (char)c; /* raw UTF-8 bytes pass through */
        }
    }
    if (p >= end)
        return -1;
    out[o] = '\0';
    ab__utf8_trim(out, &o);
    *pp = p + 1;
    return 0;
}

/* Skip a non-string JSON scalar (number, true, false, null). */
static int ab__json_skip_scalar(const char **pp, const char *end)
{
    const char *p = *pp;
    while (p < end && *p != ',' && *p != '}' && !strchr("\"[{ \t\r\n", *p))
        p++;
    if (p == *pp)
        return -1;
    *pp = p;
    return 0;
}

/* Copy the string member `key` of the flat JSON object p[0..n) into out.
 * The whole of p[0..n) must be that object (string, number, true, false or
 * null members). 0 found, 1 absent, -1 not such an object. */
static int ab__json_get(const char *p, size_t n, const char *key, char *out, size_t len)
{
    const char *end = p + n;
    char k[32], skip[1];
    int found = 0;
    p = ab__json_ws(p, end);
    if (p >= end || *p++ != '{')
        return -1;
    p = ab__json_ws(p, end);
    while (p < end && *p != '}') {
        int match;
        if (ab__json_string(&p, end, k, sizeof k) != 0)
            return -1;
        p = ab__json_ws(p, end);
        if (p >= end || *p++ != ':')
            return -1;
        p = ab__json_ws(p, end);
        match = !found && strcmp(k, key) == 0;
        if (p < end && *p == '"') {
            if (ab__json_string(&p, end, match ? out : skip, match ? len : sizeof skip) != 0)
                return -1;
            found |= match;
        } else if (match || ab__json_skip_scalar(&p, end) != 0) {
            return -1;
        }
        p = ab__json_ws(p, end);
        if (p < end && *p == ',') {
            p = ab__json_ws(p + 1, end);
            if (p >= end || *p == '}')
                return -1; /* a trailing comma */
        } else if (p >= end || *p != '}') {
            return -1;
        }
    }
    if (p >= end || ab__json_ws(p + 1, end) != end)
        return -1;
    return found ? 0 : 1;
}

/* Turn the body of a broker error reply into *err; returns its code. */
static int ab__broker_error(const ab_msg *m, ab_error *err)
{
    char code[32], text[sizeof err->message];
    const char *body = m->nframes == 1 ? (const char *)m->frames[0].data : "";
    size_t n = m->nframes == 1 ? m->frames[0].size : 0;
    memset(err, 0, sizeof *err);
    if (ab__json_get(body, n, "error", code, sizeof code) != 0 || !code[0]) {
        ab__fail(err, AB_EBROKER, "unreadable error reply from the broker (%d frames, "
                                  "%d bytes)", (int)m->nframes, (int)n);
        err->from_broker = 1;
        return AB_EBROKER;
    }
    if (ab__json_get(body, n, "message", text, sizeof text) != 0)
        text[0] = '\0';
    if (ab__json_get(body, n, "service", err->service, sizeof err->service) != 0)
        err->service[0] = '\0';
    err->code = ab__wire_code(code);
    err->from_broker = 1;
    ab__fmt(err->name, sizeof err->name, "%s", code);
    ab__fmt(err->message, sizeof err->message, "%s (from agentbusd, service %s): %s", code,
            err->service[0] ? err->service : "?", text[0] ? text : "no message");
    return err->code;
}

/* ------------------------------------------------------------- client -- */

struct ab_client {
    void *ctx;
    int own_ctx;
    void *sock;               /* DEALER, ZMQ_IMMEDIATE */
    void *watch;              /* libzmq stopwatch: the client's clock */
    uint64_t seq;             /* sequence of the last request sent */
    unsigned long dropped;
    char endpoint[AB_ENDPOINT_MAX];
};

void ab_client_close(ab_client *c)
{
    if (!c)
        return;
    if (c->sock)
        zmq_close(c->sock);
    if (c->own_ctx && c->ctx)
        zmq_ctx_term(c->ctx);
    if (c->watch)
        zmq_stopwatch_stop(c->watch);
    free(c);
}

/* Linger 0: closing abandons an unanswered call. ZMQ_IMMEDIATE: requests
 * are only queued on a live connection, so none is sent long after its
 * call gave up because the broker was down. */
static int ab__client_socket(ab_client *c, ab_error *err)
{
    int one = 1;
    c->sock = ab__socket(c->ctx, ZMQ_DEALER, 0, c->endpoint, err);
    if (!c->sock)
        return err->code;
    if (zmq_setsockopt(c->sock, ZMQ_IMMEDIATE, &one, sizeof one) != 0)
        return ab__zmq_fail(err, "zmq_setsockopt");
    if (zmq_connect(c->sock, c->endpoint) != 0)
        return ab__zmq_fail(err, c->endpoint);
    return AB_OK;
}

ab_client *ab_client_open(const char *target, const ab_options *opts, ab_error *err)
{
    ab_error scratch;
    ab_client *c;
    if (!err)
        err = &scratch;
    c = (ab_client *)calloc(1, sizeof *c);
    if (!c) {
        ab__fail(err, AB_ENOMEM, "opening a client");
        return NULL;
    }
    if (ab__resolve(target, opts, 0, c->endpoint, sizeof c->endpoint, err) != AB_OK ||
        !(c->ctx = ab__context(opts, &c->own_ctx, err)) ||
        !(c->watch = zmq_stopwatch_start()) || ab__client_socket(c, err) != AB_OK) {
        if (c->ctx && !c->watch)
            ab__fail(err, AB_ENOMEM, "opening a client");
        ab_client_close(c);
        return NULL;
    }
    ab__ok(err);
    return c;
}

const char *ab_client_endpoint(const ab_client *c) { return c->endpoint; }
unsigned long ab_client_dropped(const ab_client *c) { return c->dropped; }

static void ab__tag(unsigned char *tag, uint64_t seq)
{
    int i;
    memcpy(tag, AB__TAG_MAGIC, AB__TAG_MAGIC_LEN);
    tag[3] = AB__KIND_REQUEST;
    for (i = 0; i < 8; i++)
        tag[4 + i] = (unsigned char)(seq >> (8 * i));
}

/* The kind of m if it is the reply to request seq ([tag][""]...), else 0. */
static int ab__reply_kind(const ab_msg *m, uint64_t seq)
{
    unsigned char want[AB__TAG_LEN];
    const unsigned char *tag;
    if (m->ab__nparts < 2 || zmq_msg_size(&m->ab__parts[0]) != AB__TAG_LEN ||
        zmq_msg_size(&m->ab__parts[1]) != 0)
        return 0;
    tag = (const unsigned char *)zmq_msg_data(&m->ab__parts[0]);
    ab__tag(want, seq);
    if (memcmp(tag, want, 3) != 0 || memcmp(tag + 4, want + 4, 8) != 0)
        return 0;
    return tag[3] == AB__KIND_REQUEST || tag[3] == AB__KIND_ERROR ? tag[3] : 0;
}

/* Send [tag][""][frames...]. The first frame waits (until the deadline)
 * for a connection; libzmq then takes the rest of the message whole. */
static int ab__send(ab_client *c, const ab_frame *f, size_t n, unsigned long t0,
                    unsigned long budget, ab_error *err)
{
    unsigned char tag[AB__TAG_LEN];
    size_t i;
    ab__tag(tag, c->seq);
    while (zmq_send(c->sock, tag, sizeof tag, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        long ms = ab__left_ms(c->watch, t0, budget);
        if (zmq_errno() != EAGAIN)
            return ab__zmq_fail(err, "sending a request");
        if (ms == 0)
            return ab__fail(err, AB_EUNAVAILABLE, "no connection to %s within %lu ms "
                            "(is agentbusd running?); the request was not sent",
                            c->endpoint, budget / 1000);
        if (ab__wait(c->sock, ZMQ_POLLOUT, ms) < 0)
            return ab__zmq_fail(err, "waiting to send");
    }
    if (zmq_send(c->sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return ab__zmq_fail(err, "sending a request");
    for (i = 0; i < n; i++)
        if (zmq_send(c->sock, f[i].data, f[i].size,
                     (i + 1 < n ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0)
            return ab__zmq_fail(err, "sending a request");
    return AB_OK;
}

/* Wait for the reply to request c->seq; drop any other message. The wait
 * is libzmq's own blocking receive bounded by ZMQ_RCVTIMEO (what a REQ
 * socket does), which costs less per call than a zmq_poll. */
static int ab__receive(ab_client *c, unsigned long t0, unsigned long budget, ab_msg *reply,
                       ab_error *err)
{
    for (;;) {
        int kind, ms = (int)ab__left_ms(c->watch, t0, budget);
        long parts;
        if (ms == 0)
            return ab__fail(err, AB_ETIMEOUT, "no reply from %s within %lu ms",
                            c->endpoint, budget / 1000);
        if (zmq_setsockopt(c->sock, ZMQ_RCVTIMEO, &ms, sizeof ms) != 0)
            return ab__zmq_fail(err, "zmq_setsockopt");
        parts = ab__msg_recv(reply, c->sock, AB_MAX_FRAMES + 2, 0);
        if (parts < 0 && (zmq_errno() == EAGAIN || zmq_errno() == EINTR))
            continue; /* the deadline says whether to wait on */
        if (parts < 0)
            return ab__zmq_fail(err, "receiving a reply");
        if (!(kind = ab__reply_kind(reply, c->seq))) {
            c->dropped++;
            ab_msg_free(reply);
            continue;
        }
        reply->ab__skip = 2;
        ab__msg_view(reply);
        if (kind == AB__KIND_ERROR)
            return ab__broker_error(reply, err);
        if (parts > AB_MAX_FRAMES + 2 || reply->nframes == 0)
            return ab__fail(err, AB_EPROTOCOL, "reply from %s has %ld frames (1..%d allowed)",
                            c->endpoint, parts - 2, AB_MAX_FRAMES);
        return AB_OK;
    }
}

static int ab__retryable(int rc)
{
    return rc == AB_ETIMEOUT || rc == AB_EUNAVAILABLE || rc == AB_EOVERLOADED;
}

static int ab__call_args(const ab_client *c, const ab_frame *frames, size_t n,
                         const ab_call_opts *o, ab_error *err)
{
    size_t i;
    if (!c || !o || (n && !frames))
        return ab__fail(err, AB_EINVAL, "NULL client, options or frames");
    if (n < 1 || n > AB_MAX_FRAMES)
        return ab__fail(err, AB_EINVAL, "a request has 1..%d frames, not %lu", AB_MAX_FRAMES,
                        (unsigned long)n);
    for (i = 0; i < n; i++)
        if (!frames[i].data && frames[i].size)
            return ab__fail(err, AB_EINVAL, "frame %lu: NULL data", (unsigned long)i);
    if (o->timeout_ms < 1 || o->timeout_ms > AB_MAX_TIMEOUT_MS)
        return ab__fail(err, AB_EINVAL, "timeout_ms must be 1..%d, not %d", AB_MAX_TIMEOUT_MS,
                        o->timeout_ms);
    if (o->retries < 0 || o->retries > AB_MAX_RETRIES || (o->retries && !o->idempotent))
        return ab__fail(err, AB_EINVAL, "retries must be 0..%d, and non-zero only for an "
                        "idempotent call", AB_MAX_RETRIES);
    return AB_OK;
}

int ab_callv(ab_client *c, const ab_frame *frames, size_t nframes, const ab_call_opts *opts,
             ab_msg *reply, ab_error *err)
{
    ab_error scratch;
    unsigned long t0, budget;
    int attempt, rc;
    if (!err)
        err = &scratch;
    if (reply)
        memset(reply, 0, sizeof *reply);
    if (!reply)
        return ab__fail(err, AB_EINVAL, "NULL reply");
    if (ab__call_args(c, frames, nframes, opts, err) != AB_OK)
        return err->code;
    t0 = ab__now(c->watch);
    budget = (unsigned long)opts->timeout_ms * 1000ul;
    for (attempt = 0;; attempt++) {
        long backoff = (long)AB_RETRY_BACKOFF_MS << (attempt < 16 ? attempt : 16);
        c->seq++;
        rc = ab__send(c, frames, nframes, t0, budget, err);
        if (rc == AB_OK && (rc = ab__receive(c, t0, budget, reply, err)) == AB_OK)
            break;
        ab_msg_free(reply);
        if (backoff > AB_RETRY_BACKOFF_MAX_MS)
            backoff = AB_RETRY_BACKOFF_MAX_MS;
        if (!ab__retryable(rc) || attempt >= opts->retries ||
            ab__left_ms(c->watch, t0, budget) <= backoff)
            return rc;
        zmq_poll(NULL, 0, backoff);
    }
    ab__ok(err);
    return AB_OK;
}

int ab_call(ab_client *c, const void *body, size_t size, int timeout_ms, ab_msg *reply,
            ab_error *err)
{
    ab_frame f;
    ab_call_opts o;
    f.data = body;
    f.size = size;
    o.timeout_ms = timeout_ms;
    o.idempotent = 0;
    o.retries = 0;
    return ab_callv(c, &f, 1, &o, reply, err);
}

/* ------------------------------------------------------------- worker -- */

struct ab_worker {
    void *ctx;
    int own_ctx;
    void *sock;               /* REP: one request, then its reply */
    char endpoint[AB_ENDPOINT_MAX];
};

void ab_worker_close(ab_worker *w)
{
    if (!w)
        return;
    if (w->sock)
        zmq_close(w->sock);
    if (w->own_ctx && w->ctx)
        zmq_ctx_term(w->ctx);
    free(w);
}

ab_worker *ab_worker_open(const char *target, const ab_options *opts, ab_error *err)
{
    ab_error scratch;
    ab_worker *w;
    if (!err)
        err = &scratch;
    w = (ab_worker *)calloc(1, sizeof *w);
    if (!w) {
        ab__fail(err, AB_ENOMEM, "opening a worker");
        return NULL;
    }
    if (ab__resolve(target, opts, 1, w->endpoint, sizeof w->endpoint, err) == AB_OK &&
        (w->ctx = ab__context(opts, &w->own_ctx, err)) != NULL) {
        ab__bindable(w->endpoint, sizeof w->endpoint);
        w->sock = ab__socket(w->ctx, ZMQ_REP, AB_WORKER_LINGER_MS, w->endpoint, err);
        if (w->sock && zmq_bind(w->sock, w->endpoint) == 0) {
            ab__ok(err);
            return w;
        }
        if (w->sock)
            ab__zmq_fail(err, w->endpoint);
    }
    ab_worker_close(w);
    return NULL;
}

const char *ab_worker_endpoint(const ab_worker *w) { return w->endpoint; }

/* Send every frame of m (one empty frame if it has none). */
static int ab__send_msg(void *sock, const ab_msg *m)
{
    size_t i;
    if (m->nframes == 0)
        return zmq_send(sock, "", 0, 0) < 0 ? -1 : 0;
    for (i = 0; i < m->nframes; i++)
        if (zmq_send(sock, m->frames[i].data, m->frames[i].size,
                     i + 1 < m->nframes ? ZMQ_SNDMORE : 0) < 0)
            return -1;
    return 0;
}

/* Receive one request and answer it. *stop_out set when the handler asks. */
static int ab__serve_one(ab_worker *w, ab_handler fn, void *user, int *stop_out,
                         ab_error *err)
{
    ab_msg req = AB_MSG_INIT, rep = AB_MSG_INIT;
    long parts = ab__msg_recv(&req, w->sock, AB_MAX_FRAMES, ZMQ_DONTWAIT);
    int rc = AB_OK, e = zmq_errno();
    if (parts < 0 && e == EAGAIN)
        return AB_OK;
    if (parts < 0 && e == ENOMEM)
        zmq_send(w->sock, "", 0, 0); /* the REP owes a reply all the same */
    if (parts < 0)
        return ab__fail(err, e == ENOMEM ? AB_ENOMEM : AB_EZMQ, "receiving a request: %s",
                        zmq_strerror(e));
    ab__msg_view(&req);
    /* Over AB_MAX_FRAMES (only a direct peer, not the broker, can send
     * that): the handler never sees a truncated request; the peer gets
     * one empty frame. */
    if (parts <= AB_MAX_FRAMES)
        *stop_out = fn(user, &req, &rep) != 0;
    if (ab__send_msg(w->sock, &rep) != 0)
        rc = ab__zmq_fail(err, "sending a reply");
    ab_msg_free(&req);
    ab_msg_free(&rep);
    return rc;
}

int ab_worker_run(ab_worker *w, ab_handler handler, void *user, volatile sig_atomic_t *stop,
                  ab_error *err)
{
    ab_error scratch;
    int stopped = 0;
    if (!err)
        err = &scratch;
    if (!w || !handler)
        return ab__fail(err, AB_EINVAL, "NULL worker or handler");
    while (!stopped && !(stop && *stop)) {
        int rc = ab__wait(w->sock, ZMQ_POLLIN, AB_WORKER_TICK_MS);
        if (rc < 0)
            return ab__zmq_fail(err, "waiting for a request");
        if (rc > 0 && ab__serve_one(w, handler, user, &stopped, err) != AB_OK)
            return err->code;
    }
    ab__ok(err);
    return AB_OK;
}

#ifdef __cplusplus
}
#endif

#endif /* AGENTBUS_IMPLEMENTATION */
