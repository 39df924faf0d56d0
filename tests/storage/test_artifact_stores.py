"""The ArtifactStore conformance suite, run against every backend."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from loopline.core.records import WriteBatch
from loopline.core.serialization import encode
from loopline.errors import LooplineError
from loopline.storage.artifacts import (
    FsspecArtifactStore,
    LocalArtifactStore,
    MemoryArtifactStore,
    store_value,
)
from loopline.storage.embedded import open_artifact_store
from loopline.storage.remote.artifacts import HttpArtifactStore
from loopline.storage.remote.client import VALUES_PATH, frame_values
from loopline.storage.remote.metadata import HttpMetadataStore
from loopline.storage.sql.database import create_sql_engine
from loopline.storage.sql.values import SqlValueTable
from loopline.storage.values import TABLE, SqliteValueTable, TieredArtifactStore
from loopline.team.records import Role
from tests.storage.artifact_conformance import ArtifactStoreConformance
from tests.team_server import TeamServer, team_server


def local_corrupt(store: LocalArtifactStore, artifact_id: str, data: bytes) -> None:
    store.path(artifact_id).write_bytes(data)


def local_leftovers(store: LocalArtifactStore) -> list[str]:
    return [p.name for p in (store.root / "tmp").iterdir()]


def fsspec_root(store: FsspecArtifactStore) -> str:
    return str(fsspec.core.url_to_fs(store.url)[1])


def fsspec_corrupt(store: FsspecArtifactStore, artifact_id: str, data: bytes) -> None:
    [path] = [p for p in store.fs.find(fsspec_root(store)) if p.endswith(artifact_id)]
    store.fs.pipe_file(path, data)


def fsspec_leftovers(store: FsspecArtifactStore) -> list[str]:
    return [p for p in store.fs.find(fsspec_root(store)) if "/tmp/" in p]


def fsspec_clean(store: FsspecArtifactStore) -> None:
    if store.fs.exists(fsspec_root(store)):  # fsspec's memory file system outlives the test
        store.fs.rm(fsspec_root(store), recursive=True)


class TestLocalArtifactStore(ArtifactStoreConformance):
    """A folder of files (every value a file, as before the table of small values)."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> LocalArtifactStore:
        return LocalArtifactStore(tmp_path / "artifacts")

    def corrupt(self, store: LocalArtifactStore, artifact_id: str, data: bytes) -> None:
        local_corrupt(store, artifact_id, data)

    def leftovers(self, store: LocalArtifactStore) -> list[str]:
        return local_leftovers(store)

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


def corrupt_tiered(store: TieredArtifactStore, artifact_id: str, data: bytes) -> None:
    """Overwrite the bytes of a stored artifact, in whichever tier holds it."""
    if not store.small.has(artifact_id):
        if isinstance(store.large, LocalArtifactStore):
            local_corrupt(store.large, artifact_id, data)
        else:
            assert isinstance(store.large, FsspecArtifactStore)
            fsspec_corrupt(store.large, artifact_id, data)
    elif isinstance(store.small, SqliteValueTable):
        with sqlite3.connect(store.small.path) as connection:
            connection.execute(f"UPDATE {TABLE} SET data = ? WHERE id = ?", (data, artifact_id))
    else:
        assert isinstance(store.small, SqlValueTable)
        with store.small.engine.begin() as connection:
            connection.exec_driver_sql(
                f"UPDATE {TABLE} SET data = %(d)s WHERE id = %(i)s", {"d": data, "i": artifact_id}
            )


class TestTheLocalFolder(ArtifactStoreConformance):
    """The embedded default: small values in the folder's `values.sqlite`, large ones as files."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> TieredArtifactStore:
        store = open_artifact_store(tmp_path / "artifacts")
        assert isinstance(store, TieredArtifactStore)
        return store

    def corrupt(self, store: TieredArtifactStore, artifact_id: str, data: bytes) -> None:
        corrupt_tiered(store, artifact_id, data)

    def leftovers(self, store: TieredArtifactStore) -> list[str]:
        assert isinstance(store.large, LocalArtifactStore)
        return local_leftovers(store.large)

    def test_putting_a_small_value_again_counts_as_a_write(self, store: TieredArtifactStore) -> None:
        artifact_id = store.put(encode(1))
        assert isinstance(store.small, SqliteValueTable)
        with sqlite3.connect(store.small.path) as connection:
            connection.execute(f"UPDATE {TABLE} SET written_at = 1000000")
        assert store.written_at(artifact_id) == 1_000_000
        store.put(encode(1))
        assert (store.written_at(artifact_id) or 0) > time.time() - 60

    def test_putting_a_corrupted_small_value_again_repairs_it(self, store: TieredArtifactStore) -> None:
        artifact_id = store.put(encode([1, 2, 3]))
        self.corrupt(store, artifact_id, b"garbage")
        store.put(encode([1, 2, 3]))
        assert self.read_all(store, artifact_id) == encode([1, 2, 3]).to_bytes()

    def test_deleted_small_values_give_their_space_back(self, store: TieredArtifactStore) -> None:
        assert isinstance(store.small, SqliteValueTable)
        ids = [store.put(encode(b"v" * 10_000 + bytes([i % 256, i // 256]))) for i in range(300)]
        full = Path(store.small.path).stat().st_size
        for artifact_id in ids:
            store.delete(artifact_id)
        store.small.close()  # folds the write-ahead log into the file
        assert Path(store.small.path).stat().st_size < full / 10


class TestObjectStoreWithValuesInSqlite(ArtifactStoreConformance):
    """Large values on an object store (fsspec's in-memory one), small ones in the metadata
    database's `artifact_values` table (a migrated SQLite file)."""

    @pytest.fixture
    def store(self, sqlite_url: str) -> Iterator[TieredArtifactStore]:
        store = open_artifact_store(f"memory://loopline-{uuid.uuid4().hex}/artifacts#values={sqlite_url}")
        assert isinstance(store, TieredArtifactStore)
        yield store
        assert isinstance(store.large, FsspecArtifactStore)
        fsspec_clean(store.large)

    def corrupt(self, store: TieredArtifactStore, artifact_id: str, data: bytes) -> None:
        corrupt_tiered(store, artifact_id, data)

    def leftovers(self, store: TieredArtifactStore) -> list[str]:
        assert isinstance(store.large, FsspecArtifactStore)
        return fsspec_leftovers(store.large)


@pytest.mark.postgres
class TestObjectStoreWithValuesInPostgres(TestObjectStoreWithValuesInSqlite):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[TieredArtifactStore]:  # type: ignore[override]
        objects = FsspecArtifactStore(f"memory://loopline-{uuid.uuid4().hex}/artifacts")
        store = TieredArtifactStore(SqlValueTable(create_sql_engine(postgres_url), postgres_url), objects)
        yield store
        store.close()
        fsspec_clean(objects)


class TestFsspecArtifactStore(ArtifactStoreConformance):
    """On fsspec's in-memory file system, which behaves like an object store."""

    @pytest.fixture
    def store(self) -> Iterator[FsspecArtifactStore]:
        store = FsspecArtifactStore(f"memory://loopline-{uuid.uuid4().hex}/artifacts")
        yield store
        self.clean(store)

    @staticmethod
    def clean(store: FsspecArtifactStore) -> None:
        if store.fs.exists(
            TestFsspecArtifactStore.root(store)
        ):  # fsspec's memory file system outlives the test
            store.fs.rm(TestFsspecArtifactStore.root(store), recursive=True)

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


@pytest.fixture(scope="module")
def artifact_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamServer]:
    with team_server(tmp_path_factory.mktemp("server") / "home") as server:
        yield server


class TestHttpArtifactStore(ArtifactStoreConformance):
    """Through a real `loopline server` with auth on, for workers without object-store credentials
    (small values sent in batches, as a runner's are)."""

    defer_small = True

    @pytest.fixture
    def store(self, artifact_server: TeamServer) -> Iterator[HttpArtifactStore]:
        backing = artifact_server.state.artifacts
        assert isinstance(backing, TieredArtifactStore) and isinstance(backing.large, LocalArtifactStore)
        for artifact_id in list(backing.ids()):
            backing.delete(artifact_id)
        self.backing = backing  # the server's own store, which corrupt() and leftovers() look at
        connection = artifact_server.connection(Role.ADMIN, retry_for_s=0.5)
        yield HttpArtifactStore(connection, defer_small=self.defer_small)
        connection.close()

    def corrupt(self, store: HttpArtifactStore, artifact_id: str, data: bytes) -> None:
        store.flush()  # the server's copy is the one corrupted
        corrupt_tiered(self.backing, artifact_id, data)

    def leftovers(self, store: HttpArtifactStore) -> list[str]:
        assert isinstance(self.backing.large, LocalArtifactStore)
        return local_leftovers(self.backing.large)


class TestHttpArtifactStoreOfAWorker(TestHttpArtifactStore):
    """A worker process's: every value sent when it is put."""

    defer_small = False


def test_a_runners_small_values_reach_the_server_before_the_records_that_name_them(
    artifact_server: TeamServer,
) -> None:
    runner_side = artifact_server.connection(Role.ADMIN, retry_for_s=0.5)
    elsewhere = HttpArtifactStore(artifact_server.connection(Role.ADMIN, retry_for_s=0.5), defer_small=False)
    artifacts = HttpArtifactStore(runner_side)
    artifact_id = artifacts.put(encode(41))
    assert artifacts.exists(artifact_id) and artifacts.open(artifact_id).read() == encode(41).to_bytes()
    assert not elsewhere.exists(artifact_id)  # not sent yet: it goes with the next batch of records
    HttpMetadataStore(runner_side).write(WriteBatch(artifacts=[store_value(41, MemoryArtifactStore())]))
    assert elsewhere.exists(artifact_id)
    reader = elsewhere.open(artifact_id)
    assert reader.read() == encode(41).to_bytes()
    reader.verify()
    runner_side.close()


def test_a_batch_of_values_with_a_wrong_hash_stores_none_of_them(artifact_server: TeamServer) -> None:
    connection = artifact_server.connection(Role.ADMIN, retry_for_s=0.5)
    good = encode("good").to_bytes()
    good_id = hashlib.sha256(good).hexdigest()
    body = frame_values({good_id: good, "0" * 64: b"not what the id says"})
    with pytest.raises(LooplineError, match="refused"):
        connection.request("POST", VALUES_PATH, content=body)
    with pytest.raises(LooplineError, match="malformed"):
        connection.request("POST", VALUES_PATH, content=body[:-3])
    with pytest.raises(LooplineError, match="at least one"):
        connection.request("POST", VALUES_PATH, content=b"")
    assert not HttpArtifactStore(connection, defer_small=False).exists(good_id)
    connection.close()
