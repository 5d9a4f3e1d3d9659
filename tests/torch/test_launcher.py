# SPDX-License-Identifier: BSD-3-Clause
"""tutti.torch.launcher_env, the mapping of mpirun's (Open MPI, MPICH) and
srun's variables to what torch.distributed's env:// reads, on environments
as each launcher exports them (one process, no job: the launch itself is
tested by the mpirun cases of test_coll.py and test_faults.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402,F401
import tutti.torch  # noqa: E402

n = 0
failed = 0


def case(desc, fn):
    global n, failed
    n += 1
    try:
        msg = fn()
    except Exception as e:  # noqa: BLE001
        msg = "%s: %s" % (type(e).__name__, e)
    print("%s %d - %s" % ("not ok" if msg else "ok", n, desc))
    if msg:
        failed += 1
        print("# " + str(msg))


def expect(env, want, keys=("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR")):
    got = tutti.torch.launcher_env(env)
    for k in keys:
        if got.get(k) != want.get(k):
            return "%s: got %r, want %r (all: %r)" % (k, got.get(k), want.get(k), got)
    if "MASTER_PORT" in want and want["MASTER_PORT"] == "*" and not got.get("MASTER_PORT", "").isdigit():
        return "no derived MASTER_PORT: %r" % got
    return None


def raises(env, words):
    try:
        tutti.torch.launcher_env(env)
    except RuntimeError as e:
        return None if all(w in str(e) for w in words) else "the error does not say %r: %s" % (words, e)
    return "no error"


ompi = {"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_LOCAL_RANK": "1",
        "OMPI_COMM_WORLD_LOCAL_SIZE": "4", "OMPI_MCA_ess_base_jobid": "12345"}
case("Open MPI, one node: rank, size, local rank, 127.0.0.1 and a port from the job id",
     lambda: expect(ompi, {"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "MASTER_ADDR": "127.0.0.1",
                           "MASTER_PORT": "*"}))
case("the derived port is the same on every rank of the job",
     lambda: None if tutti.torch.launcher_env(ompi)["MASTER_PORT"] ==
     tutti.torch.launcher_env(dict(ompi, OMPI_COMM_WORLD_RANK="3"))["MASTER_PORT"] else "ports differ")
case("Open MPI across nodes without MASTER_ADDR: a clear error",
     lambda: raises(dict(ompi, OMPI_COMM_WORLD_LOCAL_SIZE="2"), ["several nodes", "MASTER_ADDR"]))
case("Open MPI across nodes with MASTER_ADDR exported: kept, port derived",
     lambda: expect(dict(ompi, OMPI_COMM_WORLD_LOCAL_SIZE="2", MASTER_ADDR="node1"),
                    {"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "MASTER_PORT": "*"}))
mpich = {"PMI_RANK": "2", "PMI_SIZE": "3", "MPI_LOCALRANKID": "2", "MPI_LOCALNRANKS": "3", "PMI_FD": "7"}
case("MPICH (hydra), one node", lambda: expect(mpich, {"RANK": "2", "WORLD_SIZE": "3", "LOCAL_RANK": "2",
                                                        "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "*"}))
slurm = {"SLURM_PROCID": "0", "SLURM_NTASKS": "2", "SLURM_LOCALID": "0", "SLURM_NNODES": "1", "SLURM_JOB_ID": "99"}
case("Slurm (srun), one node", lambda: expect(slurm, {"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0",
                                                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "*"}))
case("Slurm across nodes without MASTER_ADDR: a clear error",
     lambda: raises(dict(slurm, SLURM_NNODES="2"), ["several nodes", "MASTER_ADDR"]))
case("torchrun's variables (RANK, WORLD_SIZE) are left as they are",
     lambda: None if tutti.torch.launcher_env({"RANK": "0", "WORLD_SIZE": "2", **ompi}) == {} else "changed")
case("no launcher at all: a clear error naming what was looked for",
     lambda: raises({}, ["OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"]))
case("MASTER_PORT exported: kept", lambda: None if "MASTER_PORT" not in tutti.torch.launcher_env(
    dict(ompi, MASTER_PORT="2222")) else "overridden")
print("1..%d" % n)
sys.exit(1 if failed else 0)
