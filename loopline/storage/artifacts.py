"""Content-addressed artifact stores: a local folder, any fsspec URL, or memory.

Writes go to a temporary name while the hash is computed, then move into place under their
hash, so an artifact is either complete or absent. Readers hash what they read and compare at
the end, so a corrupted file is reported by name instead of silently loading wrong data.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from loopline.core import serialization
from loopline.core.hashing import StreamHasher, digest_chunks, new_hasher, pieces
from loopline.core.records import ArtifactRecord, utcnow
from loopline.core.serialization import Encoded
from loopline.core.summaries import summarize
from loopline.errors import ArtifactCorruptedError, ArtifactNotFoundError
from loopline.storage.base import ArtifactReader, ArtifactStore

_HEX = set("0123456789abcdef")


def is_artifact_id(text: str) -> bool:
    return len(text) == 64 and set(text) <= _HEX


def check_artifact_id(artifact_id: str) -> str:
    """Artifact ids are 64 lowercase hex digits; anything else (a path!) is refused."""
    if not is_artifact_id(artifact_id):
        raise ArtifactNotFoundError(f"{artifact_id!r} is not an artifact id (64 hex digits)")
    return artifact_id


_FILE_FIX = "Delete the file and rerun the step that produced it (`loopline run --no-cache ...`)"


class VerifyingReader:
    """Hashes everything read from `stream`; `verify()` checks the total against the id."""

    def __init__(self, stream: BinaryIO, artifact_id: str, where: str, *, fix: str = _FILE_FIX) -> None:
        self._stream = stream
        self._hasher = new_hasher()
        self.artifact_id = artifact_id
        self.where = where
        self.fix = fix

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._hasher.update(data)
        return data

    def readinto(self, buffer: memoryview) -> int:
        got = self._stream.readinto(buffer)  # type: ignore[attr-defined]
        if got:
            self._hasher.update(buffer[:got])
        return got or 0

    def verify(self) -> None:
        while chunk := self.read(1 << 20):
            del chunk
        if self._hasher.hexdigest() != self.artifact_id:
            raise ArtifactCorruptedError(
                f"artifact {self.artifact_id} is corrupted: its bytes at {self.where} no longer "
                f"match its hash. {self.fix}"
            )

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> VerifyingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def verified_chunks(reader: ArtifactReader, chunk: int = 1 << 20) -> Iterator[bytes]:
    """The reader's bytes in chunks of up to `chunk`, in flat memory, holding the last one back
    until the whole stream matches its hash: a corrupt artifact raises ArtifactCorruptedError
    before its final bytes go out (a streamed HTTP response is then cut short, never completed)."""
    try:
        held = reader.read(chunk)
        while following := reader.read(chunk):
            yield held
            held = following
        reader.verify()
        if held:
            yield held
    finally:
        reader.close()


_HASH_FIRST_BYTES = 256 * 1024


def _touch(path: Path) -> bool:
    """Mark an artifact file as just put (its bytes were put again); False when it is not there."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    except PermissionError:  # another user's file in a shared folder: it is there all the same
        return path.exists()
    return True


def _shard(artifact_id: str) -> str:
    return f"{artifact_id[:2]}/{artifact_id}"


class LocalArtifactStore:
    """Artifacts as files under a local folder: `<root>/<id[:2]>/<id>`."""

    def __init__(self, root: str | Path, *, durable: bool = False) -> None:
        self.root = Path(root).expanduser().resolve()
        self.url = str(self.root)
        self.durable = durable
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path(self, artifact_id: str) -> Path:
        return self.root / _shard(check_artifact_id(artifact_id))

    def put(self, encoded: Encoded) -> str:
        if encoded.size <= _HASH_FIRST_BYTES:
            # A small value is hashed before anything is written: one the store already holds
            # (a literal input, a repeated result) then costs a stat instead of a file.
            known = digest_chunks(encoded.chunks())
            if _touch(self.root / _shard(known)):
                return known
        tmp = self._tmp / f"{os.getpid()}-{secrets.token_hex(8)}"
        hasher = StreamHasher()  # hashes a large value's pieces while they are written
        try:
            with open(tmp, "wb", buffering=0) as out:
                for piece in pieces(encoded.chunks()):
                    hasher.update(piece)
                    view = piece
                    while view.nbytes:
                        written = out.write(view)
                        view = view[written:]
                if self.durable:
                    os.fsync(out.fileno())
            artifact_id = hasher.hexdigest()
            final = self.root / _shard(artifact_id)
            if _touch(final):
                tmp.unlink()
            else:
                final.parent.mkdir(exist_ok=True)
                os.replace(tmp, final)
            return artifact_id
        except BaseException:
            hasher.close()
            tmp.unlink(missing_ok=True)
            raise

    def open(self, artifact_id: str) -> ArtifactReader:
        path = self.path(artifact_id)
        try:
            stream = open(path, "rb")  # noqa: SIM115 - the reader owns and closes it
        except FileNotFoundError:
            raise ArtifactNotFoundError(f"artifact {artifact_id} is not in {self.root}") from None
        return VerifyingReader(stream, artifact_id, str(path))

    def exists(self, artifact_id: str) -> bool:
        return is_artifact_id(artifact_id) and self.path(artifact_id).exists()

    def delete(self, artifact_id: str) -> None:
        self.path(artifact_id).unlink(missing_ok=True)

    def ids(self) -> Iterator[str]:
        for shard in self.root.iterdir():
            if len(shard.name) == 2 and shard.is_dir():
                yield from (p.name for p in shard.iterdir() if len(p.name) == 64)

    def written_at(self, artifact_id: str) -> float | None:
        try:
            return self.path(artifact_id).stat().st_mtime
        except FileNotFoundError:
            return None

    def discard_partial_writes(self, older_than_s: float) -> int:
        limit = time.time() - older_than_s
        discarded = 0
        for tmp in self._tmp.iterdir():
            with contextlib.suppress(FileNotFoundError):  # a write that just finished
                if tmp.stat().st_mtime < limit:
                    tmp.unlink()
                    discarded += 1
        return discarded

    def flush(self) -> None:
        pass  # every put is written when it returns


class FsspecArtifactStore:
    """Artifacts under any fsspec URL (`s3://bucket/prefix`, `gcs://...`, `memory://...`)."""

    def __init__(self, url: str) -> None:
        import fsspec

        self.url = url.rstrip("/")
        self.fs, self._root = fsspec.core.url_to_fs(self.url)

    def _key(self, artifact_id: str) -> str:
        return f"{self._root}/{_shard(check_artifact_id(artifact_id))}"

    def put(self, encoded: Encoded) -> str:
        tmp = f"{self._root}/tmp/{secrets.token_hex(12)}"
        hasher = StreamHasher()
        try:
            with self.fs.open(tmp, "wb") as out:
                for piece in pieces(encoded.chunks()):
                    hasher.update(piece)
                    out.write(piece)
        except BaseException:
            hasher.close()
            if self.fs.exists(tmp):  # closing the file on the way out may have written it
                self.fs.rm(tmp)
            raise
        artifact_id = hasher.hexdigest()
        final = self._key(artifact_id)
        if self.fs.exists(final):
            self.fs.rm(tmp)
            with contextlib.suppress(NotImplementedError, OSError, ValueError):  # not every filesystem can
                self.fs.touch(final, truncate=False)
        else:
            self.fs.mv(tmp, final)
        return artifact_id

    def open(self, artifact_id: str) -> ArtifactReader:
        key = self._key(artifact_id)
        try:
            stream = self.fs.open(key, "rb")
        except FileNotFoundError:
            raise ArtifactNotFoundError(f"artifact {artifact_id} is not in {self.url}") from None
        return VerifyingReader(stream, artifact_id, key)

    def exists(self, artifact_id: str) -> bool:
        return is_artifact_id(artifact_id) and bool(self.fs.exists(self._key(artifact_id)))

    def delete(self, artifact_id: str) -> None:
        if self.exists(artifact_id):
            self.fs.rm(self._key(artifact_id))

    def ids(self) -> Iterator[str]:
        for path in self.fs.find(self._root):
            name = str(path).rsplit("/", 1)[-1]
            if len(name) == 64 and "/tmp/" not in str(path):
                yield name

    def written_at(self, artifact_id: str) -> float | None:
        return self._modified(self._key(artifact_id))

    def discard_partial_writes(self, older_than_s: float) -> int:
        limit = time.time() - older_than_s
        discarded = 0
        for path in self.fs.find(f"{self._root}/tmp"):
            modified = self._modified(path)
            if modified is not None and modified < limit:
                self.fs.rm(path)
                discarded += 1
        return discarded

    def flush(self) -> None:
        pass  # every put is written when it returns

    def _modified(self, key: str) -> float | None:
        try:
            return float(self.fs.modified(key).timestamp())
        except (NotImplementedError, OSError, ValueError, AttributeError):
            return None


class MemoryArtifactStore:
    """Artifacts in a dict; for tests and untracked runs."""

    def __init__(self) -> None:
        self.url = "memory"
        self._data: dict[str, bytes] = {}

    def put(self, encoded: Encoded) -> str:
        data = encoded.to_bytes()
        hasher = new_hasher()
        hasher.update(data)
        artifact_id = hasher.hexdigest()
        self._data.setdefault(artifact_id, data)
        return artifact_id

    def open(self, artifact_id: str) -> ArtifactReader:
        check_artifact_id(artifact_id)
        try:
            data = self._data[artifact_id]
        except KeyError:
            raise ArtifactNotFoundError(f"artifact {artifact_id} is not in memory") from None
        return VerifyingReader(io.BytesIO(data), artifact_id, "memory")

    def exists(self, artifact_id: str) -> bool:
        return artifact_id in self._data

    def delete(self, artifact_id: str) -> None:
        self._data.pop(artifact_id, None)

    def ids(self) -> Iterator[str]:
        return iter(list(self._data))

    def written_at(self, artifact_id: str) -> float | None:
        return None  # one process's memory: no run elsewhere can be putting it

    def discard_partial_writes(self, older_than_s: float) -> int:
        return 0  # writes to memory are never partial

    def flush(self) -> None:
        pass  # every put is written when it returns


SERVER_SCHEME = "loopline+"  # loopline+http://host:8707: the artifact store of a Loopline server


def store_address(store: ArtifactStore) -> tuple[str, str | None]:
    """How another process opens the same store (`embedded.open_artifact_store`): its URL, and
    the API key a server's needs."""
    connection = getattr(store, "connection", None)
    return store.url, getattr(connection, "api_key", None)


def store_value(value: Any, artifacts: ArtifactStore) -> ArtifactRecord:
    """Encode and write `value`; returns the record to put in the metadata store."""
    encoded = serialization.encode(value)
    artifact_id = artifacts.put(encoded)
    return ArtifactRecord(artifact_id, encoded.type_name, encoded.size, summarize(value), utcnow())


def load_value(artifact_id: str, artifacts: ArtifactStore) -> Any:
    """Read and decode an artifact, checking its hash."""
    reader = artifacts.open(artifact_id)
    try:
        try:
            value = serialization.decode(reader)
        except Exception:
            reader.verify()  # corruption explains a decode failure better than the decode error
            raise
        reader.verify()
        return value
    finally:
        reader.close()
