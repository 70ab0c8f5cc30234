/*
 * tcpcount.h: what the kernel counted on one TCP connection. Its own file
 * because <linux/tcp.h> (which has the byte counters) cannot be included
 * beside <netinet/tcp.h>, which libuv's header pulls in.
 */
#ifndef AB_TCPCOUNT_H
#define AB_TCPCOUNT_H

#include <stdint.h>

/* Bytes the owner of fd has read from it (received, minus what still waits
 * in the receive queue) and written to it (acknowledged by the peer plus
 * the send queue). AB_ERR if fd is not a TCP socket. A byte arriving
 * between the calls makes `read` smaller, never larger. */
int tcpcount_read(int fd, uint64_t *read, uint64_t *written);

#endif
