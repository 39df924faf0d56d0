"""Fixtures shared by the whole suite: a temporary LOOPLINE_HOME and runners that use it, a
real S3-compatible server on 127.0.0.1 (tests/s3.py) with a fresh bucket per test, and a
Jupyter kernel that runs notebooks (tests/notebooks/kernels.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import loopline
from loopline.core.records import RunState
from loopline.storage.base import ArtifactStore, MetadataStore
from tests.notebooks.kernels import Kernel, kernelspec_folder
from tests.s3 import S3Bucket, S3Server, running_s3_server

settings.register_profile("ci", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty LOOPLINE_HOME for this test (the embedded SQLite store and artifact folder)."""
    path = tmp_path / "loopline-home"
    monkeypatch.setenv("LOOPLINE_HOME", str(path))
    monkeypatch.delenv("LOOPLINE_DATABASE_URL", raising=False)
    monkeypatch.delenv("LOOPLINE_ARTIFACTS_URL", raising=False)
    return path


@pytest.fixture
def runner(home: Path) -> loopline.LocalRunner:
    return loopline.LocalRunner(home=home, echo=False)


@pytest.fixture
def client(home: Path, runner: loopline.LocalRunner) -> Iterator[loopline.Client]:
    metadata, artifacts = runner.stores()
    yield loopline.Client(metadata=metadata, artifacts=artifacts)


@pytest.fixture
def stores(runner: loopline.LocalRunner) -> tuple[MetadataStore, ArtifactStore]:
    return runner.stores()


def states(client: loopline.Client, **filters: object) -> dict[str, RunState]:
    """name -> state of the runs matching `filters` (helper for assertions)."""
    return {run.name: run.state for run in client.runs(limit=10_000, **filters)}  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3-compatible server (moto) on 127.0.0.1, for the whole session."""
    with running_s3_server() as server:
        yield server


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> S3Bucket:
    """An empty bucket of its own for this test: `.url` (s3://...), `.storage_options` for
    fsspec, `.env` (AWS_* variables pointing at the server), `.filesystem()`."""
    return s3_server.create_bucket()


@pytest.fixture(scope="session")
def kernelspec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Jupyter kernel spec of this interpreter (skips without nbclient and ipykernel)."""
    yield from kernelspec_folder(tmp_path_factory)


@pytest.fixture
def kernel(kernelspec: str, home: Path, tmp_path: Path) -> Kernel:
    """Runs notebooks on fresh kernels, tracking into this test's LOOPLINE_HOME."""
    return Kernel(kernelspec, home, tmp_path)
