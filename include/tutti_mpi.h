/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tutti communicators from MPI communicators (libtutti_mpi).
 */
#ifndef TUTTI_MPI_H
#define TUTTI_MPI_H

#include <mpi.h>
#include <tutti.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Collective over mpi_comm: creates a tutti communicator with the same ranks
 * in the same order (each process keeps its MPI rank).  MPI must be
 * initialised.  Rank 0 makes the unique id and broadcasts it with MPI_Bcast;
 * if that fails on rank 0, every rank returns its error.
 * Errors: INVALID_ARGUMENT (comm NULL, MPI_COMM_NULL), INVALID_USAGE (MPI not
 * initialised), and those of tutti_comm_init_rank. */
TUTTI_EXPORT tutti_result_t tutti_comm_init_mpi(tutti_comm_t *comm, MPI_Comm mpi_comm);

#ifdef __cplusplus
}
#endif
#endif
