/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ibverbs transport's device, port and GID choice: TUTTI_IB_HCA (NCCL's
 * grammar, a pure parser and matcher the unit test covers without a
 * device), the first active port that matches, and TUTTI_IB_GID_INDEX.
 */
#include "verbs/verbs.h"

#include "util/param.h"

#include <arpa/inet.h>
#include <sched.h>
#include <unistd.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tutti_verbs_hca_parse(const char *spec, tutti_verbs_hca_t *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    const char *p = spec ? spec : "";
    if (*p == '^') {
        f->exclude = 1;
        p++;
    }
    if (*p == '=') {
        f->exact = 1;
        p++;
    }
    if (!*p) {
        if (f->exclude || f->exact) {
            snprintf(err, errlen, "TUTTI_IB_HCA='%s': no device name after '^' or '='", spec);
            return -1;
        }
        return 0; /* empty: everything */
    }
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len == 0) {
            snprintf(err, errlen, "TUTTI_IB_HCA='%s': empty entry", spec);
            return -1;
        }
        if (f->n == TUTTI_VERBS_HCA_MAX) {
            snprintf(err, errlen, "TUTTI_IB_HCA='%s': more than %d entries", spec, TUTTI_VERBS_HCA_MAX);
            return -1;
        }
        size_t nl = strcspn(p, ",:");
        if (nl > len) nl = len;
        if (nl == 0 || nl >= sizeof(f->ent[0].name)) {
            snprintf(err, errlen, "TUTTI_IB_HCA='%s': bad device name at '%.*s'", spec, (int)len, p);
            return -1;
        }
        memcpy(f->ent[f->n].name, p, nl);
        f->ent[f->n].name[nl] = '\0';
        f->ent[f->n].port = 0;
        if (nl < len) { /* ":port" */
            char num[16];
            size_t pl = len - nl - 1;
            char *end;
            long port = 0;
            if (pl == 0 || pl >= sizeof(num)) port = -1;
            else {
                memcpy(num, p + nl + 1, pl);
                num[pl] = '\0';
                port = strtol(num, &end, 10);
                if (*end) port = -1;
            }
            if (port < 1 || port > 255) {
                snprintf(err, errlen, "TUTTI_IB_HCA='%s': bad port in '%.*s' (1..255)", spec, (int)len, p);
                return -1;
            }
            f->ent[f->n].port = (int)port;
        }
        f->n++;
        p += len;
        if (*p == ',') {
            p++;
            if (!*p) {
                snprintf(err, errlen, "TUTTI_IB_HCA='%s': empty entry at the end", spec);
                return -1;
            }
        }
    }
    return 0;
}

int tutti_verbs_hca_match(const tutti_verbs_hca_t *f, const char *dev, int port)
{
    if (f->n == 0) return 1;
    int hit = 0;
    for (int i = 0; i < f->n && !hit; i++) {
        const char *n = f->ent[i].name;
        int name_ok = f->exact ? strcmp(dev, n) == 0 : strncmp(dev, n, strlen(n)) == 0;
        hit = name_ok && (f->ent[i].port == 0 || f->ent[i].port == port);
    }
    return f->exclude ? !hit : hit;
}

int tutti_verbs_gid_is_ipv4(const uint8_t raw[16])
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(raw, prefix, sizeof(prefix)) == 0;
}

const char *tutti_verbs_gid_str(const union ibv_gid *gid, char *buf, size_t len)
{
    if (!inet_ntop(AF_INET6, gid->raw, buf, (socklen_t)len)) snprintf(buf, len, "?");
    return buf;
}

static int tutti_verbs_gid_zero(const union ibv_gid *g)
{
    for (int i = 0; i < 16; i++)
        if (g->raw[i]) return 0;
    return 1;
}

/* TUTTI_IB_GID_INDEX, or auto: a RoCE v2 GID holding an IPv4 address (it
 * routes across subnets and is what RoCE fabrics are set up for), else the
 * first nonzero one.  rdma-core 44 has ibv_query_gid_ex with the GID's type;
 * sysfs (gid_attrs/types) would be the fallback for older libraries. */
static tutti_result_t tutti_verbs_pick_gid(tutti_verbs_port_t *p, int tbl_len, char *why, size_t whylen)
{
    int want = (int)tutti_param_int(TUTTI_P_IB_GID_INDEX);
    char gbuf[64];
    if (want >= 0) {
        if (want >= tbl_len || ibv_query_gid(p->ctx, (uint8_t)p->port, want, &p->gid) != 0 ||
            tutti_verbs_gid_zero(&p->gid)) {
            snprintf(why, whylen, "TUTTI_IB_GID_INDEX=%d: %s port %d has no valid GID there (table of %d)", want,
                     p->name, p->port, tbl_len);
            return TUTTI_ERR_INVALID_ARGUMENT;
        }
        p->gid_index = want;
        return TUTTI_SUCCESS;
    }
    int first = -1, v2ipv4 = -1;
    union ibv_gid firstgid;
    memset(&firstgid, 0, sizeof(firstgid));
    for (int i = 0; i < tbl_len && v2ipv4 < 0; i++) {
        struct ibv_gid_entry e;
        if (ibv_query_gid_ex(p->ctx, (uint32_t)p->port, (uint32_t)i, &e, 0) != 0) continue; /* empty entry */
        if (tutti_verbs_gid_zero(&e.gid)) continue;
        if (first < 0) {
            first = i;
            firstgid = e.gid;
        }
        if (e.gid_type == IBV_GID_TYPE_ROCE_V2 && tutti_verbs_gid_is_ipv4(e.gid.raw)) {
            v2ipv4 = i;
            p->gid = e.gid;
        }
    }
    if (v2ipv4 >= 0) {
        p->gid_index = v2ipv4;
        return TUTTI_SUCCESS;
    }
    if (first < 0) {
        snprintf(why, whylen, "%s port %d (RoCE) has no valid GID: give its netdev an IP address", p->name, p->port);
        return TUTTI_ERR_UNSUPPORTED;
    }
    p->gid_index = first;
    p->gid = firstgid;
    (void)gbuf;
    return TUTTI_SUCCESS;
}

int tutti_verbs_port_choose(int n, const int *dev_numa, int my_numa, int local_rank)
{
    if (n < 1) return -1;
    int near = 0;
    for (int k = 0; k < n; k++) near += my_numa >= 0 && dev_numa[k] == my_numa;
    int lr = local_rank > 0 ? local_rank : 0;
    if (!near) return lr % n;
    int want = lr % near;
    for (int k = 0; k < n; k++)
        if (dev_numa[k] == my_numa && want-- == 0) return k;
    return 0;
}

/* NUMA node of a device (sysfs), -1 unknown. */
static int tutti_verbs_dev_numa(struct ibv_device *dev)
{
    char path[IBV_SYSFS_PATH_MAX + 32];
    int v = -1;
    snprintf(path, sizeof(path), "%s/device/numa_node", dev->ibdev_path);
    FILE *fp = fopen(path, "r");
    if (fp) {
        if (fscanf(fp, "%d", &v) != 1) v = -1;
        fclose(fp);
    }
    return v;
}

/* NUMA node of the CPU this thread runs on, -1 unknown. */
static int tutti_verbs_my_numa(void)
{
    int cpu = sched_getcpu();
    if (cpu < 0) return -1;
    char path[96];
    for (int n = 0; n < 1024; n++) {
        snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/node%d", cpu, n);
        if (access(path, F_OK) == 0) return n;
    }
    return -1;
}

/* Opens the device and fills p for the port (its GID with open != 0 on
 * RoCE); the context stays open in p->ctx only with open != 0. */
static tutti_result_t tutti_verbs_port_fill(struct ibv_device *dev, int port, int open, tutti_verbs_port_t *p,
                                            char *why, size_t whylen)
{
    struct ibv_context *ctx = ibv_open_device(dev);
    struct ibv_device_attr da;
    struct ibv_port_attr pa;
    tutti_result_t r = TUTTI_SUCCESS;
    if (!ctx || ibv_query_device(ctx, &da) != 0 || ibv_query_port(ctx, (uint8_t)port, &pa) != 0) {
        snprintf(why, whylen, "%s port %d: cannot open or query it: %s", ibv_get_device_name(dev), port,
                 strerror(errno));
        if (ctx) ibv_close_device(ctx);
        return TUTTI_ERR_UNSUPPORTED;
    }
    snprintf(p->name, sizeof(p->name), "%s", ibv_get_device_name(dev));
    p->port = port;
    p->lid = pa.lid;
    p->link_layer = pa.link_layer;
    p->mtu = pa.active_mtu < IBV_MTU_4096 ? pa.active_mtu : IBV_MTU_4096;
    p->gid_index = -1;
    p->vendor_id = da.vendor_id;
    if (open && pa.link_layer != IBV_LINK_LAYER_INFINIBAND) {
        p->ctx = ctx;
        r = tutti_verbs_pick_gid(p, pa.gid_tbl_len, why, whylen);
    }
    if (open && r == TUTTI_SUCCESS) {
        p->ctx = ctx;
    } else {
        p->ctx = NULL;
        ibv_close_device(ctx);
    }
    return r;
}

tutti_result_t tutti_verbs_port_find(int open, int local_rank, tutti_verbs_port_t *p, char *chosen, size_t chosenlen,
                                     char *why, size_t whylen)
{
    enum { MAXC = 16 };
    tutti_result_t r = TUTTI_ERR_UNSUPPORTED;
    tutti_verbs_hca_t f;
    const char *spec = tutti_param_str(TUTTI_P_IB_HCA);
    char seen[160] = "";
    int cdev[MAXC], cport[MAXC], cnuma[MAXC], n = 0;
    memset(p, 0, sizeof(*p));
    if (chosen && chosenlen) chosen[0] = '\0';
    if (tutti_verbs_hca_parse(spec, &f, why, whylen) != 0) return TUTTI_ERR_INVALID_ARGUMENT;
    int ndev = 0;
    struct ibv_device **list = ibv_get_device_list(&ndev);
    if (!list || ndev == 0) {
        if (!list && errno == ENOSYS)
            snprintf(why, whylen, "no RDMA device: this kernel has no RDMA support (no /sys/class/infiniband)");
        else
            snprintf(why, whylen, "no RDMA device found (ibv_get_device_list: %s; is the driver loaded, "
                                  "/dev/infiniband present?)",
                     list ? "0 devices" : strerror(errno));
        goto out;
    }
    /* every port, for the message; the active ones that match, as candidates */
    for (int d = 0; d < ndev; d++) {
        const char *name = ibv_get_device_name(list[d]);
        struct ibv_context *ctx = ibv_open_device(list[d]);
        if (!ctx) {
            snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s%s (cannot open: %s)", seen[0] ? ", " : "",
                     name, strerror(errno));
            continue;
        }
        struct ibv_device_attr da;
        if (ibv_query_device(ctx, &da) == 0) {
            for (int port = 1; port <= da.phys_port_cnt; port++) {
                struct ibv_port_attr pa;
                if (ibv_query_port(ctx, (uint8_t)port, &pa) != 0) continue;
                int match = tutti_verbs_hca_match(&f, name, port);
                snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s%s:%d %s%s", seen[0] ? ", " : "", name,
                         port, ibv_port_state_str(pa.state), match ? "" : " (filtered out)");
                if (!match || pa.state != IBV_PORT_ACTIVE || n == MAXC) continue;
                cdev[n] = d;
                cport[n] = port;
                cnuma[n] = tutti_verbs_dev_numa(list[d]);
                n++;
            }
        }
        ibv_close_device(ctx);
    }
    if (n == 0) {
        snprintf(why, whylen, "no active RDMA port%s%s%s; found: %s", spec[0] ? " matches TUTTI_IB_HCA='" : "", spec,
                 spec[0] ? "'" : "", seen[0] ? seen : "nothing usable");
        goto out;
    }
    /* the nearest, dealt over the node's ranks (the first for a probe) */
    int me = -1, k = 0;
    if (n > 1 && local_rank >= 0) {
        me = tutti_verbs_my_numa();
        k = tutti_verbs_port_choose(n, cnuma, me, local_rank);
        if (chosen)
            snprintf(chosen, chosenlen, "%s:%d of %d active ports (device on NUMA node %d, this rank on %d, local "
                                        "rank %d)",
                     ibv_get_device_name(list[cdev[k]]), cport[k], n, cnuma[k], me, local_rank);
    }
    r = tutti_verbs_port_fill(list[cdev[k]], cport[k], open, p, why, whylen);
out:
    if (list) ibv_free_device_list(list);
    return r;
}
