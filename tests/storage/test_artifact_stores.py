"""The ArtifactStore conformance suite, run against every backend."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from loopline.core.serialization import encode
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

    @pytest.mark.parametrize("size", [10, 300 * 1024])  # hashed before writing, and while writing
    def test_putting_bytes_it_holds_counts_as_a_write(self, store: LocalArtifactStore, size: int) -> None:
        artifact_id = store.put(encode(b"x" * size))
        os.utime(store.path(artifact_id), (1_000_000, 1_000_000))  # written long ago
        assert store.written_at(artifact_id) == 1_000_000
        assert store.put(encode(b"x" * size)) == artifact_id
        assert (store.written_at(artifact_id) or 0) > time.time() - 60

    def test_only_old_partial_writes_are_discarded(self, store: LocalArtifactStore) -> None:
        old, fresh = store.root / "tmp" / "123-dead", store.root / "tmp" / "456-busy"
        old.write_bytes(b"half")
        fresh.write_bytes(b"half")
        os.utime(old, (1_000_000, 1_000_000))
        assert store.discard_partial_writes(3600) == 1
        assert self.leftovers(store) == ["456-busy"]


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
