from __future__ import annotations

import pytest

from loopline.core.s3 import S3Bucket, S3Location
from loopline.errors import UsageError


def test_a_uri_round_trips() -> None:
    location = S3Location.from_uri("s3://bucket/a/b.csv", region="eu-west-1")
    assert location == S3Location(S3Bucket("bucket", "eu-west-1"), "a/b.csv")
    assert location.to_uri() == "s3://bucket/a/b.csv"


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("https://x/y", "Must start with s3://"),
        ("s3:///y", "missing a bucket"),
        ("s3://b/", "missing a path"),
    ],
)
def test_a_malformed_uri_is_refused(uri: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        S3Location.from_uri(uri)


def test_locations_relative_to_a_location() -> None:
    location = S3Location.from_uri("s3://b/data/train.csv")
    assert location.parent_directory.location == "data/"
    assert location.sibling_location("test.csv").location == "data/test.csv"
    assert (S3Location.from_uri("s3://b/data/") / "x").location == "data/x"


def test_reading_without_s3fs_says_what_to_install() -> None:
    pytest.importorskip("fsspec")
    try:
        import s3fs  # noqa: F401
    except ImportError:
        with pytest.raises(UsageError, match="pip install s3fs"):
            S3Location.from_uri("s3://b/k").read_bytes()
    else:  # with s3fs, the filesystem is S3's in the bucket's region (made without a connection)
        filesystem = S3Location.from_uri("s3://b/k", region="eu-west-1").filesystem()
        assert filesystem.protocol[0] == "s3" and filesystem.client_kwargs == {"region_name": "eu-west-1"}
