"""Reading Parquet, Arrow (IPC/Feather) and CSV files on any fsspec URL as record batches.

Each file is streamed (Parquet a row group at a time, CSV a block at a time, Arrow a record
batch at a time) through fsspec, so local folders and object stores (`s3://`) read the same way.
Files are read in sorted order; every file must have the first file's columns, with types that
convert to the first file's without loss.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from loopline.data.urls import redact_url
from loopline.errors import DataSourceError

if TYPE_CHECKING:
    import pyarrow as pa

Batches = tuple["pa.Schema", Iterator["pa.RecordBatch"]]

_EXTENSIONS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}
_GLOB_CHARACTERS = set("*?[")
CSV_BLOCK_BYTES = 8 * 1024 * 1024
PARQUET_READ_BUFFER = 8 * 1024 * 1024


@contextlib.contextmanager
def file_batches(
    url: str, file_format: str | None, storage_options: dict[str, Any], batch_rows: int
) -> Iterator[tuple[pa.Schema, Iterator[pa.RecordBatch], tuple[str, ...]]]:
    """The schema of the first file, the batches of every file at `url` in sorted order, and
    the files (as URLs, to be recorded with a snapshot)."""
    fs, paths = _list_files(url, file_format, storage_options)
    formats = [file_format or _format_of(path, url) for path in paths]
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    named = tuple(path if protocol in ("file", "local") else f"{protocol}://{path}" for path in paths)
    with _open_one(fs, paths[0], formats[0], batch_rows, url) as (schema, first):
        yield schema, _all_batches(fs, paths, formats, batch_rows, url, schema, first), named


def _list_files(url: str, file_format: str | None, storage_options: dict[str, Any]) -> tuple[Any, list[str]]:
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(url, **storage_options)
    except (ImportError, ValueError, TypeError) as exc:
        raise DataSourceError(f"cannot open {redact_url(url)}: {exc}") from None
    try:
        if _GLOB_CHARACTERS & set(path):
            paths = sorted(p for p in fs.glob(path) if not fs.isdir(p))
        elif fs.isdir(path):
            paths = sorted(p for p in fs.find(path) if _wanted(p, file_format))
        elif fs.exists(path):
            paths = [path]
        else:
            paths = []
    except (OSError, PermissionError, ValueError) as exc:
        raise DataSourceError(f"cannot list {redact_url(url)}: {_reason(exc)}") from None
    if not paths:
        raise DataSourceError(
            f"no files at {redact_url(url)}: give a file, a folder of .parquet/.arrow/.csv files, "
            "or a glob such as s3://bucket/tables/*.parquet"
        )
    return fs, paths


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _wanted(path: str, file_format: str | None) -> bool:
    name = path.rsplit("/", 1)[-1]
    if name.startswith((".", "_")):  # _SUCCESS, .crc and friends
        return False
    found = _extension_format(path)
    return found is not None and (file_format is None or found == file_format)


def _extension_format(path: str) -> str | None:
    name = path.lower().removesuffix(".gz")
    return next((fmt for ext, fmt in _EXTENSIONS.items() if name.endswith(ext)), None)


def _format_of(path: str, url: str) -> str:
    found = _extension_format(path)
    if found is None:
        raise DataSourceError(
            f"cannot tell the format of {path} (from {redact_url(url)}) by its extension: give "
            "Files(..., format='parquet'), 'csv' or 'arrow'"
        )
    return found


def _all_batches(
    fs: Any,
    paths: list[str],
    formats: list[str],
    batch_rows: int,
    url: str,
    schema: pa.Schema,
    first: Iterator[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    yield from _guarded(first, paths[0])
    for path, file_format in zip(paths[1:], formats[1:]):
        with _open_one(fs, path, file_format, batch_rows, url) as (file_schema, batches):
            conform = _conformer(schema, file_schema, path, paths[0])
            for batch in _guarded(batches, path):
                yield conform(batch)


def _guarded(batches: Iterator[pa.RecordBatch], path: str) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    try:
        yield from batches
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataSourceError(f"cannot read {path}: {_reason(exc)}") from None


def _conformer(schema: pa.Schema, file_schema: pa.Schema, path: str, first_path: str) -> Any:
    """A function giving this file's batches the first file's schema, or DataSourceError."""
    if file_schema.equals(schema):
        return lambda batch: batch
    if file_schema.names != schema.names:
        raise DataSourceError(
            f"{path} has the columns {file_schema.names}, but {first_path} has {schema.names}: "
            "every file of a table must have the same columns"
        )

    def conform(batch: pa.RecordBatch) -> pa.RecordBatch:
        import pyarrow as pa

        try:
            return batch.cast(schema)
        except (pa.ArrowException, ValueError) as exc:
            raise DataSourceError(
                f"{path} does not match the schema of {first_path}: {_reason(exc)}"
            ) from None

    return conform


@contextlib.contextmanager
def _open_one(fs: Any, path: str, file_format: str, batch_rows: int, url: str) -> Iterator[Batches]:
    import pyarrow as pa

    try:
        stream = fs.open(path, "rb", compression="infer")
    except (OSError, PermissionError, ValueError) as exc:
        raise DataSourceError(f"cannot open {path} (from {redact_url(url)}): {_reason(exc)}") from None
    try:
        try:
            yield _reader(stream, file_format, batch_rows)
        except pa.ArrowException as exc:
            raise DataSourceError(f"cannot read {path} as {file_format}: {_reason(exc)}") from None
    finally:
        stream.close()


def _reader(stream: Any, file_format: str, batch_rows: int) -> Batches:
    import pyarrow as pa

    if file_format == "parquet":
        import pyarrow.parquet as pq

        # pre_buffer=False: pre-buffering keeps every row group read so far (memory grows with the file).
        parquet = pq.ParquetFile(stream, pre_buffer=False, buffer_size=PARQUET_READ_BUFFER)
        return parquet.schema_arrow, parquet.iter_batches(batch_size=batch_rows)
    if file_format == "csv":
        import pyarrow.csv as csv

        reader = csv.open_csv(stream, read_options=csv.ReadOptions(block_size=CSV_BLOCK_BYTES))
        return reader.schema, iter(reader)
    try:
        ipc_file = pa.ipc.open_file(stream)
    except pa.ArrowInvalid:  # not the file format: the stream format
        stream.seek(0)
        ipc_stream = pa.ipc.open_stream(stream)
        return ipc_stream.schema, iter(ipc_stream)
    return ipc_file.schema, (ipc_file.get_batch(i) for i in range(ipc_file.num_record_batches))
