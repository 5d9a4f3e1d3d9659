/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tutti-info: what this build of tutti is and how it is configured.
 *   tutti-info            version, transports, topology, every parameter
 *   tutti-info -p         parameters only
 *   tutti-info -a         also algorithms per collective
 */
#include "coll.h"
#include "core/comm.h"
#include "core/transports.h"
#include "topo/topo.h"
#include "tutti.h"
#include "util/param.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *tutti_info_type(tutti_param_type_t t)
{
    switch (t) {
    case TUTTI_PARAM_INT: return "int";
    case TUTTI_PARAM_SIZE: return "size";
    case TUTTI_PARAM_BOOL: return "bool";
    case TUTTI_PARAM_SECONDS: return "seconds";
    case TUTTI_PARAM_STRING: return "string";
    }
    return "?";
}

static void tutti_info_params(void)
{
    printf("# Parameters (environment variables)\n");
    for (int k = 0; k < TUTTI_P_COUNT; k++) {
        const tutti_param_desc_t *d = tutti_param_desc((tutti_param_id_t)k);
        int from_env = 0;
        const char *raw = tutti_param_raw((tutti_param_id_t)k, &from_env);
        if (k == TUTTI_P_SECRET && from_env) raw = "<set, hidden>";
        printf("%-22s = %-12s (%s, %s; default '%s')\n", d->name, raw[0] ? raw : "''", tutti_info_type(d->type),
               from_env ? "from environment" : "default", d->def);
        printf("    %s\n", d->doc);
    }
    const char *err = tutti_param_error();
    if (err) printf("# ERROR: %s\n", err);
}

static void tutti_info_algos(void)
{
    printf("# Algorithms (TUTTI_ALGO names)\n");
    for (int c = 0; c < TUTTI_NUM_COLLS; c++) {
        printf("%-15s", tutti_coll_name((tutti_coll_t)c));
        for (int a = 0; a < TUTTI_NUM_ALGOS; a++)
            if (tutti_coll_builder((tutti_coll_t)c, (tutti_algo_t)a)) printf(" %s", tutti_algo_name((tutti_algo_t)a));
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    int params_only = 0, algos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-p") == 0) params_only = 1;
        else if (strcmp(argv[i], "-a") == 0) algos = 1;
        else {
            fprintf(stderr, "usage: %s [-p] [-a]\n", argv[0]);
            return 2;
        }
    }
    if (!params_only) {
        char topo[256];
        size_t n;
        const tutti_transport_t *const *tps = tutti_transports_builtin(&n);
        tutti_rank_info_t me;
        tutti_comm_local_info(&me);
        printf("# tutti %s (transport interface version %d)\n", tutti_version_string(), TUTTI_TRANSPORT_API_VERSION);
        printf("transports:  ");
        for (size_t t = 0; t < n; t++) printf("%s%s", t ? ", " : "", tps[t]->name);
        printf("\n");
        tutti_topo_summary(topo, sizeof(topo));
        printf("topology:    %s\n", topo);
        printf("node:        host %s, id %016llx\n", me.host, (unsigned long long)me.hostid);
        if (algos) tutti_info_algos();
    }
    tutti_info_params();
    return tutti_param_error() ? 1 : 0;
}
