/*
 * test_sdnotify.c: sdnotify() against real AF_UNIX datagram sockets, as a
 * service manager listens: a path and an abstract name receive exactly the
 * state sent; no $NOTIFY_SOCKET is no work; bad addresses and an absent
 * listener are errors that say why.
 */
#include "check.h"
#include "common.h"
#include "sdnotify.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A datagram socket bound to NAME (a path, or '@' + abstract name). */
static int listener(const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(name);
    memcpy(sa.sun_path, name, n);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) != 0) {
        perror("listener");
        exit(1);
    }
    return fd;
}

/* The datagram waiting on FD (the send is synchronous, so it is there). */
static void expect_datagram(int fd, const char *want)
{
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
    CHECK(n == (ssize_t)strlen(want));
    buf[n > 0 ? n : 0] = '\0';
    CHECK(strcmp(buf, want) == 0);
}

static void test_path(void)
{
    char dir[] = "/tmp/ab-sdnotify-XXXXXX", path[128], err[AB_ERRLEN];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/notify", dir);
    int fd = listener(path);
    setenv("NOTIFY_SOCKET", path, 1);
    CHECK(sdnotify("READY=1\nSTATUS=serving", err, sizeof err) == AB_OK);
    expect_datagram(fd, "READY=1\nSTATUS=serving");
    close(fd);
    unlink(path);
    /* Nobody listening any more: an error naming the socket. */
    CHECK(sdnotify("READY=1", err, sizeof err) == AB_ERR);
    CHECK_STR_CONTAINS(err, path);
    CHECK_STR_CONTAINS(err, "No such file or directory");
    rmdir(dir);
}

static void test_abstract(void)
{
    char name[64], err[AB_ERRLEN];
    snprintf(name, sizeof name, "@ab-sdnotify-%ld", (long)getpid());
    int fd = listener(name);
    setenv("NOTIFY_SOCKET", name, 1);
    CHECK(sdnotify("READY=1", err, sizeof err) == AB_OK);
    expect_datagram(fd, "READY=1");
    close(fd);
}

static void test_unset_and_bad(void)
{
    char err[AB_ERRLEN] = "";
    char longname[200];
    unsetenv("NOTIFY_SOCKET");
    CHECK(sdnotify("READY=1", err, sizeof err) == AB_OK);
    setenv("NOTIFY_SOCKET", "", 1);
    CHECK(sdnotify("READY=1", err, sizeof err) == AB_OK);
    setenv("NOTIFY_SOCKET", "relative/notify", 1);
    CHECK(sdnotify("READY=1", err, sizeof err) == AB_ERR);
    CHECK_STR_CONTAINS(err, "expected an absolute path or @abstract-name");
    memset(longname, 'x', sizeof longname - 1);
    longname[0] = '/';
    longname[sizeof longname - 1] = '\0';
    setenv("NOTIFY_SOCKET", longname, 1);
    CHECK(sdnotify("READY=1", err, sizeof err) == AB_ERR);
    CHECK_STR_CONTAINS(err, "longer than 107 bytes");
    unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
    test_path();
    test_abstract();
    test_unset_and_bad();
    return CHECK_DONE();
}
