#!/bin/sh
# the mismatched-call cases of test_faults with every peer over TCP
exec "${top_builddir:-.}/tests/unit/test_faults" --tcp
