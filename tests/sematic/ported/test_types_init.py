"""Ported from Sematic 0.41.0 (Apache-2.0): sematic/types/tests/test_init.py.

Written by tests/sematic/port.py: the file went through `loopline migrate` (its imports), then
lost the tests of Sematic's internals: none.
Tests marked xfail show a difference of Loopline's, explained in the marker and docs/sematic.md.
"""

# Sematic
import loopline as sematic, loopline.types  # noqa: F401


def test_pass():
    assert True
