/* cli_http.c: one bounded HTTP/1.0 GET (see cli_http.h). */
#include "cli_http.h"

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

const char *cli_http_addr(const char *opt)
{
    const char *env = getenv("AGENTBUS_HTTP");
    return opt ? opt : env && *env ? env : CLI_HTTP_DEFAULT;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until the deadline; AB_ERR on timeout. */
static int wait_fd(int fd, short events, long long deadline)
{
    struct pollfd p = {.fd = fd, .events = events};
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return AB_ERR;
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return AB_OK;
        if (n < 0 && errno != EINTR)
            return AB_ERR;
    }
}

/* "HOST:PORT" or "[V6]:PORT" into host and port strings. */
static int split_addr(const char *addr, char *host, size_t hlen, char *port, size_t plen)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || !colon[1] || colon == addr)
        return AB_ERR;
    size_t n = (size_t)(colon - addr);
    if (addr[0] == '[' && addr[n - 1] == ']') {
        addr++;
        n -= 2;
    }
    if (n >= hlen || strlen(colon + 1) >= plen)
        return AB_ERR;
    memcpy(host, addr, n);
    host[n] = '\0';
    snprintf(port, plen, "%s", colon + 1);
    return AB_OK;
}

/* A connected non-blocking socket, or -1 (err filled). */
static int dial(const char *addr, long long deadline, char *err, size_t errlen)
{
    char host[256], port[16];
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    if (split_addr(addr, host, sizeof host, port, sizeof port) != AB_OK) {
        ab_seterr(err, errlen, "'%s' is not HOST:PORT", addr);
        return -1;
    }
    int e = getaddrinfo(host, port, &hints, &res);
    if (e != 0) {
        ab_seterr(err, errlen, "%s: %s", addr, gai_strerror(e));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? -1 : connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (fd >= 0 && rc != 0 && errno == EINPROGRESS &&
        wait_fd(fd, POLLOUT, deadline) == AB_OK &&
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
        rc = 0;
    if (rc != 0) {
        ab_seterr(err, errlen, "cannot connect to %s: %s", addr,
                  soerr ? strerror(soerr) : errno == EINPROGRESS ? "timed out" : strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
    while (len) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return AB_ERR;
        } else if (wait_fd(fd, POLLOUT, deadline) != AB_OK) {
            return AB_ERR;
        }
    }
    return AB_OK;
}

/* Everything until EOF into *out (NUL-terminated). */
static int recv_all(int fd, long long deadline, char **out, size_t *len)
{
    size_t cap = 16384, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 == cap) {
            char *p = cap >= CLI_HTTP_MAX_BYTES ? NULL : realloc(buf, cap * 2);
            if (!p)
                break;
            buf = p;
            cap *= 2;
        }
        ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
        if (r == 0) {
            buf[n] = '\0';
            *out = buf;
            *len = n;
            return AB_OK;
        }
        if (r > 0)
            n += (size_t)r;
        else if ((errno != EAGAIN && errno != EINTR) || wait_fd(fd, POLLIN, deadline) != AB_OK)
            break;
    }
    free(buf);
    return AB_ERR;
}

/* Split "HTTP/1.x NNN ...\r\n...\r\n\r\nbody". */
static int parse_response(char *resp, size_t len, int *status, char **body, size_t *blen)
{
    char *sep = strstr(resp, "\r\n\r\n");
    if (strncmp(resp, "HTTP/1.", 7) != 0 || !sep || sscanf(resp + 8, " %3d", status) != 1)
        return AB_ERR;
    sep += 4;
    *blen = len - (size_t)(sep - resp);
    *body = malloc(*blen + 1);
    if (!*body)
        return AB_ERR;
    memcpy(*body, sep, *blen + 1);
    return AB_OK;
}

int cli_http_get(const char *addr, const char *path, unsigned timeout_ms, int *status,
                 char **body, size_t *len, char *err, size_t errlen)
{
    long long deadline = now_ms() + timeout_ms;
    char req[512], *resp = NULL;
    size_t rlen = 0;
    int fd = dial(addr, deadline, err, errlen);
    if (fd < 0)
        return AB_ERR;
    snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n"
             "User-Agent: agentbus\r\n\r\n", path, addr);
    int rc = send_all(fd, req, strlen(req), deadline);
    if (rc == AB_OK)
        rc = recv_all(fd, deadline, &resp, &rlen);
    close(fd);
    if (rc != AB_OK)
        return ab_seterr(err, errlen, "%s%s: no complete response within %u ms", addr, path,
                         timeout_ms);
    rc = parse_response(resp, rlen, status, body, len);
    free(resp);
    return rc == AB_OK ? AB_OK
                       : ab_seterr(err, errlen, "%s%s: not an HTTP response", addr, path);
}
