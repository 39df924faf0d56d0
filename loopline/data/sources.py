"""Table sources: where tabular data lives before a pipeline reads it.

    Query("SELECT id, text, label FROM reviews ORDER BY id", url="duckdb:///warehouse.duckdb")
    Table("reviews", url="postgresql+psycopg://me@db/warehouse")
    Files("s3://bucket/reviews/*.parquet", storage_options={"anon": False})

A source is only a reference: nothing is read until it enters a pipeline (passed to a func,
returned by one, or given to `snapshot()`), where it is captured into a `Snapshot`. Reading is
streamed in Arrow record batches of `batch_rows` rows, so a table of any size is read with
bounded memory. The snapshot's Parquet file has row groups of that many rows too, and a func
that takes an iterator of batches gets batches of that size.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from loopline.data import files, warehouse
from loopline.data.urls import redact_url
from loopline.errors import UsageError

if TYPE_CHECKING:
    import pyarrow as pa

DEFAULT_WAREHOUSE_URL = "duckdb:///warehouse.duckdb"
DEFAULT_BATCH_ROWS = 131_072
FILE_FORMATS = ("parquet", "csv", "arrow")
FileFormat = Literal["parquet", "csv", "arrow"]


@dataclasses.dataclass(frozen=True)
class TableOrigin:
    """Where a snapshot's rows came from, as stored with it: `kind` ("query", "table", "files"
    or "frame" for an in-memory table), the source `url` with any password removed, the SQL
    `query` that was run, the `table` name, and the `files` that were read."""

    kind: Literal["query", "table", "files", "frame"]
    url: str = ""
    query: str | None = None
    table: str | None = None
    files: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "url": self.url}
        if self.query is not None:
            data["query"] = self.query
        if self.table is not None:
            data["table"] = self.table
        if self.files:
            data["files"] = list(self.files)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TableOrigin:
        return cls(
            kind=data["kind"],
            url=data.get("url", ""),
            query=data.get("query"),
            table=data.get("table"),
            files=tuple(data.get("files", ())),
        )

    def describe(self) -> str:
        """One line for people: `query on duckdb:///w.duckdb: SELECT ...`."""
        if self.kind == "frame":
            return "an in-memory table"
        if self.kind == "files":
            count = len(self.files)
            return (
                f"{count} file{'s' if count != 1 else ''} at {self.url}" if count else f"files at {self.url}"
            )
        what = f"table {self.table}" if self.kind == "table" else f"query {_one_line(self.query or '')}"
        return f"{what} on {self.url}"


@dataclasses.dataclass(frozen=True)
class TableStream:
    """An open source: its schema, its rows as record batches, and what to record about it."""

    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    origin: TableOrigin


class TableSource(abc.ABC):
    """A reference to tabular data outside the pipeline: `Query`, `Table` or `Files`."""

    url: str
    batch_rows: int

    @abc.abstractmethod
    def open(self) -> contextlib.AbstractContextManager[TableStream]:
        """The source's rows, streamed; the connection (or files) close when the context
        ends. Raises DataSourceError naming the source (its URL without a password)."""


def _check_batch_rows(owner: str, batch_rows: int) -> None:
    if not isinstance(batch_rows, int) or isinstance(batch_rows, bool) or batch_rows < 1:
        raise UsageError(f"{owner}(batch_rows=...) must be a positive number of rows, got {batch_rows!r}")


def _check_text(owner: str, field: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{owner}({field}=...) must be a non-empty string, got {value!r}")


@dataclasses.dataclass(frozen=True)
class Query(TableSource):
    """The rows a SQL query returns, on a database given by a SQLAlchemy URL.

    `duckdb:///warehouse.duckdb` (the default: a DuckDB file in the current folder, opened
    read-only; `?memory_limit=1GB&threads=4` set DuckDB options), `postgresql+psycopg://...`,
    `sqlite:///file.db`, or any other SQLAlchemy URL whose driver is installed. Give the query
    an ORDER BY: rows in the same order give the same snapshot bytes, so a rerun on unchanged
    data hits the cache.
    """

    sql: str
    url: str = DEFAULT_WAREHOUSE_URL
    batch_rows: int = DEFAULT_BATCH_ROWS

    def __post_init__(self) -> None:
        _check_text("Query", "sql", self.sql)
        _check_text("Query", "url", self.url)
        _check_batch_rows("Query", self.batch_rows)

    @contextlib.contextmanager
    def open(self) -> Iterator[TableStream]:
        with warehouse.query_batches(self.url, self.sql, self.batch_rows) as (schema, batches):
            yield TableStream(schema, batches, TableOrigin("query", redact_url(self.url), query=self.sql))

    def __repr__(self) -> str:
        return f"Query({_one_line(self.sql, 60)!r}, url={redact_url(self.url)!r})"


@dataclasses.dataclass(frozen=True)
class Table(TableSource):
    """Every row of a table (or view) in a database given by a SQLAlchemy URL; `name` may be
    qualified by its schema (`analytics.reviews`). Rows come in the database's own order: for a
    cache hit on unchanged data that order must be stable (a DuckDB table's is; use a `Query`
    with ORDER BY where it is not)."""

    name: str
    url: str = DEFAULT_WAREHOUSE_URL
    batch_rows: int = DEFAULT_BATCH_ROWS

    def __post_init__(self) -> None:
        _check_text("Table", "name", self.name)
        _check_text("Table", "url", self.url)
        _check_batch_rows("Table", self.batch_rows)

    @contextlib.contextmanager
    def open(self) -> Iterator[TableStream]:
        sql = warehouse.select_all(self.url, self.name)
        with warehouse.query_batches(self.url, sql, self.batch_rows) as (schema, batches):
            origin = TableOrigin("table", redact_url(self.url), query=sql, table=self.name)
            yield TableStream(schema, batches, origin)

    def __repr__(self) -> str:
        return f"Table({self.name!r}, url={redact_url(self.url)!r})"


@dataclasses.dataclass(frozen=True)
class Files(TableSource):
    """Parquet, Arrow (IPC/Feather) or CSV files at a local path or any fsspec URL (`s3://`,
    `gs://`, ...): one file, a folder (every file in it of the format), or a glob
    (`s3://bucket/reviews/*.parquet`). Files are read in sorted order and must share a schema.
    `format` defaults to the files' extension; `storage_options` go to fsspec (credentials,
    `client_kwargs={"endpoint_url": ...}`) and are never stored.
    """

    url: str
    format: FileFormat | None = None
    storage_options: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)
    batch_rows: int = DEFAULT_BATCH_ROWS

    def __post_init__(self) -> None:
        _check_text("Files", "url", self.url)
        _check_batch_rows("Files", self.batch_rows)
        if self.format is not None and self.format not in FILE_FORMATS:
            raise UsageError(
                f"Files(format=...) must be one of {', '.join(FILE_FORMATS)}, got {self.format!r}"
            )

    @contextlib.contextmanager
    def open(self) -> Iterator[TableStream]:
        opened = files.file_batches(self.url, self.format, dict(self.storage_options), self.batch_rows)
        with opened as (schema, batches, paths):
            yield TableStream(schema, batches, TableOrigin("files", redact_url(self.url), files=paths))

    def __repr__(self) -> str:
        return f"Files({redact_url(self.url)!r})"


def source_from_url(
    url: str, *, query: str | None = None, table: str | None = None, batch_rows: int = DEFAULT_BATCH_ROWS
) -> TableSource:
    """The source a command line names: a query or a table on a database URL, else files."""
    if query is not None and table is not None:
        raise UsageError("give either a query or a table, not both")
    if query is not None:
        return Query(query, url, batch_rows)
    if table is not None:
        return Table(table, url, batch_rows)
    if is_database_url(url):
        raise UsageError(
            f"{redact_url(url)} is a database: say what to read from it with a query "
            "(--query 'SELECT ...') or a table (--table NAME)"
        )
    return Files(url, batch_rows=batch_rows)


def is_database_url(url: str) -> bool:
    """Whether `url` names a database (`duckdb:///...`, `postgresql+psycopg://...`) rather than
    files (a path, `file://`, `s3://`, ...)."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    dialect = scheme.partition("+")[0]
    return dialect in {
        "duckdb",
        "sqlite",
        "postgresql",
        "postgres",
        "mysql",
        "mariadb",
        "mssql",
        "oracle",
    } or ("+" in scheme)


def _one_line(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
