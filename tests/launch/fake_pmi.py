# SPDX-License-Identifier: BSD-3-Clause
"""A fake PMI-1 launcher for tests/launch/launch.sh: starts PROGRAM with
PMI_FD on one end of a socket pair and answers init, get_maxes,
get_my_kvsname and put, then, by MODE: 'hang' never answers barrier_in
(the client's deadline must end the wait), 'close' closes the socket at
barrier_in, 'garbage' answers barrier_in with a line that is no reply.
Prints the program's output and its exit status."""
import os
import socket
import subprocess
import sys

mode, prog = sys.argv[1], sys.argv[2:]
ours, theirs = socket.socketpair()
env = dict(os.environ, PMI_FD=str(theirs.fileno()), PMI_RANK="0", PMI_SIZE="2")
p = subprocess.Popen(prog, env=env, pass_fds=[theirs.fileno()], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
theirs.close()
f = ours.makefile("rwb", buffering=0)
replies = {
    b"init": b"cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0\n",
    b"get_maxes": b"cmd=maxes kvsname_max=256 keylen_max=64 vallen_max=1024\n",
    b"get_my_kvsname": b"cmd=my_kvsname kvsname=fake_kvs\n",
    b"put": b"cmd=put_result rc=0\n",
}
for line in f:
    cmd = line.split(b" ")[0].strip().removeprefix(b"cmd=")
    if cmd in replies:
        f.write(replies[cmd])
    elif cmd == b"barrier_in":
        if mode == "close":
            f.close()
            ours.close()
            break
        if mode == "garbage":
            f.write(b"this is not pmi\n")
        # hang: say nothing
    elif cmd == b"finalize":
        f.write(b"cmd=finalize_ack\n")
out = p.communicate(timeout=120)[0].decode(errors="replace")
print(out, end="")
print(f"exit {p.returncode}")
