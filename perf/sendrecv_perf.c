/* SPDX-License-Identifier: BSD-3-Clause */
#include "harness.h"

int main(int argc, char **argv)
{
    return perf_main(argc, argv, PERF_SENDRECV, "sendrecv_perf");
}
