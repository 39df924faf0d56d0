"""Fixtures shared by the whole suite: a temporary LOOPLINE_HOME and runners that use it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import loopline
from loopline.core.records import RunState
from loopline.storage.base import ArtifactStore, MetadataStore

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
