"""What every ArtifactStore must do. Each backend subclasses `ArtifactStoreConformance` and provides
the `store` fixture and a way to `corrupt` a stored artifact (see test_artifact_stores.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from loopline.core.serialization import Blob, Encoded, encode
from loopline.errors import ArtifactCorruptedError, ArtifactNotFoundError
from loopline.storage.artifacts import load_value, store_value, verified_chunks
from loopline.storage.base import ArtifactStore

BAD_IDS = {
    "traversal": "../../etc/passwd",
    "slash": "ab/" + "c" * 61,
    "absolute": "/" + "a" * 63,
    "upper case": "A" * 64,
    "short": "a" * 63,
    "long": "a" * 65,
    "empty": "",
    "dot dot": "..",
    "not hex": "g" * 64,
}


class FailingBuffers(list[bytes]):
    """Blob buffers whose writing fails halfway, as a full disk or a Ctrl-C would make it."""

    def __iter__(self) -> Iterator[bytes]:
        yield b"x" * 100_000
        raise OSError("disk full")


def failing_encoded() -> Encoded:
    return Encoded(encode(None).header, [Blob("bytes", {}, FailingBuffers())], "builtins:bytes")


class ArtifactStoreConformance:
    """Subclasses provide `store` (an empty store) and `corrupt(store, artifact_id, data)`."""

    @pytest.fixture
    def store(self) -> ArtifactStore:
        raise NotImplementedError

    def corrupt(self, store: Any, artifact_id: str, data: bytes) -> None:
        raise NotImplementedError

    @staticmethod
    def read_all(store: ArtifactStore, artifact_id: str) -> bytes:
        reader = store.open(artifact_id)
        try:
            data = reader.read()
            reader.verify()
            return data
        finally:
            reader.close()

    def test_implements_the_protocol(self, store: ArtifactStore) -> None:
        assert isinstance(store, ArtifactStore)

    def test_the_id_is_the_sha256_of_the_bytes(self, store: ArtifactStore) -> None:
        encoded = encode({"a": 1})
        assert store.put(encoded) == hashlib.sha256(encoded.to_bytes()).hexdigest()

    def test_put_then_open_gives_the_same_bytes(self, store: ArtifactStore) -> None:
        encoded = encode([b"\x00" * 1000, "text", 3.5])
        assert self.read_all(store, store.put(encoded)) == encoded.to_bytes()

    def test_values_roundtrip(self, store: ArtifactStore) -> None:
        record = store_value({"weights": [0.5, 1.5], "name": "m"}, store)
        assert load_value(record.id, store) == {"weights": [0.5, 1.5], "name": "m"}

    def test_store_value_describes_the_artifact(self, store: ArtifactStore) -> None:
        record = store_value([1, 2, 3], store)
        assert (record.type_name, record.summary["kind"]) == ("builtins:list", "list")
        assert record.size == encode([1, 2, 3]).size

    def test_the_same_bytes_are_stored_once(self, store: ArtifactStore) -> None:
        first, second = store.put(encode("same")), store.put(encode("same"))
        assert first == second and list(store.ids()) == [first]

    def test_ids_lists_every_artifact(self, store: ArtifactStore) -> None:
        ids = {store.put(encode(i)) for i in range(5)}
        assert set(store.ids()) == ids

    def test_exists(self, store: ArtifactStore) -> None:
        artifact_id = store.put(encode(1))
        assert store.exists(artifact_id) and not store.exists("f" * 64)

    def test_a_deleted_artifact_is_gone(self, store: ArtifactStore) -> None:
        artifact_id = store.put(encode(1))
        store.delete(artifact_id)
        assert not store.exists(artifact_id) and list(store.ids()) == []
        with pytest.raises(ArtifactNotFoundError):
            store.open(artifact_id)

    def test_deleting_an_unknown_artifact_does_nothing(self, store: ArtifactStore) -> None:
        store.delete("f" * 64)

    def test_an_unknown_artifact_raises_not_found_with_its_id(self, store: ArtifactStore) -> None:
        with pytest.raises(ArtifactNotFoundError, match="f" * 64):
            store.open("f" * 64)

    @pytest.mark.parametrize("bad_id", BAD_IDS.values(), ids=BAD_IDS.keys())
    def test_ids_that_are_not_hashes_are_refused(self, store: ArtifactStore, bad_id: str) -> None:
        with pytest.raises(ArtifactNotFoundError, match="not an artifact id"):
            store.open(bad_id)

    @pytest.mark.parametrize("bad_id", BAD_IDS.values(), ids=BAD_IDS.keys())
    def test_ids_that_are_not_hashes_do_not_exist(self, store: ArtifactStore, bad_id: str) -> None:
        assert not store.exists(bad_id)

    def test_a_write_that_fails_midway_leaves_nothing(self, store: ArtifactStore) -> None:
        with pytest.raises(OSError, match="disk full"):
            store.put(failing_encoded())
        assert list(store.ids()) == []
        assert self.leftovers(store) == []

    def leftovers(self, store: Any) -> list[str]:
        """Temporary files a backend left behind (none by default)."""
        return []

    def test_corrupted_bytes_are_reported_with_the_artifact_id(self, store: ArtifactStore) -> None:
        record = store_value(list(range(100)), store)
        data = self.read_all(store, record.id)
        self.corrupt(store, record.id, data[:-5] + b"XXXXX")
        with pytest.raises(ArtifactCorruptedError, match=record.id):
            load_value(record.id, store)

    def test_a_truncated_artifact_is_reported_as_corrupted(self, store: ArtifactStore) -> None:
        record = store_value(b"0123456789" * 100, store)
        self.corrupt(store, record.id, self.read_all(store, record.id)[:-100])
        with pytest.raises(ArtifactCorruptedError, match=record.id):
            load_value(record.id, store)

    def test_streamed_chunks_hold_back_the_end_of_a_corrupt_artifact(self, store: ArtifactStore) -> None:
        record = store_value(b"0123456789" * 1000, store)
        data = self.read_all(store, record.id)
        self.corrupt(store, record.id, data[:-5] + b"XXXXX")
        received = bytearray()
        with pytest.raises(ArtifactCorruptedError, match=record.id):
            for chunk in verified_chunks(store.open(record.id), chunk=1024):
                received += chunk
        assert len(received) < len(data)

    def test_streamed_chunks_of_a_sound_artifact_are_its_bytes(self, store: ArtifactStore) -> None:
        record = store_value(b"0123456789" * 1000, store)
        assert b"".join(verified_chunks(store.open(record.id), chunk=1024)) == self.read_all(store, record.id)

    def test_verify_reads_what_is_left(self, store: ArtifactStore) -> None:
        artifact_id = store.put(encode(b"abc" * 1000))
        reader = store.open(artifact_id)
        reader.read(10)
        reader.verify()
        reader.close()

    def test_a_large_array_roundtrips(self, store: ArtifactStore) -> None:
        np = pytest.importorskip("numpy")
        array = np.random.default_rng(0).random(6_500_000)  # 52 MB
        record = store_value(array, store)
        assert record.size > array.nbytes
        assert np.array_equal(load_value(record.id, store), array)
