"""Choosing an artifact store, the local layout, and reading values back."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest

from loopline.core.serialization import Encoded, encode
from loopline.errors import ArtifactCorruptedError, SerializationError, StoreError
from loopline.storage.artifacts import (
    FsspecArtifactStore,
    LocalArtifactStore,
    MemoryArtifactStore,
    load_value,
    store_value,
)
from loopline.storage.embedded import open_artifact_store
from loopline.storage.values import SqliteValueTable, TieredArtifactStore


def test_a_path_opens_a_local_folder_with_its_table_of_small_values(tmp_path: Path) -> None:
    store = open_artifact_store(tmp_path / "a")
    assert isinstance(store, TieredArtifactStore) and isinstance(store.large, LocalArtifactStore)
    assert isinstance(store.small, SqliteValueTable) and store.small.path == str(
        tmp_path / "a" / "values.sqlite"
    )
    assert store.url == str(tmp_path / "a")


def test_a_file_url_opens_a_local_store(tmp_path: Path) -> None:
    store = open_artifact_store(f"file://{tmp_path}")
    assert isinstance(store, TieredArtifactStore) and isinstance(store.large, LocalArtifactStore)


def test_another_url_opens_an_fsspec_store() -> None:
    assert isinstance(open_artifact_store(f"memory://{uuid.uuid4().hex}"), FsspecArtifactStore)


def test_an_object_store_with_a_database_keeps_small_values_in_it(sqlite_url: str) -> None:
    store = open_artifact_store(f"memory://{uuid.uuid4().hex}#values={sqlite_url}")
    assert isinstance(store, TieredArtifactStore) and isinstance(store.large, FsspecArtifactStore)
    assert open_artifact_store(store.url).url == store.url  # what a worker process opens


def test_the_local_folder_keeps_small_values_as_rows_and_large_ones_as_files(tmp_path: Path) -> None:
    store = open_artifact_store(tmp_path)
    small, large = store.put(encode(1)), store.put(encode(b"x" * 100_000))
    files = {p.name for p in tmp_path.glob("*/*") if p.is_file()}
    assert files == {large} and (tmp_path / "values.sqlite").is_file()
    assert load_value(small, store) == 1


def test_an_unknown_protocol_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot open artifact store 'nosuch://x'"):
        open_artifact_store("nosuch://x")


def test_local_artifacts_are_sharded_by_their_first_two_digits(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    artifact_id = store.put(encode("x"))
    assert (tmp_path / artifact_id[:2] / artifact_id).is_file()


def test_a_durable_store_writes_the_same_bytes(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path, durable=True)
    assert load_value(store_value([1, 2], store).id, store) == [1, 2]


def test_a_decode_error_of_intact_bytes_is_not_blamed_on_corruption() -> None:
    store = MemoryArtifactStore()
    artifact_id = store.put(Encoded(b"LLA1\x02\x00\x00\x00{}", [], "raw"))  # intact, but no value
    with pytest.raises(SerializationError, match="format version"):
        load_value(artifact_id, store)


def test_corruption_is_reported_before_a_decode_error(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    artifact_id = store.put(encode({"a": 1}))
    store.path(artifact_id).write_bytes(b"garbage")
    with pytest.raises(ArtifactCorruptedError, match="loopline run --no-cache"):
        load_value(artifact_id, store)


def test_a_reader_streams_in_chunks(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    encoded = encode(b"z" * 100_000)
    reader = store.open(store.put(encoded))
    buffer = io.BytesIO()
    while chunk := reader.read(4096):
        buffer.write(chunk)
    reader.verify()
    reader.close()
    assert buffer.getvalue() == encoded.to_bytes()
