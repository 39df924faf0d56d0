"""Ported from Sematic 0.41.0 (Apache-2.0): sematic/types/types/tests/test_link.py.

Written by tests/sematic/port.py: the file went through `loopline migrate` (its imports), then
lost the tests of Sematic's internals: none.
Tests marked xfail show a difference of Loopline's, explained in the marker and docs/sematic.md.
"""

# Third-party
import pytest

# Sematic
from loopline.types import Link


def test_url_validation_pass():
    link = Link(label="my link", url="https://example.com")
    assert link.label == "my link"
    assert link.url == "https://example.com"


@pytest.mark.parametrize(
    "expected_exception_str, url",
    (
        ("Incorrect URL, missing scheme", "foo"),
        ("Incorrect URL, missing netloc", "foo://"),
    ),
)
def test_url_validation_fail(expected_exception_str, url):
    with pytest.raises(ValueError, match=expected_exception_str):
        Link(label="my link", url=url)
