# SPDX-License-Identifier: BSD-3-Clause
"""A stand-in for the `expecttest` package, which PyTorch's test utilities
import and Debian 12 does not package: only what
torch.testing._internal.common_utils uses (ACCEPT, TestCase).  Used by
tests/torch/suite.py only; expect-test rewriting is never needed there."""
import unittest

ACCEPT = False


class TestCase(unittest.TestCase):
    longMessage = True

    def assertExpectedInline(self, actual, expect, skip=0):
        self.assertEqual(actual, expect)
