# SPDX-License-Identifier: BSD-3-Clause
"""TAP for multi-rank Python tests: every rank checks each case; the
verdict is agreed on (every rank ok) and rank 0 prints it, with the first
failing rank's message.  `agree(ok, msg)` is given by the test: it must
combine the ranks' flags over a channel the case under test cannot break
(a communicator of its own, or gloo)."""
import sys
import traceback


class Tap:
    def __init__(self, rank, agree):
        self.rank = rank
        self.agree = agree  # (ok: bool, msg: str) -> (all_ok: bool, msg of the first failing rank)
        self.n = 0
        self.failed = 0

    def case(self, desc, fn):
        """Runs fn() on this rank (True / None: passed; False or an
        exception: failed), then prints the agreed verdict on rank 0."""
        ok, msg = True, ""
        try:
            r = fn()
            if r is False:
                ok, msg = False, "returned False"
            elif isinstance(r, str):
                ok, msg = False, r
        except Exception as e:  # noqa: BLE001 - a failing case, reported
            ok, msg = False, "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc(limit=3))
        all_ok, first = self.agree(ok, "rank %d: %s" % (self.rank, msg) if not ok else "")
        self.n += 1
        if not all_ok:
            self.failed += 1
        if self.rank == 0:
            print("%s %d - %s" % ("ok" if all_ok else "not ok", self.n, desc), flush=True)
            if not all_ok:
                for line in first.splitlines()[:25]:
                    print("# " + line, flush=True)
        return all_ok

    def skip(self, desc, reason):
        self.n += 1
        if self.rank == 0:
            print("ok %d - %s # SKIP %s" % (self.n, desc, reason), flush=True)

    def done(self):
        if self.rank == 0:
            print("1..%d" % self.n, flush=True)
        sys.stdout.flush()
        return 1 if self.failed else 0
