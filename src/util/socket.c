/* SPDX-License-Identifier: BSD-3-Clause */
#include "util/socket.h"

#include "util/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

int tutti_sockaddr_to_os(const tutti_sockaddr_t *a, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)ss;
        s->sin_family = AF_INET;
        s->sin_port = a->port;
        memcpy(&s->sin_addr, a->addr, 4);
        *len = sizeof(*s);
        return 0;
    }
    if (a->family == AF_INET6) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
        s->sin6_family = AF_INET6;
        s->sin6_port = a->port;
        s->sin6_scope_id = a->scope_id;
        memcpy(&s->sin6_addr, a->addr, 16);
        *len = sizeof(*s);
        return 0;
    }
    return -1;
}

void tutti_sockaddr_from_os(tutti_sockaddr_t *a, const struct sockaddr *sa)
{
    memset(a, 0, sizeof(*a));
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        a->family = AF_INET;
        a->port = s->sin_port;
        memcpy(a->addr, &s->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
        a->family = AF_INET6;
        a->port = s->sin6_port;
        a->scope_id = s->sin6_scope_id;
        memcpy(a->addr, &s->sin6_addr, 16);
    }
}

const char *tutti_sockaddr_str(const tutti_sockaddr_t *a, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (a->family == AF_INET) {
        inet_ntop(AF_INET, a->addr, host, sizeof(host));
        snprintf(buf, len, "%s:%u", host, ntohs(a->port));
    } else if (a->family == AF_INET6) {
        inet_ntop(AF_INET6, a->addr, host, sizeof(host));
        if (a->scope_id)
            snprintf(buf, len, "[%s%%%u]:%u", host, a->scope_id, ntohs(a->port));
        else
            snprintf(buf, len, "[%s]:%u", host, ntohs(a->port));
    } else {
        snprintf(buf, len, "<no address>");
    }
    return buf;
}

int tutti_sockaddr_parse(const char *text, tutti_sockaddr_t *out, char *err, size_t errlen)
{
    char host[256];
    const char *port;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':') goto bad;
        size_t n = (size_t)(close - text - 1);
        if (n >= sizeof(host)) goto bad;
        memcpy(host, text + 1, n);
        host[n] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (!colon) goto bad;
        size_t n = (size_t)(colon - text);
        if (n == 0 || n >= sizeof(host)) goto bad;
        memcpy(host, text, n);
        host[n] = '\0';
        port = colon + 1;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (*port == '\0' || *end != '\0' || p <= 0 || p > 65535) goto bad;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(rc));
        return -1;
    }
    tutti_sockaddr_from_os(out, res->ai_addr);
    out->port = htons((uint16_t)p);
    freeaddrinfo(res);
    return 0;
bad:
    snprintf(err, errlen, "'%s' is not host:port", text);
    return -1;
}

/* One token of the grammar: prefix match, or exact with '='. */
static int tutti_if_token_match(const char *tok, size_t toklen, const char *name)
{
    if (toklen > 0 && tok[0] == '=') {
        return strlen(name) == toklen - 1 && strncmp(name, tok + 1, toklen - 1) == 0;
    }
    return strncmp(name, tok, toklen) == 0;
}

int tutti_socket_if_match(const char *filter, const char *ifname)
{
    int neg = 0;
    if (filter[0] == '^') {
        neg = 1;
        filter++;
    }
    int matched = 0;
    const char *p = filter;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n > 0 && tutti_if_token_match(p, n, ifname)) matched = 1;
        p += n;
        if (*p == ',') p++;
    }
    return neg ? !matched : matched;
}

static int tutti_if_default_ok(const char *name)
{
    return strncmp(name, "docker", 6) != 0 && strncmp(name, "virbr", 5) != 0 &&
           strncmp(name, "lo", 2) != 0;
}

int tutti_socket_pick_if(const char *filter, const char *family, tutti_sockaddr_t *out,
                         char *ifname, size_t ifnamelen, char *err, size_t errlen)
{
    struct ifaddrs *ifs = NULL, *it;
    int want = AF_UNSPEC;
    char seen[512] = "";
    size_t seenlen = 0;
    if (family && family[0]) {
        if (strcmp(family, "AF_INET") == 0) want = AF_INET;
        else if (strcmp(family, "AF_INET6") == 0) want = AF_INET6;
        else {
            snprintf(err, errlen, "TUTTI_SOCKET_FAMILY='%s' is not AF_INET or AF_INET6", family);
            return -1;
        }
    }
    if (getifaddrs(&ifs) != 0) {
        snprintf(err, errlen, "getifaddrs: %s", strerror(errno));
        return -1;
    }
    /* pass 0: preferred choice; pass 1 (default filter only): loopback */
    for (int pass = 0; pass < 2; pass++) {
        for (int fam_pass = 0; fam_pass < 2; fam_pass++) {
            int fam = fam_pass == 0 ? AF_INET : AF_INET6;
            if (want != AF_UNSPEC && fam != want) continue;
            for (it = ifs; it; it = it->ifa_next) {
                if (!it->ifa_addr || it->ifa_addr->sa_family != fam) continue;
                if (!(it->ifa_flags & IFF_UP)) continue;
                if (pass == 0 && fam_pass == 0 && seenlen + strlen(it->ifa_name) + 2 < sizeof(seen) &&
                    !strstr(seen, it->ifa_name)) {
                    seenlen += (size_t)snprintf(seen + seenlen, sizeof(seen) - seenlen, "%s%s",
                                                seenlen ? "," : "", it->ifa_name);
                }
                int ok;
                if (filter && filter[0]) ok = (pass == 0) && tutti_socket_if_match(filter, it->ifa_name);
                else ok = pass == 0 ? tutti_if_default_ok(it->ifa_name) : (it->ifa_flags & IFF_LOOPBACK) != 0;
                if (!ok) continue;
                if (fam == AF_INET6) {
                    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)it->ifa_addr;
                    /* link-local addresses only work with a scope; skip them
                     * unless the user named this interface exactly */
                    if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) && !(filter && filter[0] == '=')) continue;
                }
                tutti_sockaddr_from_os(out, it->ifa_addr);
                out->port = 0;
                if (ifname) snprintf(ifname, ifnamelen, "%s", it->ifa_name);
                freeifaddrs(ifs);
                return 0;
            }
        }
    }
    freeifaddrs(ifs);
    snprintf(err, errlen, "no usable interface matches TUTTI_SOCKET_IFNAME='%s'%s%s (up interfaces: %s)",
             filter ? filter : "", want != AF_UNSPEC ? " with TUTTI_SOCKET_FAMILY=" : "",
             want != AF_UNSPEC ? family : "", seen[0] ? seen : "none");
    return -1;
}

static int tutti_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);
    if (fl < 0) return -1;
    return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int tutti_socket_listen(tutti_sockaddr_t *addr, int backlog)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (tutti_sockaddr_to_os(addr, &ss, &len) != 0) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, backlog) != 0 ||
        tutti_set_nonblock(fd) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    uint32_t scope = addr->scope_id;
    tutti_sockaddr_from_os(addr, (struct sockaddr *)&ss);
    if (!addr->scope_id) addr->scope_id = scope;
    return fd;
}

static void tutti_socket_tune(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int tutti_socket_connect(const tutti_sockaddr_t *addr, double deadline, int retry_refused)
{
    struct sockaddr_storage ss;
    socklen_t len;
    double backoff = 0.001;
    if (tutti_sockaddr_to_os(addr, &ss, &len) != 0) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    for (;;) {
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) return -1;
        tutti_socket_tune(fd);
        int rc = connect(fd, (struct sockaddr *)&ss, len);
        int e = rc == 0 ? 0 : errno;
        if (rc != 0 && e == EINPROGRESS) {
            for (;;) {
                double left = deadline - tutti_time_now();
                if (left <= 0) {
                    close(fd);
                    errno = ETIMEDOUT;
                    return -1;
                }
                struct pollfd pfd = {fd, POLLOUT, 0};
                int ms = left > 0.1 ? 100 : (int)(left * 1000) + 1;
                int n = poll(&pfd, 1, ms);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) {
                    e = errno;
                    break;
                }
                if (n == 0) continue;
                socklen_t elen = sizeof(e);
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0) e = errno;
                break;
            }
        }
        if (e == 0) return fd;
        close(fd);
        if (!(retry_refused && (e == ECONNREFUSED || e == ECONNRESET || e == ENETUNREACH ||
                                e == EHOSTUNREACH || e == ETIMEDOUT))) {
            errno = e;
            return -1;
        }
        if (tutti_time_now() + backoff >= deadline) {
            errno = e == ETIMEDOUT ? ETIMEDOUT : e;
            return -1;
        }
        struct timespec ts = {0, (long)(backoff * 1e9)};
        nanosleep(&ts, NULL);
        if (backoff < 0.1) backoff *= 2;
    }
}

int tutti_socket_accept(int listen_fd)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) tutti_socket_tune(fd);
    return fd;
}

int tutti_socket_read_some(int fd, void *buf, size_t len, size_t *done)
{
    while (*done < len) {
        ssize_t n = recv(fd, (char *)buf + *done, len - *done, 0);
        if (n > 0) {
            *done += (size_t)n;
            continue;
        }
        if (n == 0) {
            errno = ECONNRESET;
            return -1;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return -1;
    }
    return 1;
}

int tutti_socket_write_some(int fd, const void *buf, size_t len, size_t *done)
{
    while (*done < len) {
        ssize_t n = send(fd, (const char *)buf + *done, len - *done, MSG_NOSIGNAL);
        if (n >= 0) {
            *done += (size_t)n;
            continue;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return -1;
    }
    return 1;
}

static int tutti_socket_io_all(int fd, void *buf, size_t len, double deadline, int writing)
{
    size_t done = 0;
    for (;;) {
        int rc = writing ? tutti_socket_write_some(fd, buf, len, &done)
                         : tutti_socket_read_some(fd, buf, len, &done);
        if (rc != 0) return rc > 0 ? 0 : -1;
        double left = deadline - tutti_time_now();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd pfd = {fd, (short)(writing ? POLLOUT : POLLIN), 0};
        int ms = left > 0.1 ? 100 : (int)(left * 1000) + 1;
        if (poll(&pfd, 1, ms) < 0 && errno != EINTR) return -1;
    }
}

int tutti_socket_write_all(int fd, const void *buf, size_t len, double deadline)
{
    return tutti_socket_io_all(fd, (void *)buf, len, deadline, 1);
}

int tutti_socket_read_all(int fd, void *buf, size_t len, double deadline)
{
    return tutti_socket_io_all(fd, buf, len, deadline, 0);
}

int tutti_random_bytes(void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom((char *)buf + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}
