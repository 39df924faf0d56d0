"""`S3Location` and `S3Bucket`: typed references to objects in S3, read and written with fsspec.

A reference is a small value (bucket, region, key): passing one between funcs moves no data.
`open()`, `read_bytes()`, `write_bytes()` and `exists()` go through fsspec's `s3` filesystem,
which needs the `s3fs` package (`pip install s3fs`) and the usual AWS credentials.
"""

from __future__ import annotations

import dataclasses
from typing import IO, Any
from urllib.parse import urlsplit

from loopline.errors import UsageError


@dataclasses.dataclass(frozen=True)
class S3Bucket:
    """An S3 bucket, and its region when it matters."""

    name: str
    region: str | None = None


@dataclasses.dataclass(frozen=True)
class S3Location:
    """An object (or, when `location` ends with "/", a folder) in an S3 bucket."""

    bucket: S3Bucket
    location: str

    @classmethod
    def from_uri(cls, uri: str, region: str | None = None) -> S3Location:
        """`s3://bucket/path/to/object` as a location."""
        parts = urlsplit(uri)
        if parts.scheme != "s3":
            raise UsageError(f"Malformed S3 URI. Must start with s3://, got {uri!r}")
        if not parts.netloc:
            raise UsageError(f"URI is missing a bucket: {uri!r} (write s3://bucket/path)")
        location = parts.path.removeprefix("/")
        if not location:
            raise UsageError(f"URI is missing a path: {uri!r} (write s3://bucket/path)")
        return cls(S3Bucket(parts.netloc, region), location)

    def to_uri(self) -> str:
        return f"s3://{self.bucket.name}/{self.location}"

    @property
    def parent_directory(self) -> S3Location:
        """The folder this object is in (for a folder: the folder above it)."""
        parts = self.location.rstrip("/").split("/")
        return S3Location(self.bucket, "/".join(parts[:-1]) + "/")

    def sibling_location(self, location: str) -> S3Location:
        """`location` in the same folder as this one."""
        return S3Location(self.bucket, self.parent_directory.location + location)

    def child_location(self, location: str) -> S3Location:
        """`location` inside this one, taken as a folder."""
        folder = self.location if self.location.endswith("/") else self.location + "/"
        return S3Location(self.bucket, folder + location)

    def __truediv__(self, location: str) -> S3Location:
        return self.child_location(location)

    # -- data, through fsspec ---------------------------------------------------------------------

    def filesystem(self) -> Any:
        """fsspec's S3 filesystem for this bucket's region."""
        import fsspec

        try:
            return fsspec.filesystem(
                "s3", **({"client_kwargs": {"region_name": self.bucket.region}} if self.bucket.region else {})
            )
        except ImportError as error:
            raise UsageError(
                f"reading or writing {self.to_uri()} needs the s3fs package: pip install s3fs"
            ) from error

    def open(self, mode: str = "rb") -> IO[Any]:
        """The object as a file (`mode` as for the builtin `open`)."""
        return self.filesystem().open(self.to_uri(), mode)  # type: ignore[no-any-return]

    def read_bytes(self) -> bytes:
        with self.open("rb") as file:
            return file.read()  # type: ignore[no-any-return]

    def write_bytes(self, data: bytes) -> None:
        with self.open("wb") as file:
            file.write(data)

    def exists(self) -> bool:
        return bool(self.filesystem().exists(self.to_uri()))
