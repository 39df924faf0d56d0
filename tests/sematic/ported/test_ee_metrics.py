"""Ported from Sematic 0.41.0 (Apache-2.0): sematic/ee/tests/test_metrics.py.

Written by tests/sematic/port.py: the file went through `loopline migrate` (its imports), then
lost the tests of Sematic's internals:
- test_log_metric: tests an internal of Sematic's (mocks its API client and function-path cache)
Tests marked xfail show a difference of Loopline's, explained in the marker and docs/sematic.md.
"""

# Standard Library

# Third-party
import pytest

# Sematic
from loopline.ee.metrics import log_metric
from loopline.utils.exceptions import NotInSematicFuncError


def test_log_metric_no_context():
    with pytest.raises(
        NotInSematicFuncError,
        match="log_metric must be called within a Sematic Function.",
    ):
        log_metric("foo", 1.0)
