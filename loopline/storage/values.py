"""Small artifacts packed as rows of a table, instead of one file (or object) each.

On a local disk a file per value costs a 4 KiB block and a file creation (~140 us); a row costs
its bytes and ~20 us, up to about 16 KiB, where files start to win (`benchmarks/small_values.py`
measures it). `TieredArtifactStore` keeps values of at most `SMALL_MAX` bytes in a `ValueTable`
and larger ones in a blob store (a folder, written straight from memory, or an object store),
behind the one `ArtifactStore` protocol: nothing above the storage layer knows which tier holds
a value, ids are the same SHA-256 of the same bytes, and readers check the hash wherever the
bytes come from.

- `SqliteValueTable`: the table in a SQLite file, on the standard library's sqlite3 (a local
  artifact folder's own `values.sqlite`, or the embedded metadata database).
- `loopline.storage.sql.values.SqlValueTable`: the table in any SQL database through SQLAlchemy
  (PostgreSQL beside a team's object store).
"""

from __future__ import annotations

import io
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from loopline.core.hashing import digest_chunks
from loopline.core.serialization import Encoded
from loopline.storage.artifacts import VerifyingReader, check_artifact_id, is_artifact_id
from loopline.storage.base import ArtifactReader, ArtifactStore
from loopline.storage.sql.pragmas import LOOKUP_CACHE_KIB, configure_sqlite_connection

SMALL_MAX = 16 * 1024  # bytes: values up to this size are rows, larger ones blobs
VALUES_FILE = "values.sqlite"  # a local artifact folder's table of small values
TABLE = "artifact_values"
VACUUM_EVERY = 1000  # rows deleted before the file gives their space back


class ValueTable(Protocol):
    """Small artifacts' bytes by id, with when each was last put."""

    url: str  # where the table lives, as `open_artifact_store` understands it

    def put(self, artifact_id: str, data: bytes) -> None:
        """Insert the bytes (an id already there gets them again: that repairs a corrupted row)
        and mark them as just put."""

    def get(self, artifact_id: str) -> bytes | None: ...

    def has(self, artifact_id: str) -> bool: ...

    def delete(self, artifact_ids: Sequence[str]) -> None: ...

    def ids(self) -> Iterator[str]: ...

    def written_at(self, artifact_id: str) -> float | None: ...

    def close(self) -> None: ...


class SqliteValueTable:
    """The table in a SQLite file. `create=True`: the file is the table's own (a local artifact
    folder's), made on the first put; otherwise a migration made the table (the metadata
    database's). One connection, opened on first use and shared by this process's threads."""

    def __init__(self, path: str, *, create: bool, durable: bool = False) -> None:
        self.path = path
        self.url = path
        self.create = create
        self.durable = durable
        self._connection: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._deleted = 0  # rows deleted since the last vacuum

    def _open(self, *, for_writing: bool) -> sqlite3.Connection | None:
        """The connection (None when there is nothing to read yet); call with the lock held."""
        if self._pid != os.getpid():  # a forked child must not use its parent's connection
            self._connection, self._pid = None, os.getpid()
        if self._connection is None:
            # (`os.path.exists`, a stat: opening and closing the file would drop this process's
            # POSIX locks on it, which its other SQLite connections rely on.)
            if self.create and not for_writing and not os.path.exists(self.path):
                return None
            connection = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
            if self.create:
                connection.execute("PRAGMA auto_vacuum=INCREMENTAL")  # takes effect in a new file only
            configure_sqlite_connection(connection, cache_kib=LOOKUP_CACHE_KIB)
            if self.durable:
                connection.execute("PRAGMA synchronous=FULL")
            if self.create:
                connection.execute(
                    f"CREATE TABLE IF NOT EXISTS {TABLE} "
                    "(id VARCHAR(64) NOT NULL PRIMARY KEY, data BLOB NOT NULL, written_at FLOAT NOT NULL)"
                )
            self._connection = connection
        return self._connection

    def put(self, artifact_id: str, data: bytes) -> None:
        with self._lock:
            connection = self._open(for_writing=True)
            assert connection is not None
            connection.execute(
                f"INSERT INTO {TABLE} (id, data, written_at) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET data = excluded.data, written_at = excluded.written_at",
                (artifact_id, data, time.time()),
            )

    def _one(self, sql: str, artifact_id: str) -> tuple[Any, ...] | None:
        with self._lock:
            connection = self._open(for_writing=False)
            if connection is None:
                return None
            row: tuple[Any, ...] | None = connection.execute(sql, (artifact_id,)).fetchone()
            return row

    def get(self, artifact_id: str) -> bytes | None:
        row = self._one(f"SELECT data FROM {TABLE} WHERE id = ?", artifact_id)
        return None if row is None else bytes(row[0])

    def has(self, artifact_id: str) -> bool:
        return self._one(f"SELECT 1 FROM {TABLE} WHERE id = ?", artifact_id) is not None

    def written_at(self, artifact_id: str) -> float | None:
        row = self._one(f"SELECT written_at FROM {TABLE} WHERE id = ?", artifact_id)
        return None if row is None else float(row[0])

    def delete(self, artifact_ids: Sequence[str]) -> None:
        ids = list(artifact_ids)
        with self._lock:
            connection = self._open(for_writing=False)
            if connection is None or not ids:
                return
            connection.execute("BEGIN IMMEDIATE")
            try:
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    connection.execute(
                        f"DELETE FROM {TABLE} WHERE id IN ({', '.join('?' * len(chunk))})", chunk
                    )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            self._deleted += len(ids)
            if self.create and self._deleted >= VACUUM_EVERY:
                self._vacuum(connection)

    def _vacuum(self, connection: sqlite3.Connection) -> None:
        """Give the pages deletes freed back to the disk (`executescript`: it runs the pragma to
        its end, where `execute` would free one page). Until then, new values reuse them."""
        connection.executescript("PRAGMA incremental_vacuum")
        self._deleted = 0

    def ids(self) -> Iterator[str]:
        with self._lock:
            connection = self._open(for_writing=False)
            rows = [] if connection is None else connection.execute(f"SELECT id FROM {TABLE}").fetchall()
        yield from (str(row[0]) for row in rows)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                if self.create and self._deleted:
                    self._vacuum(self._connection)
                self._connection.close()
                self._connection = None


_ROW_FIX = "Rerun the step that produced it (`loopline run --no-cache ...`): that writes its bytes again"


class TieredArtifactStore:
    """Values of at most `small_max` bytes in `small`, larger ones in `large`."""

    def __init__(
        self, small: ValueTable, large: ArtifactStore, *, small_max: int = SMALL_MAX, url: str | None = None
    ) -> None:
        self.small = small
        self.large = large
        self.small_max = small_max
        self.url = url or large.url

    def put(self, encoded: Encoded) -> str:
        if encoded.size > self.small_max:
            return self.large.put(encoded)
        data = encoded.to_bytes()
        artifact_id = digest_chunks([data])
        self.small.put(artifact_id, data)
        return artifact_id

    def open(self, artifact_id: str) -> ArtifactReader:
        data = self.small.get(check_artifact_id(artifact_id))
        if data is None:
            return self.large.open(artifact_id)
        return VerifyingReader(
            io.BytesIO(data), artifact_id, f"{self.small.url} (table {TABLE})", fix=_ROW_FIX
        )

    def exists(self, artifact_id: str) -> bool:
        return is_artifact_id(artifact_id) and (self.small.has(artifact_id) or self.large.exists(artifact_id))

    def delete(self, artifact_id: str) -> None:
        check_artifact_id(artifact_id)
        self.small.delete([artifact_id])
        self.large.delete(artifact_id)

    def ids(self) -> Iterator[str]:
        yield from self.small.ids()
        yield from self.large.ids()

    def written_at(self, artifact_id: str) -> float | None:
        small = self.small.written_at(artifact_id)
        return small if small is not None else self.large.written_at(artifact_id)

    def flush(self) -> None:
        self.large.flush()

    def discard_partial_writes(self, older_than_s: float) -> int:
        return self.large.discard_partial_writes(older_than_s)  # a row is never half-written

    def close(self) -> None:
        self.small.close()
