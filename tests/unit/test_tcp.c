/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TCP transport's hello, as an accepting rank checks it: only a
 * connection signed with this communicator's key, from a lower rank that
 * uses TCP with it, for an existing channel and socket, gets in.  Then the
 * real thing: 3 thread ranks set up TCP connections (listening in
 * TUTTI_TCP_PORT_RANGE) while a stranger keeps connecting to those ports
 * with garbage and forged hellos; the job must not notice, and the log must
 * say what was dropped.  (The transport itself runs in tests/mpi over
 * loopback and in tests/cluster between namespace hosts.)
 */
#include "tap.h"
#include "tcp/tcp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const uint8_t secret[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static tutti_hello_t hello(const uint8_t key[16], uint64_t comm_id, int from, int to, int nranks, int chan, int idx)
{
    tutti_hello_t h;
    memset(&h, 0, sizeof(h));
    h.magic = TUTTI_HELLO_MAGIC;
    h.version = TUTTI_WIRE_VERSION;
    h.kind = TUTTI_HELLO_TCP;
    h.comm_id = comm_id;
    h.from = from;
    h.to = to;
    h.nranks = nranks;
    h.pad = (uint32_t)chan << 8 | (uint32_t)idx;
    h.addr.family = AF_INET;
    h.addr.port = 4242;
    tutti_hello_sign(&h, key);
    return h;
}

static int refused(const tutti_hello_t *h, const uint8_t key[16], const char *needle)
{
    static const uint8_t use[4] = {1, 1, 0, 1};
    int c = -1, i = -1;
    const char *bad = tutti_tcp_hello_accept(h, key, 77, 3, 4, use, 2, 2, &c, &i);
    if (!bad || !strstr(bad, needle)) {
        tap_diag("expected a refusal mentioning '%s', got %s", needle, bad ? bad : "acceptance");
        return 0;
    }
    return 1;
}

/* ---- a stranger at the transport's ports during set-up ---- */

static int port_lo;
static volatile int stop_stranger;
static int stranger_hits;

static void *stranger(void *arg)
{
    (void)arg;
    uint8_t junk[sizeof(tutti_hello_t)];
    uint8_t fake_key[16] = {0xde, 0xad};
    while (!stop_stranger) {
        for (int port = port_lo; port < port_lo + 16 && !stop_stranger; port++) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            struct sockaddr_in sa;
            memset(&sa, 0, sizeof(sa));
            sa.sin_family = AF_INET;
            sa.sin_port = htons((uint16_t)port);
            sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            int up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
            if (!up && errno == EINPROGRESS) {
                /* a full listen queue must not hold the stranger either */
                struct pollfd p = {fd, POLLOUT, 0};
                int err = 0;
                socklen_t el = sizeof(err);
                up = poll(&p, 1, 20) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0;
            }
            if (up) {
                /* alternately garbage and a well-formed hello with a wrong key */
                if (stranger_hits % 2) {
                    tutti_hello_t h = hello(fake_key, 0, 0, 1, 3, 0, 0);
                    memcpy(junk, &h, sizeof(h));
                } else {
                    for (size_t i = 0; i < sizeof(junk); i++) junk[i] = (uint8_t)rand();
                }
                (void)!write(fd, junk, sizeof(junk));
                __atomic_add_fetch(&stranger_hits, 1, __ATOMIC_RELAXED);
            }
            close(fd);
        }
        usleep(200);
    }
    return NULL;
}

typedef struct {
    tutti_unique_id_t id;
    int rank;
    tutti_result_t res;
    float sum;
} rank_arg_t;

static void *tcp_rank(void *arg)
{
    rank_arg_t *a = arg;
    tutti_comm_t c;
    a->res = tutti_comm_init_rank(&c, 3, a->id, a->rank);
    if (a->res != TUTTI_SUCCESS) return NULL;
    float v[1000];
    for (int i = 0; i < 1000; i++) v[i] = (float)(a->rank + 1);
    a->res = tutti_allreduce(v, v, 1000, TUTTI_FLOAT32, TUTTI_SUM, c);
    a->sum = v[999];
    if (tutti_comm_transport_bytes(c, "tcp") == 0) a->res = TUTTI_ERR_INTERNAL;
    tutti_result_t d = tutti_comm_destroy(c);
    if (a->res == TUTTI_SUCCESS) a->res = d;
    return NULL;
}

static int log_has_drop(const char *logpath, int *secret_seen)
{
    FILE *f = fopen(logpath, "r");
    static char text[1 << 16];
    size_t got = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    text[got] = '\0';
    if (f) fclose(f);
    *secret_seen = strstr(text, "TUTTI_SECRET") || strstr(text, "secret=");
    return strstr(text, "tcp: dropped an incoming connection") != NULL;
}

/* Rounds of set-up + all-reduce + destroy with the stranger knocking all
 * along, until one of its connections landed in a listen queue that was
 * served (the window is the few milliseconds of each set-up). */
static void test_stranger(void)
{
    char logpath[64];
    snprintf(logpath, sizeof(logpath), "/tmp/tutti-test-tcp-%d.log", (int)getpid());
    pthread_t st;
    pthread_create(&st, NULL, stranger, NULL);
    int rounds = 0, all_ok = 1, dropped = 0, leaked = 0;
    char bad[160] = "";
    for (; rounds < 40 && !dropped; rounds++) {
        tutti_unique_id_t id;
        if (tutti_get_unique_id(&id) != TUTTI_SUCCESS) {
            all_ok = 0;
            break;
        }
        pthread_t th[3];
        rank_arg_t ra[3];
        for (int r = 0; r < 3; r++) {
            ra[r].id = id;
            ra[r].rank = r;
            ra[r].res = TUTTI_ERR_INTERNAL;
            pthread_create(&th[r], NULL, tcp_rank, &ra[r]);
        }
        for (int r = 0; r < 3; r++) pthread_join(th[r], NULL);
        for (int r = 0; r < 3; r++) {
            if (ra[r].res != TUTTI_SUCCESS || ra[r].sum != 6.0f) {
                if (all_ok)
                    snprintf(bad, sizeof(bad), "round %d rank %d: %s, sum %g", rounds, r, tutti_result_name(ra[r].res),
                             (double)ra[r].sum);
                all_ok = 0;
            }
        }
        dropped = log_has_drop(logpath, &leaked);
    }
    stop_stranger = 1;
    pthread_join(st, NULL);
    unlink(logpath);
    tap_ok(all_ok, "%d rounds of TCP set-up, all-reduce and destroy among 3 ranks, a stranger knocking all along: all "
                   "right %s", rounds, bad);
    tap_ok(dropped, "the stranger's connections (%d) were dropped and logged (%d rounds)", stranger_hits, rounds);
    tap_ok(!leaked, "no secret in the log");
}

int main(void)
{
    /* before the library reads its parameters: TCP between the thread
     * ranks, on loopback, in a port range the stranger knows */
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    port_lo = 20000 + (int)((unsigned)getpid() % 2000) * 16;
    char range[32], logpath[64];
    snprintf(range, sizeof(range), "%d-%d", port_lo, port_lo + 15);
    snprintf(logpath, sizeof(logpath), "/tmp/tutti-test-tcp-%d.log", (int)getpid());
    setenv("TUTTI_TRANSPORTS", "tcp", 1);
    setenv("TUTTI_SOCKET_IFNAME", "lo", 1);
    setenv("TUTTI_TCP_PORT_RANGE", range, 1);
    setenv("TUTTI_DEBUG_FILE", logpath, 1);
    uint8_t key[16], other[16], key2[16];
    static const uint8_t use[4] = {1, 1, 0, 1};
    tutti_tcp_derive_key(secret, 77, key);
    tutti_tcp_derive_key(secret, 78, key2);
    uint8_t secret2[16];
    memcpy(secret2, secret, 16);
    secret2[0] ^= 1;
    tutti_tcp_derive_key(secret2, 77, other);
    tap_ok(memcmp(key, key2, 16) != 0 && memcmp(key, other, 16) != 0 && memcmp(key, secret, 16) != 0,
           "the key depends on the secret and the communicator id, and is not the secret");

    tutti_hello_t h = hello(key, 77, 1, 3, 4, 1, 1);
    int c = -1, i = -1;
    const char *bad = tutti_tcp_hello_accept(&h, key, 77, 3, 4, use, 2, 2, &c, &i);
    tap_ok(!bad && c == 1 && i == 1, "a good hello gets in, with its channel and socket (%s)", bad ? bad : "ok");

    h = hello(other, 77, 1, 3, 4, 0, 0);
    tap_ok(refused(&h, key, "authentication"), "signed with another job's secret: refused");
    h = hello(key2, 78, 1, 3, 4, 0, 0);
    tap_ok(refused(&h, key, "authentication"), "from another communicator of the same job: refused");
    h = hello(key, 77, 1, 3, 4, 0, 0);
    h.pad = 1u << 8; /* moved to channel 1 after signing */
    tap_ok(refused(&h, key, "authentication"), "a hello altered after signing: refused");
    h = hello(key, 77, 1, 3, 4, 0, 0);
    h.kind = TUTTI_HELLO_PEER;
    tutti_hello_sign(&h, key);
    tap_ok(refused(&h, key, "not a tutti hello"), "a bootstrap hello replayed to the transport: refused");
    h = hello(key, 77, 1, 2, 4, 0, 0);
    tap_ok(refused(&h, key, "another rank"), "addressed to another rank: refused");
    h = hello(key, 77, 1, 3, 5, 0, 0);
    tap_ok(refused(&h, key, "size"), "for a communicator of another size: refused");
    h = hello(key, 77, 2, 3, 4, 0, 0);
    tap_ok(refused(&h, key, "does not connect here"), "from a rank this one reaches over shm: refused");
    h = hello(key, 77, 3, 3, 4, 0, 0);
    tap_ok(refused(&h, key, "does not connect here"), "from itself: refused");
    static const uint8_t use5[5] = {1, 1, 0, 0, 1};
    h = hello(key, 77, 4, 3, 5, 1, 0);
    bad = tutti_tcp_hello_accept(&h, key, 77, 3, 5, use5, 2, 2, &c, &i);
    tap_ok(!bad && c == 1 && i == 0, "from a higher rank: accepted (either end connects on first use) (%s)",
           bad ? bad : "ok");
    h = hello(key, 77, 0, 3, 4, 2, 0);
    tap_ok(refused(&h, key, "channel"), "channel out of range: refused");
    h = hello(key, 77, 0, 3, 4, 0, 2);
    tap_ok(refused(&h, key, "TUTTI_TCP_NSOCKS"), "socket index out of range names TUTTI_TCP_NSOCKS: refused");
    h = hello(key, 77, 0, 3, 4, 0, 0);
    h.magic ^= 1;
    tap_ok(refused(&h, key, "not a tutti hello"), "garbage: refused");
    test_stranger();
    return tap_done();
}
