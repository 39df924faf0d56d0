"""A real S3-compatible server on 127.0.0.1 for the tests (moto's server, on a free port), and
what a client needs to use it: the endpoint, dummy credentials, fsspec storage options.

`tests/conftest.py` turns it into fixtures: `s3_server` (one per session) and `s3_bucket` (an
empty bucket per test). Anything that reads or writes `s3://` URLs through fsspec/s3fs (table
files, an artifact store on object storage) can take them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

REGION = "us-east-1"
ACCESS_KEY = "loopline-test"
SECRET_KEY = "loopline-test-secret"


@dataclasses.dataclass(frozen=True)
class S3Server:
    """A running S3-compatible server."""

    endpoint_url: str

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point boto3/botocore/s3fs clients at this server."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
        }

    @property
    def storage_options(self) -> dict[str, Any]:
        """fsspec options for `s3://` URLs on this server (`fsspec.open(url, **options)`)."""
        return {
            "key": ACCESS_KEY,
            "secret": SECRET_KEY,
            "client_kwargs": {"endpoint_url": self.endpoint_url, "region_name": REGION},
        }

    def create_bucket(self, name: str | None = None) -> S3Bucket:
        import boto3

        bucket = name or f"test-{uuid.uuid4().hex[:12]}"
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )
        client.create_bucket(Bucket=bucket)
        return S3Bucket(self, bucket)


@dataclasses.dataclass(frozen=True)
class S3Bucket:
    """An empty bucket on the test server: `url` is `s3://<name>`."""

    server: S3Server
    name: str

    @property
    def url(self) -> str:
        return f"s3://{self.name}"

    @property
    def storage_options(self) -> dict[str, Any]:
        return self.server.storage_options

    @property
    def env(self) -> dict[str, str]:
        return self.server.env

    def filesystem(self) -> Any:
        """An s3fs filesystem on the server (paths are `bucket/key`)."""
        import s3fs

        return s3fs.S3FileSystem(skip_instance_cache=True, **self.storage_options)


def require_s3_server() -> None:
    """Skip (saying why) when moto's server or s3fs is not installed; fail instead on CI."""
    missing = [name for name in ("moto", "flask", "s3fs", "boto3") if importlib.util.find_spec(name) is None]
    if not missing:
        return
    reason = f"{', '.join(missing)} not installed (`pip install 'moto[server]' s3fs`, in the dev extra)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the S3 tests, but {reason}")
    pytest.skip(f"S3 tests skipped: {reason}")


@contextlib.contextmanager
def running_s3_server() -> Iterator[S3Server]:
    """moto's S3-compatible server in a thread of this process, on a free port of 127.0.0.1."""
    require_s3_server()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield S3Server(f"http://{host}:{port}")
    finally:
        server.stop()
