"""Ported from Sematic 0.41.0 (Apache-2.0): sematic/types/types/tests/test_image.py.

Written by tests/sematic/port.py: the file went through `loopline migrate` (its imports), then
lost the tests of Sematic's internals:
- test_summary: tests an internal of Sematic's (its summary format and libmagic)
Tests marked xfail show a difference of Loopline's, explained in the marker and docs/sematic.md.
"""

# Standard Library
import tempfile
from typing import IO

# Third-party
import pytest
from loopline.types import Image


@pytest.fixture(scope="function")
def temp_file():
    with tempfile.NamedTemporaryFile() as file:
        bytes_ = b"foobar"
        file.write(bytes_)
        file.flush()
        file.seek(0)
        yield file


def test_from_file(temp_file: IO[bytes]):
    image = Image.from_file(temp_file.name)
    assert image.bytes == temp_file.read()
