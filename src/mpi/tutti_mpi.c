/* SPDX-License-Identifier: BSD-3-Clause */
#include "tutti_mpi.h"

#include <string.h>

tutti_result_t tutti_comm_init_mpi(tutti_comm_t *comm, MPI_Comm mpi_comm)
{
    struct {
        int32_t result;
        int32_t pad;
        tutti_unique_id_t id;
    } msg;
    int inited = 0, finalized = 0, rank, size;
    if (!comm || mpi_comm == MPI_COMM_NULL) return TUTTI_ERR_INVALID_ARGUMENT;
    MPI_Initialized(&inited);
    MPI_Finalized(&finalized);
    if (!inited || finalized) return TUTTI_ERR_INVALID_USAGE;
    if (MPI_Comm_rank(mpi_comm, &rank) != MPI_SUCCESS || MPI_Comm_size(mpi_comm, &size) != MPI_SUCCESS)
        return TUTTI_ERR_INVALID_ARGUMENT;
    memset(&msg, 0, sizeof(msg));
    if (rank == 0) msg.result = tutti_get_unique_id(&msg.id);
    if (MPI_Bcast(&msg, (int)sizeof(msg), MPI_BYTE, 0, mpi_comm) != MPI_SUCCESS) return TUTTI_ERR_REMOTE;
    if (msg.result != TUTTI_SUCCESS) return rank == 0 ? (tutti_result_t)msg.result : TUTTI_ERR_REMOTE;
    return tutti_comm_init_rank(comm, size, msg.id, rank);
}
