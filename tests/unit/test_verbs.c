/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ibverbs transport without a device: TUTTI_IB_HCA's grammar (NCCL's)
 * as parser and matcher, the IPv4-mapped GID test, the PSN rule, and the
 * probe's answer on a machine without RDMA devices (it must name the
 * reason).  The transport itself runs in the soft-RoCE VM
 * (/work/shared/env/rxe-vm, tests/rxe).
 */
#include "tap.h"
#include "verbs/verbs.h"

#include <stdio.h>
#include <string.h>

static int match(const char *spec, const char *dev, int port)
{
    tutti_verbs_hca_t f;
    char err[200];
    if (tutti_verbs_hca_parse(spec, &f, err, sizeof(err)) != 0) return -1;
    return tutti_verbs_hca_match(&f, dev, port);
}

static int bad(const char *spec)
{
    tutti_verbs_hca_t f;
    char err[200] = "";
    int r = tutti_verbs_hca_parse(spec, &f, err, sizeof(err));
    return r != 0 && strstr(err, "TUTTI_IB_HCA") != NULL;
}

int main(void)
{
    /* empty: everything */
    tap_ok(match("", "mlx5_0", 1) == 1, "empty spec matches any device");
    /* prefixes */
    tap_ok(match("mlx5", "mlx5_3", 1) == 1, "'mlx5' is a prefix of mlx5_3");
    tap_ok(match("mlx5_1", "mlx5_10", 1) == 1, "'mlx5_1' matches mlx5_10 as a prefix (NCCL)");
    tap_ok(match("mlx5_1", "mlx4_1", 1) == 0, "'mlx5_1' does not match mlx4_1");
    /* ports */
    tap_ok(match("mlx5_0:1,mlx5_1", "mlx5_0", 1) == 1, "mlx5_0:1 matches port 1");
    tap_ok(match("mlx5_0:1,mlx5_1", "mlx5_0", 2) == 0, "mlx5_0:1 does not match port 2");
    tap_ok(match("mlx5_0:1,mlx5_1", "mlx5_1", 2) == 1, "mlx5_1 without a port matches port 2");
    tap_ok(match("mlx5_0:1,mlx5_1", "rxe0", 1) == 0, "a device in no entry is not matched");
    /* exact */
    tap_ok(match("=mlx5_1", "mlx5_10", 1) == 0, "'=mlx5_1' does not match mlx5_10");
    tap_ok(match("=mlx5_1", "mlx5_1", 1) == 1, "'=mlx5_1' matches mlx5_1");
    tap_ok(match("=mlx5_1:2", "mlx5_1", 1) == 0 && match("=mlx5_1:2", "mlx5_1", 2) == 1, "'=mlx5_1:2': port 2 only");
    /* exclusion */
    tap_ok(match("^mlx5_1", "mlx5_1", 1) == 0, "'^mlx5_1' excludes mlx5_1");
    tap_ok(match("^mlx5_1", "mlx5_0", 1) == 1, "'^mlx5_1' keeps mlx5_0");
    tap_ok(match("^mlx5_1", "mlx5_10", 1) == 0, "'^mlx5_1' excludes mlx5_10 too (prefix)");
    tap_ok(match("^=mlx5_1", "mlx5_10", 1) == 1, "'^=mlx5_1' keeps mlx5_10");
    tap_ok(match("^mlx5_0:1", "mlx5_0", 2) == 1 && match("^mlx5_0:1", "mlx5_0", 1) == 0,
           "'^mlx5_0:1' excludes only port 1");
    tap_ok(match("rxe", "rxe0", 1) == 1, "'rxe' matches the soft-RoCE device");
    /* parse errors name the variable */
    tap_ok(bad("^"), "'^' alone is an error");
    tap_ok(bad("="), "'=' alone is an error");
    tap_ok(bad("mlx5_0,,mlx5_1"), "an empty entry is an error");
    tap_ok(bad("mlx5_0,"), "a trailing comma is an error");
    tap_ok(bad("mlx5_0:x"), "a port that is no number is an error");
    tap_ok(bad("mlx5_0:0"), "port 0 is an error");
    tap_ok(bad("mlx5_0:"), "an empty port is an error");
    tap_ok(bad(":1"), "a port without a name is an error");
    tap_ok(bad("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q"), "more than 16 entries is an error");
    {
        tutti_verbs_hca_t f;
        char err[200];
        int r = tutti_verbs_hca_parse("^=mlx5_0:1,mlx5_2", &f, err, sizeof(err));
        tap_ok(r == 0 && f.exclude && f.exact && f.n == 2 && strcmp(f.ent[0].name, "mlx5_0") == 0 &&
                   f.ent[0].port == 1 && strcmp(f.ent[1].name, "mlx5_2") == 0 && f.ent[1].port == 0,
               "'^=mlx5_0:1,mlx5_2' parses into 2 entries, exclude and exact");
    }
    /* GIDs */
    {
        uint8_t v4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 99, 0, 1};
        uint8_t ll[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0xff, 0xfe, 0x78, 0x9a, 0xbc};
        tap_ok(tutti_verbs_gid_is_ipv4(v4), "::ffff:10.99.0.1 is IPv4-mapped");
        tap_ok(!tutti_verbs_gid_is_ipv4(ll), "fe80::... is not");
        union ibv_gid g;
        char buf[64];
        memcpy(g.raw, v4, 16);
        tap_ok(strcmp(tutti_verbs_gid_str(&g, buf, sizeof(buf)), "::ffff:10.99.0.1") == 0, "GID printed as %s", buf);
    }
    /* which port a rank takes: the nearest, dealt over the node's ranks */
    {
        int numa[4] = {0, 0, 1, 1}, unk[4] = {-1, -1, -1, -1}, got[4];
        for (int lr = 0; lr < 4; lr++) got[lr] = tutti_verbs_port_choose(4, numa, 1, lr);
        tap_ok(got[0] == 2 && got[1] == 3 && got[2] == 2 && got[3] == 3,
               "4 HCAs on NUMA nodes 0,0,1,1: ranks on node 1 take HCAs 2,3,2,3 (%d,%d,%d,%d)", got[0], got[1], got[2],
               got[3]);
        for (int lr = 0; lr < 4; lr++) got[lr] = tutti_verbs_port_choose(4, numa, 0, lr);
        tap_ok(got[0] == 0 && got[1] == 1 && got[2] == 0 && got[3] == 1, "ranks on node 0 take HCAs 0,1,0,1");
        for (int lr = 0; lr < 4; lr++) got[lr] = tutti_verbs_port_choose(4, unk, 0, lr);
        tap_ok(got[0] == 0 && got[1] == 1 && got[2] == 2 && got[3] == 3,
               "HCAs of unknown locality (virtual, or no sysfs node): dealt over all by local rank");
        tap_ok(tutti_verbs_port_choose(4, numa, 2, 5) == 1 && tutti_verbs_port_choose(4, numa, -1, 6) == 2,
               "a rank on a node without HCA, or of unknown place: dealt over all");
        tap_ok(tutti_verbs_port_choose(1, numa, 1, 3) == 0 && tutti_verbs_port_choose(0, numa, 1, 0) == -1,
               "one HCA: everyone takes it; none: -1");
    }
    /* PSNs are 24 bits, the same on both sides */
    tap_ok(tutti_verbs_psn(17) == tutti_verbs_psn(17) && tutti_verbs_psn(0xffffffu) <= 0xffffffu,
           "the first PSN is a 24-bit function of the QPN");
    /* the probe: on a machine without devices it says so */
    {
        char why[256] = "";
        tutti_result_t r = tutti_verbs_transport.probe(0, why, sizeof(why));
        if (r == TUTTI_SUCCESS) {
            tap_skip("probe: this machine has an active RDMA port");
        } else {
            tap_diag("probe: %s", why);
            tap_ok(r == TUTTI_ERR_UNSUPPORTED && why[0] != '\0', "probe without a usable port: unsupported, with a reason");
        }
    }
    tap_ok(tutti_verbs_transport.caps & TUTTI_TP_CAP_PROBE, "verbs advertises probe");
    tap_ok(tutti_verbs_transport.block && tutti_verbs_transport.publish_wait && tutti_verbs_transport.peer_wait,
           "no NULL ops");
    return tap_done();
}
