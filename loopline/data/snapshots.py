"""`Snapshot`: a table captured into one Parquet file, and `snapshot()`, which captures one.

    rows = snapshot(Query("SELECT * FROM reviews ORDER BY id", url="duckdb:///warehouse.duckdb"))
    rows.num_rows, rows.schema, rows.origin         # 1200, id: int64 ..., query on duckdb:///...
    rows.to_pandas(); rows.to_polars(); rows.to_arrow(); rows.batches(10_000)

Capturing streams the source's record batches into a Parquet file (pyarrow, zstd) in row groups of
the source's `batch_rows` rows, whatever size the batches arrive in, while the next batches are
read (reading and encoding overlap on two threads). Memory stays bounded by a few row groups.
The file depends only on the rows, their order, their types and `batch_rows`: the same table
gives the same bytes (and so, stored as an artifact, the same id and a cache hit), a changed
table other bytes.

A snapshot lives in a temporary file until it is stored; one loaded from the artifact store is
copied out to a temporary file too. Either is deleted when the Snapshot is garbage collected.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import queue
import tempfile
import threading
import weakref
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopline.core.records import utcnow
from loopline.data.sources import DEFAULT_BATCH_ROWS, TableOrigin, TableSource
from loopline.errors import DataSourceError, UsageError

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    import pyarrow as pa

ROW_GROUP_BYTES = 128 * 1024 * 1024  # a row group ends early (at a batch's end) past this size
DICTIONARY_RATIO = 0.2  # columns whose first row group has at most this share of distinct values
# zstd at its fastest level: about as fast to write as snappy, and text (ids, hashes, words)
# comes out about half the size, which halves hashing and copying it into the store.
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 1
_PREFETCH = 1  # row groups waiting for the writer


class Snapshot:
    """An immutable table: the rows of a source at one moment, in a Parquet file.

    Funcs take it in the form their annotation names (`pd.DataFrame`, `pl.DataFrame`,
    `pa.Table`, `Iterator[pa.RecordBatch]`, or `Snapshot` itself); stored, it is an artifact
    whose id is the hash of its rows, schema and origin.
    """

    __slots__ = ("__weakref__", "_finalizer", "_metadata", "origin", "path", "taken_at")

    def __init__(self, path: str | Path, origin: TableOrigin, *, taken_at: dt.datetime | None = None) -> None:
        """Wrap the Parquet file at `path` (it becomes the snapshot's: deleted with it)."""
        self.path = str(path)
        self.origin = origin
        self.taken_at = taken_at  # when it was captured in this process (a stored one: see its artifact)
        self._metadata: Any = None
        self._finalizer = weakref.finalize(self, _remove, self.path)

    # -- what it holds ---------------------------------------------------------------------------

    @property
    def metadata(self) -> Any:
        """The Parquet file's metadata (pyarrow.parquet.FileMetaData)."""
        if self._metadata is None:
            import pyarrow.parquet as pq

            self._metadata = pq.read_metadata(self.path)
        return self._metadata

    @property
    def schema(self) -> pa.Schema:
        return self.metadata.schema.to_arrow_schema()

    @property
    def num_rows(self) -> int:
        return int(self.metadata.num_rows)

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    @property
    def nbytes(self) -> int:
        """The size of its Parquet file."""
        return os.path.getsize(self.path)

    def __len__(self) -> int:
        return self.num_rows

    def __repr__(self) -> str:
        return f"<Snapshot {self.num_rows} rows x {len(self.schema)} columns>"

    # -- reading ---------------------------------------------------------------------------------

    @property
    def batch_rows(self) -> int:
        """Rows per row group of its file (the source's `batch_rows`; the last one may be shorter)."""
        groups = self.metadata.num_row_groups
        return max((int(self.metadata.row_group(0).num_rows) if groups else 0), 1)

    def batches(
        self, batch_rows: int | None = None, columns: list[str] | None = None
    ) -> Generator[pa.RecordBatch, None, None]:
        """The rows as record batches of at most `batch_rows` rows (default: one per row group,
        i.e. the source's batch_rows), read from the file as they are consumed."""
        import pyarrow.parquet as pq

        if batch_rows is not None and (not isinstance(batch_rows, int) or batch_rows < 1):
            raise UsageError(
                f"Snapshot.batches(batch_rows=...) must be a positive number, got {batch_rows!r}"
            )
        # pre_buffer=False: pre-buffering keeps every row group read so far (memory grows with the file).
        with pq.ParquetFile(self.path, pre_buffer=False) as parquet:
            yield from parquet.iter_batches(batch_size=batch_rows or self.batch_rows, columns=columns)

    def reader(self, batch_rows: int | None = None) -> pa.RecordBatchReader:
        """The rows as a `pyarrow.RecordBatchReader` (streamed, like `batches`)."""
        import pyarrow as pa

        return pa.RecordBatchReader.from_batches(self.schema, self.batches(batch_rows))

    def to_arrow(self, columns: list[str] | None = None) -> pa.Table:
        import pyarrow.parquet as pq

        return pq.read_table(self.path, columns=columns)

    def to_pandas(self, columns: list[str] | None = None) -> pd.DataFrame:
        return self.to_arrow(columns).to_pandas()

    def to_polars(self, columns: list[str] | None = None) -> pl.DataFrame:
        import polars as pl

        return pl.read_parquet(self.path, columns=columns)

    def head(self, rows: int = 5) -> pa.Table:
        import pyarrow as pa

        with contextlib.closing(self.batches(max(rows, 1))) as batches:
            first = next(batches, None)
        return pa.Table.from_batches([first] if first is not None else [], schema=self.schema).slice(0, rows)

    # -- pickling: by content, for the rare value that travels inside a pickled object ----------

    def __reduce__(self) -> Any:
        return (_from_bytes, (Path(self.path).read_bytes(), self.origin.to_json()))


def _from_bytes(data: bytes, origin: dict[str, Any]) -> Snapshot:
    path = new_snapshot_path()
    Path(path).write_bytes(data)
    return Snapshot(path, TableOrigin.from_json(origin))


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def new_snapshot_path() -> str:
    handle, path = tempfile.mkstemp(prefix="loopline-snapshot-", suffix=".parquet")
    os.close(handle)
    return path


# -- capturing --------------------------------------------------------------------------------------


def snapshot(source: TableSource | Snapshot | Any) -> Snapshot:
    """Capture a source (`Query`, `Table`, `Files`) or an in-memory table (a pandas or polars
    DataFrame, a pyarrow Table) into a Snapshot. A Snapshot is returned as it is."""
    if isinstance(source, Snapshot):
        return source
    if isinstance(source, TableSource):
        with source.open() as stream:
            return write_snapshot(stream.schema, stream.batches, stream.origin, source.batch_rows)
    table = frame_as_arrow(source)
    if table is None:
        raise UsageError(
            f"cannot snapshot a {type(source).__qualname__}: give a Query, Table or Files, or a "
            "pandas/polars DataFrame or pyarrow Table"
        )
    return write_snapshot(table.schema, iter(table.to_batches()), TableOrigin("frame"), DEFAULT_BATCH_ROWS)


def frame_as_arrow(value: Any) -> pa.Table | None:
    """An in-memory table (pyarrow, pandas, polars) as a pyarrow Table; None for other values."""
    module = type(value).__module__.partition(".")[0]
    if module == "pyarrow":
        import pyarrow as pa

        if isinstance(value, pa.Table):
            return value
        if isinstance(value, pa.RecordBatch):
            return pa.Table.from_batches([value])
    elif module == "pandas" and type(value).__name__ == "DataFrame":
        import pyarrow as pa

        return pa.Table.from_pandas(value, preserve_index=False)
    elif module == "polars" and type(value).__name__ == "DataFrame":
        return value.to_arrow()
    return None


def write_snapshot(
    schema: pa.Schema, batches: Iterator[pa.RecordBatch], origin: TableOrigin, batch_rows: int
) -> Snapshot:
    """Write the batches into a new snapshot file in row groups of `batch_rows` rows
    (DataSourceError, or the source's own error, if reading fails; the partial file is removed)."""
    path = new_snapshot_path()
    try:
        with _ParquetSink(path, schema.remove_metadata(), batch_rows) as sink:
            for group in _row_groups(batches, schema, batch_rows):
                sink.write(group)
    except BaseException:
        _remove(path)
        raise
    return Snapshot(path, origin, taken_at=utcnow())


def _row_groups(batches: Iterator[pa.RecordBatch], schema: pa.Schema, group_rows: int) -> Iterator[pa.Table]:
    """The rows in tables of exactly `group_rows` rows (the last one shorter), or fewer when
    ROW_GROUP_BYTES is reached at the end of a batch: the layout does not depend on how the
    source happened to batch its rows."""
    import pyarrow as pa

    bare = schema.remove_metadata()
    pending: list[pa.RecordBatch] = []
    rows = size = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        if not batch.schema.equals(bare):
            batch = _conformed(batch, bare)
        pending.append(batch)
        rows += batch.num_rows
        size += batch.nbytes
        while rows >= group_rows or (size >= ROW_GROUP_BYTES and rows):
            table = pa.Table.from_batches(pending, schema=bare)
            take = min(rows, group_rows)
            yield table.slice(0, take)
            rest = table.slice(take)
            pending = rest.to_batches()
            rows = rest.num_rows
            size = rest.nbytes if rows else 0
    if rows:
        yield pa.Table.from_batches(pending, schema=bare)


def _conformed(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    import pyarrow as pa

    try:
        return pa.RecordBatch.from_arrays(batch.columns, schema=schema)
    except (pa.ArrowException, ValueError):
        try:
            return batch.cast(schema)
        except (pa.ArrowException, ValueError) as exc:
            raise DataSourceError(
                f"the source changed its schema while it was read (to {batch.schema}, from {schema}): {exc}"
            ) from None


class _ParquetSink:
    """Writes row groups on a thread of its own, so the source is read while the last row
    group is encoded; `write` blocks when _PREFETCH row groups are waiting (bounded memory)."""

    def __init__(self, path: str, schema: pa.Schema, group_rows: int) -> None:
        self.path = path
        self.schema = schema
        self.group_rows = group_rows
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=_PREFETCH)
        self._error: BaseException | None = None
        self._writer: Any = None
        self._thread = threading.Thread(target=self._run, name="loopline-snapshot-writer", daemon=True)

    def __enter__(self) -> _ParquetSink:
        self._thread.start()
        return self

    def write(self, table: pa.Table) -> None:
        while True:
            if self._error is not None:
                raise self._error
            try:
                self._queue.put(table, timeout=0.1)
                return
            except queue.Full:
                continue

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        self._queue.put(None if error is None else _ABANDON)
        self._thread.join()
        if error is None and self._error is not None:
            raise self._error

    def _run(self) -> None:
        import pyarrow.parquet as pq

        try:
            while (table := self._queue.get()) is not None and table is not _ABANDON:
                if self._writer is None:
                    self._writer = pq.ParquetWriter(
                        self.path,
                        self.schema,
                        compression=COMPRESSION,
                        compression_level=COMPRESSION_LEVEL,
                        use_dictionary=_dictionary_columns(table),
                    )
                self._writer.write_table(table, row_group_size=self.group_rows)
            if table is None and self._writer is None:  # no rows: a file with the schema alone
                self._writer = pq.ParquetWriter(self.path, self.schema, compression=COMPRESSION)
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
            self._error = exc
            while self._queue.get() not in (None, _ABANDON):  # let the reading thread finish
                pass
        finally:
            if self._writer is not None:
                self._writer.close()


_ABANDON = object()


def _dictionary_columns(table: pa.Table) -> list[str]:
    """Columns worth dictionary encoding: few distinct values in the first row group. (Trying a
    dictionary on every column and falling back costs three times the encoding time.)"""
    import pyarrow as pa
    import pyarrow.compute as pc

    chosen = []
    for field, column in zip(table.schema, table.columns):
        kind = field.type
        if not (
            pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or pa.types.is_integer(kind)
            or pa.types.is_binary(kind)
            or pa.types.is_date(kind)
            or pa.types.is_boolean(kind)
            or pa.types.is_dictionary(kind)
        ):
            continue
        try:
            distinct = pc.count_distinct(column).as_py()
        except (pa.ArrowException, NotImplementedError):
            continue
        if pa.types.is_dictionary(kind) or distinct <= DICTIONARY_RATIO * max(len(column), 1):
            chosen.append(field.name)
    return chosen
