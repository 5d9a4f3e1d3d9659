#!/bin/sh
# mismatched calls, wait chains and a killed peer with every collective on
# the node's shared windows (TUTTI_ALGO forces the window algorithm)
exec "${top_builddir:-.}/tests/unit/test_faults" --window
