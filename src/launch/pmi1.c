/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PMI-1's wire protocol, spoken over the descriptor the launcher left open
 * (PMI_FD, with PMI_RANK and PMI_SIZE): MPICH's hydra, and Slurm's
 * srun --mpi=pmi2 (its plugin answers PMI-1 clients).  One command per
 * line, "cmd=<name> key=value ...", one reply line each:
 *
 *   cmd=init pmi_version=1 pmi_subversion=1   -> cmd=response_to_init ... rc=0
 *   cmd=get_maxes                             -> cmd=maxes kvsname_max=.. vallen_max=..
 *   cmd=get_my_kvsname                        -> cmd=my_kvsname kvsname=..
 *   cmd=put kvsname=K key=k value=v           -> cmd=put_result rc=0
 *   cmd=barrier_in                            -> cmd=barrier_out
 *   cmd=get kvsname=K key=k                   -> cmd=get_result rc=0 value=v
 *   cmd=finalize (at exit)                    -> cmd=finalize_ack
 *
 * Every read waits in poll() under the caller's deadline.
 */
#include "launch/kvs.h"

#include "util/time.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    tutti_kvs_t k;
    int fd;
    char kvsname[256];
    size_t vallen_max;
    char buf[2048]; /* bytes read past the last line */
    size_t nbuf;
    int dead; /* the launcher closed the connection: say nothing more */
} tutti_pmi1_t;

static tutti_pmi1_t *tutti_pmi1_global;

static int tutti_pmi1_env_int(const char *name, int *out)
{
    const char *v = getenv(name);
    char *end;
    if (!v || !*v) return 0;
    long x = strtol(v, &end, 10);
    if (*end || x < 0 || x > (1L << 30)) return 0;
    *out = (int)x;
    return 1;
}

/* One reply line (without its newline) into line. */
static tutti_result_t tutti_pmi1_readline(tutti_pmi1_t *p, char *line, size_t len, double deadline, char *err,
                                          size_t errlen)
{
    for (;;) {
        char *nl = memchr(p->buf, '\n', p->nbuf);
        if (nl) {
            size_t n = (size_t)(nl - p->buf);
            snprintf(line, len, "%.*s", (int)(n < len ? n : len - 1), p->buf);
            memmove(p->buf, nl + 1, p->nbuf - n - 1);
            p->nbuf -= n + 1;
            return TUTTI_SUCCESS;
        }
        if (p->nbuf == sizeof(p->buf)) {
            snprintf(err, errlen, "PMI-1: a reply longer than %zu bytes", sizeof(p->buf));
            return TUTTI_ERR_REMOTE;
        }
        double left = deadline - tutti_time_now();
        if (left <= 0) {
            snprintf(err, errlen, "PMI-1: no reply from the launcher within the deadline");
            return TUTTI_ERR_TIMEOUT;
        }
        struct pollfd pf = {p->fd, POLLIN, 0};
        int ms = left > 1.0 ? 1000 : (int)(left * 1000) + 1;
        int rc = poll(&pf, 1, ms);
        if (rc < 0 && errno != EINTR) {
            snprintf(err, errlen, "PMI-1: poll(PMI_FD=%d): %s", p->fd, strerror(errno));
            return TUTTI_ERR_SYSTEM;
        }
        if (rc <= 0) continue;
        ssize_t got = read(p->fd, p->buf + p->nbuf, sizeof(p->buf) - p->nbuf);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got <= 0) {
            snprintf(err, errlen, "PMI-1: the launcher closed PMI_FD=%d%s%s", p->fd, got < 0 ? ": " : "",
                     got < 0 ? strerror(errno) : "");
            p->dead = 1;
            return TUTTI_ERR_REMOTE;
        }
        p->nbuf += (size_t)got;
    }
}

/* Sends one command and reads the reply, which must be cmd=<want>. */
static tutti_result_t tutti_pmi1_cmd(tutti_pmi1_t *p, const char *cmd, const char *want, char *reply, size_t rlen,
                                     double timeout, char *err, size_t errlen)
{
    size_t n = strlen(cmd), off = 0;
    while (off < n) {
        /* a socket (hydra, slurmstepd): no SIGPIPE when the launcher is gone */
        ssize_t w = send(p->fd, cmd + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == ENOTSOCK) w = write(p->fd, cmd + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            snprintf(err, errlen, "PMI-1: write to PMI_FD=%d: %s", p->fd, w < 0 ? strerror(errno) : "closed");
            p->dead = 1;
            return TUTTI_ERR_REMOTE;
        }
        off += (size_t)w;
    }
    tutti_result_t r = tutti_pmi1_readline(p, reply, rlen, tutti_time_now() + timeout, err, errlen);
    if (r != TUTTI_SUCCESS) return r;
    char head[64];
    snprintf(head, sizeof(head), "cmd=%s", want);
    size_t hl = strlen(head);
    if (strncmp(reply, head, hl) != 0 || (reply[hl] != ' ' && reply[hl] != '\0')) {
        snprintf(err, errlen, "PMI-1: expected '%s', the launcher said '%.200s'", head, reply);
        return TUTTI_ERR_REMOTE;
    }
    return TUTTI_SUCCESS;
}

/* The value of " key=" in a reply (up to the next space), or NULL. */
static const char *tutti_pmi1_field(const char *reply, const char *key, char *out, size_t len)
{
    size_t kl = strlen(key);
    for (const char *s = reply; (s = strstr(s, key)) != NULL; s += kl) {
        if ((s != reply && s[-1] != ' ') || s[kl] != '=') continue;
        const char *v = s + kl + 1;
        size_t n = strcspn(v, " ");
        snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), v);
        return out;
    }
    return NULL;
}

static tutti_result_t tutti_pmi1_rc(const char *reply, const char *what, char *err, size_t errlen)
{
    char rc[16], msg[200];
    if (!tutti_pmi1_field(reply, "rc", rc, sizeof(rc)) || strcmp(rc, "0") == 0) return TUTTI_SUCCESS;
    int has_msg = tutti_pmi1_field(reply, "msg", msg, sizeof(msg)) != NULL;
    snprintf(err, errlen, "PMI-1: %s failed: rc=%s%s%s", what, rc, has_msg ? ": " : "", has_msg ? msg : "");
    return TUTTI_ERR_REMOTE;
}

static tutti_result_t tutti_pmi1_put(tutti_kvs_t *k, const char *key, const char *value, char *err, size_t errlen)
{
    tutti_pmi1_t *p = (tutti_pmi1_t *)k;
    char cmd[1600], reply[512];
    if (strlen(value) >= p->vallen_max) {
        snprintf(err, errlen, "PMI-1: a value of %zu bytes is over the launcher's vallen_max %zu", strlen(value),
                 p->vallen_max);
        return TUTTI_ERR_UNSUPPORTED;
    }
    snprintf(cmd, sizeof(cmd), "cmd=put kvsname=%s key=%s value=%s\n", p->kvsname, key, value);
    tutti_result_t r = tutti_pmi1_cmd(p, cmd, "put_result", reply, sizeof(reply), 30.0, err, errlen);
    return r != TUTTI_SUCCESS ? r : tutti_pmi1_rc(reply, "put", err, errlen);
}

static tutti_result_t tutti_pmi1_fence(tutti_kvs_t *k, double timeout, char *err, size_t errlen)
{
    char reply[256];
    return tutti_pmi1_cmd((tutti_pmi1_t *)k, "cmd=barrier_in\n", "barrier_out", reply, sizeof(reply), timeout, err,
                          errlen);
}

static tutti_result_t tutti_pmi1_get(tutti_kvs_t *k, int rank, const char *key, char *value, size_t vlen,
                                     double timeout, char *err, size_t errlen)
{
    tutti_pmi1_t *p = (tutti_pmi1_t *)k;
    (void)rank; /* PMI-1 keys are global to the job */
    char cmd[700], reply[1600];
    snprintf(cmd, sizeof(cmd), "cmd=get kvsname=%s key=%s\n", p->kvsname, key);
    tutti_result_t r = tutti_pmi1_cmd(p, cmd, "get_result", reply, sizeof(reply), timeout, err, errlen);
    if (r == TUTTI_SUCCESS) r = tutti_pmi1_rc(reply, "get", err, errlen);
    if (r != TUTTI_SUCCESS) return r;
    if (!tutti_pmi1_field(reply, "value", value, vlen)) {
        snprintf(err, errlen, "PMI-1: get of %s returned no value ('%.200s')", key, reply);
        return TUTTI_ERR_REMOTE;
    }
    return TUTTI_SUCCESS;
}

static void tutti_pmi1_atexit(void)
{
    tutti_pmi1_t *p = tutti_pmi1_global;
    char reply[128], err[128];
    if (p && !p->dead)
        (void)tutti_pmi1_cmd(p, "cmd=finalize\n", "finalize_ack", reply, sizeof(reply), 5.0, err, sizeof(err));
}

tutti_result_t tutti_kvs_pmi1_open(tutti_kvs_t **kvs, double timeout, char *why, size_t whylen)
{
    int fd, rank, size;
    if (!tutti_pmi1_env_int("PMI_FD", &fd) || !tutti_pmi1_env_int("PMI_RANK", &rank) ||
        !tutti_pmi1_env_int("PMI_SIZE", &size)) {
        snprintf(why, whylen, "PMI-1: no PMI_FD, PMI_RANK and PMI_SIZE");
        return TUTTI_ERR_UNSUPPORTED;
    }
    tutti_pmi1_t *p = calloc(1, sizeof(*p));
    if (!p) return TUTTI_ERR_NO_MEMORY;
    p->fd = fd;
    char reply[512], v[64];
    tutti_result_t r =
        tutti_pmi1_cmd(p, "cmd=init pmi_version=1 pmi_subversion=1\n", "response_to_init", reply, sizeof(reply),
                       timeout, why, whylen);
    if (r == TUTTI_SUCCESS) r = tutti_pmi1_rc(reply, "init", why, whylen);
    if (r == TUTTI_SUCCESS)
        r = tutti_pmi1_cmd(p, "cmd=get_maxes\n", "maxes", reply, sizeof(reply), timeout, why, whylen);
    if (r == TUTTI_SUCCESS) {
        p->vallen_max = tutti_pmi1_field(reply, "vallen_max", v, sizeof(v)) ? (size_t)strtoul(v, NULL, 10) : 256;
        r = tutti_pmi1_cmd(p, "cmd=get_my_kvsname\n", "my_kvsname", reply, sizeof(reply), timeout, why, whylen);
    }
    if (r == TUTTI_SUCCESS && !tutti_pmi1_field(reply, "kvsname", p->kvsname, sizeof(p->kvsname))) {
        snprintf(why, whylen, "PMI-1: get_my_kvsname returned no name ('%.200s')", reply);
        r = TUTTI_ERR_REMOTE;
    }
    if (r != TUTTI_SUCCESS) {
        free(p);
        return r;
    }
    p->k.route = "PMI-1 (PMI_FD)";
    p->k.rank = rank;
    p->k.size = size;
    p->k.local_size = -1;
    p->k.put = tutti_pmi1_put;
    p->k.fence = tutti_pmi1_fence;
    p->k.get = tutti_pmi1_get;
    p->k.release = NULL; /* one connection per process: kept for later calls */
    tutti_pmi1_global = p;
    atexit(tutti_pmi1_atexit);
    *kvs = &p->k;
    return TUTTI_SUCCESS;
}
