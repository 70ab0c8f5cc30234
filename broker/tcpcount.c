/* tcpcount.c: TCP_INFO byte counters and queue sizes (see tcpcount.h). */
#include "tcpcount.h"

#include "common.h"

#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

int tcpcount_read(int fd, uint64_t *read, uint64_t *written)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    int inq = 0, outq = 0;
    memset(&ti, 0, sizeof ti);
    /* tcpi_bytes_received needs Linux 4.1; an older kernel fills less. */
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received ||
        ioctl(fd, SIOCINQ, &inq) != 0 || ioctl(fd, SIOCOUTQ, &outq) != 0)
        return AB_ERR;
    *read = ti.tcpi_bytes_received - (uint64_t)inq;
    *written = ti.tcpi_bytes_acked + (uint64_t)outq;
    return AB_OK;
}
