/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sockets for the bootstrap (and, later, the TCP transport): addresses in a
 * fixed wire form, interface selection with NCCL's grammar, nonblocking
 * connect/accept, and full reads/writes bounded by a deadline.
 */
#ifndef TUTTI_UTIL_SOCKET_H
#define TUTTI_UTIL_SOCKET_H

#include "tutti.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An IPv4 or IPv6 address and port, as stored in ids and wire messages:
 * 24 bytes, network byte order, no padding. */
typedef struct {
    uint16_t family; /* AF_INET or AF_INET6, host order */
    uint16_t port;   /* network order */
    uint32_t scope_id;
    uint8_t addr[16];
} tutti_sockaddr_t;

int tutti_sockaddr_to_os(const tutti_sockaddr_t *a, struct sockaddr_storage *ss, socklen_t *len);
void tutti_sockaddr_from_os(tutti_sockaddr_t *a, const struct sockaddr *sa);
/* "10.0.0.1:4242" or "[fe80::1%2]:4242" */
const char *tutti_sockaddr_str(const tutti_sockaddr_t *a, char *buf, size_t len);

/* Parses "host:port", "[v6]:port"; resolves names.  0 on success. */
int tutti_sockaddr_parse(const char *text, tutti_sockaddr_t *out, char *err, size_t errlen);

/*
 * Picks the address to listen on.  filter follows NCCL_SOCKET_IFNAME:
 *   "eth,ib"   interfaces whose name starts with eth or ib
 *   "^docker"  all but those starting with docker
 *   "=eth0"    exactly eth0 ("^=eth0": all but exactly eth0)
 * family is "", "AF_INET" or "AF_INET6".  Default (empty filter): the first
 * up interface that is not loopback, docker* or virbr*, else loopback.
 * Returns 0, or -1 with a message naming the filter and what exists.
 */
int tutti_socket_pick_if(const char *filter, const char *family, tutti_sockaddr_t *out,
                         char *ifname, size_t ifnamelen, char *err, size_t errlen);

/* Does ifname match the grammar above?  (exposed for unit tests) */
int tutti_socket_if_match(const char *filter, const char *ifname);

/* Listening socket on addr (port 0: ephemeral); the bound address, with its
 * port, is written back to *addr.  Returns fd or -1 (errno set). */
int tutti_socket_listen(tutti_sockaddr_t *addr, int backlog);

/* Connects with a deadline (absolute, tutti_time_now() clock).  Retries
 * refused connections until the deadline when retry_refused is set (the
 * listener may not be up yet).  Returns a nonblocking fd or -1 with errno
 * (ETIMEDOUT when the deadline passed). */
int tutti_socket_connect(const tutti_sockaddr_t *addr, double deadline, int retry_refused);

/* Accepts one pending connection (nonblocking fd) or returns -1 (EAGAIN
 * when none is pending). */
int tutti_socket_accept(int listen_fd);

/* Full write / read on a nonblocking fd with poll and a deadline.
 * Return 0, or -1 with errno: ETIMEDOUT, ECONNRESET (peer closed), ... */
int tutti_socket_write_all(int fd, const void *buf, size_t len, double deadline);
int tutti_socket_read_all(int fd, void *buf, size_t len, double deadline);

/* Nonblocking step: reads/writes what it can into buf[*done..len).
 * Returns 1 when complete, 0 when it would block, -1 on error/EOF. */
int tutti_socket_read_some(int fd, void *buf, size_t len, size_t *done);
int tutti_socket_write_some(int fd, const void *buf, size_t len, size_t *done);

/* Random bytes from the kernel; 0 on success. */
int tutti_random_bytes(void *buf, size_t len);

#endif
