"""The ArtifactStore conformance suite, run against every backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from loopline.storage.artifacts import FsspecArtifactStore, LocalArtifactStore, MemoryArtifactStore
from tests.storage.artifact_conformance import ArtifactStoreConformance


class TestLocalArtifactStore(ArtifactStoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> LocalArtifactStore:
        return LocalArtifactStore(tmp_path / "artifacts")

    def corrupt(self, store: LocalArtifactStore, artifact_id: str, data: bytes) -> None:
        store.path(artifact_id).write_bytes(data)

    def leftovers(self, store: LocalArtifactStore) -> list[str]:
        return [p.name for p in (store.root / "tmp").iterdir()]


class TestFsspecArtifactStore(ArtifactStoreConformance):
    """On fsspec's in-memory file system, which behaves like an object store."""

    @pytest.fixture
    def store(self) -> Iterator[FsspecArtifactStore]:
        store = FsspecArtifactStore(f"memory://loopline-{uuid.uuid4().hex}/artifacts")
        yield store
        if store.fs.exists(self.root(store)):  # fsspec's memory file system outlives the test
            store.fs.rm(self.root(store), recursive=True)

    @staticmethod
    def root(store: FsspecArtifactStore) -> str:
        return str(fsspec.core.url_to_fs(store.url)[1])

    def corrupt(self, store: FsspecArtifactStore, artifact_id: str, data: bytes) -> None:
        [path] = [p for p in store.fs.find(self.root(store)) if p.endswith(artifact_id)]
        store.fs.pipe_file(path, data)

    def leftovers(self, store: FsspecArtifactStore) -> list[str]:
        return [p for p in store.fs.find(self.root(store)) if "/tmp/" in p]


class TestMemoryArtifactStore(ArtifactStoreConformance):
    @pytest.fixture
    def store(self) -> MemoryArtifactStore:
        return MemoryArtifactStore()

    def corrupt(self, store: MemoryArtifactStore, artifact_id: str, data: bytes) -> None:
        store._data[artifact_id] = data
