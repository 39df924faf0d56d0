"""Reading a SQL query's rows as Arrow record batches, streamed.

DuckDB URLs (`duckdb:///path.duckdb`) are read with DuckDB itself, which hands Arrow batches
over without a copy; the database file is opened read-only, with a bounded memory limit unless
the URL sets one (`?memory_limit=2GB&threads=4`: any DuckDB option). Every other SQLAlchemy URL
goes through SQLAlchemy with a streaming cursor (a server-side cursor on PostgreSQL), rows turned
into columns a batch at a time. Column types come from the database where the driver reports
them (PostgreSQL), else from the values of the first batch.

Every failure is a DataSourceError that names the URL (without its password) and quotes the
database's own message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import sqlite3
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopline.data.urls import redact_url
from loopline.errors import DataSourceError

if TYPE_CHECKING:
    import pyarrow as pa

Batches = tuple["pa.Schema", Iterator["pa.RecordBatch"]]

# DuckDB caches the blocks it reads up to its memory limit (80% of RAM by default): a snapshot
# streams, so it runs with a small one unless the URL asks for more. Sorts, aggregates and joins
# larger than the limit spill to DuckDB's temporary folder (next to the database file).
DUCKDB_MEMORY_LIMIT = "128MB"


def query_batches(url: str, sql: str, batch_rows: int) -> contextlib.AbstractContextManager[Batches]:
    """The schema and the record batches of `sql`'s rows on the database at `url`."""
    if _dialect(url) == "duckdb":
        return _duckdb_batches(url, sql, batch_rows)
    return _sqlalchemy_batches(url, sql, batch_rows)


def select_all(url: str, name: str) -> str:
    """`SELECT * FROM <name>`, the name (`schema.table` too) quoted for the database."""
    parts = name.split(".")
    if _dialect(url) == "duckdb":
        quoted = [_double_quoted(part) for part in parts]
    else:
        preparer = _sqlalchemy_engine(url).dialect.identifier_preparer
        quoted = [preparer.quote(part) for part in parts]
    return f"SELECT * FROM {'.'.join(quoted)}"


def _dialect(url: str) -> str:
    return url.partition("://")[0].partition("+")[0].lower()


def _double_quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _shown(url: str) -> str:
    return redact_url(url)


# -- DuckDB -------------------------------------------------------------------------------------


def _duckdb_target(url: str) -> tuple[str, dict[str, str]]:
    """The database path and the DuckDB options of a `duckdb:///path?option=value` URL."""
    import sqlalchemy as sa

    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise DataSourceError(f"{_shown(url)} is not a database URL: {exc}") from None
    database = parsed.database or ":memory:"
    options = {key: str(value) for key, value in parsed.query.items()}
    options.setdefault("memory_limit", DUCKDB_MEMORY_LIMIT)
    return database, options


@contextlib.contextmanager
def _duckdb_batches(url: str, sql: str, batch_rows: int) -> Iterator[Batches]:
    import duckdb

    database, options = _duckdb_target(url)
    if database != ":memory:" and not Path(database).expanduser().is_file():
        raise DataSourceError(
            f"no DuckDB database at {Path(database).expanduser().resolve()} (from {_shown(url)}); "
            "check the path (duckdb:///relative.duckdb, duckdb:////absolute/path.duckdb)"
        )
    _check_one_duckdb_query(duckdb, url, sql)
    connection = _duckdb_connect(duckdb, url, database, options)
    try:
        try:
            reader = connection.sql(sql).to_arrow_reader(batch_rows)
        except duckdb.Error as exc:
            raise DataSourceError(f"the query failed on {_shown(url)}: {exc}{_memory_hint(exc)}") from None
        yield reader.schema, _duckdb_stream(reader, url)
    finally:
        connection.close()


def _check_one_duckdb_query(duckdb: Any, url: str, sql: str) -> None:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise DataSourceError(f"the query failed on {_shown(url)}: {exc}") from None
    if len(statements) != 1:
        raise DataSourceError(f"give one query, not {len(statements)} statements: {sql[:200]}")
    kind = statements[0].type
    if kind not in (duckdb.StatementType.SELECT, duckdb.StatementType.PRAGMA, duckdb.StatementType.CALL):
        raise DataSourceError(
            f"this SQL returns no rows on {_shown(url)} (it is a {kind.name} statement, not a query): {sql[:200]}"
        )


def _duckdb_connect(duckdb: Any, url: str, database: str, options: dict[str, str]) -> Any:
    path = str(Path(database).expanduser()) if database != ":memory:" else database
    try:
        connection = duckdb.connect(path, read_only=path != ":memory:", config=options)
        connection.execute("SET enable_progress_bar = false")
        return connection
    except duckdb.ConnectionException as exc:
        if "different configuration" not in str(exc):
            raise DataSourceError(f"cannot open the DuckDB database {_shown(url)}: {exc}") from None
    except duckdb.Error as exc:
        raise DataSourceError(f"cannot open the DuckDB database {_shown(url)}: {exc}") from None
    # This process has the database open for writing already: share that instance.
    try:
        return duckdb.connect(path)
    except duckdb.Error as exc:
        raise DataSourceError(f"cannot open the DuckDB database {_shown(url)}: {exc}") from None


def _duckdb_stream(reader: Any, url: str) -> Iterator[pa.RecordBatch]:
    import duckdb
    import pyarrow as pa

    try:
        yield from reader
    except (duckdb.Error, pa.ArrowException) as exc:  # errors found while the query runs
        raise DataSourceError(f"the query failed on {_shown(url)}: {exc}{_memory_hint(exc)}") from None


def _memory_hint(exc: Exception) -> str:
    if "Out of Memory" not in str(exc):
        return ""
    return (
        f"\nA snapshot runs DuckDB with memory_limit={DUCKDB_MEMORY_LIMIT}; give this query more in the "
        "URL: duckdb:///warehouse.duckdb?memory_limit=2GB"
    )


# -- any SQLAlchemy URL ---------------------------------------------------------------------------


def _sqlalchemy_engine(url: str) -> Any:
    import sqlalchemy as sa

    try:
        parsed = sa.engine.make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            # Read-only (the file must exist, and a snapshot never writes to it).
            path = str(Path(parsed.database).resolve())
            creator = functools.partial(sqlite3.connect, f"file:{urllib.parse.quote(path)}?mode=ro", uri=True)
            return sa.create_engine(parsed, poolclass=sa.pool.NullPool, creator=creator)
        return sa.create_engine(url, poolclass=sa.pool.NullPool)
    except sa.exc.NoSuchModuleError:
        raise DataSourceError(
            f"no SQLAlchemy dialect for {_shown(url)}: check the URL's scheme "
            "(duckdb:///, postgresql+psycopg://, sqlite:///) or install the database's driver"
        ) from None
    except (sa.exc.ArgumentError, ImportError, ValueError) as exc:
        raise DataSourceError(f"cannot use the database URL {_shown(url)}: {exc}") from None


def _database_message(exc: Exception) -> str:
    original = getattr(exc, "orig", None)
    return " ".join(str(original if original is not None else exc).split())


@contextlib.contextmanager
def _sqlalchemy_batches(url: str, sql: str, batch_rows: int) -> Iterator[Batches]:
    import sqlalchemy as sa

    engine = _sqlalchemy_engine(url)
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not Path(database).is_file():
            raise DataSourceError(f"no SQLite database at {Path(database).resolve()} (from {_shown(url)})")
    try:
        connection = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise DataSourceError(f"cannot connect to {_shown(url)}: {_database_message(exc)}") from None
    if engine.dialect.paramstyle in ("format", "pyformat"):
        sql = sql.replace("%", "%%")  # the driver reads % as a placeholder; the query means a %
    try:
        try:
            options: dict[str, Any] = {"stream_results": True, "max_row_buffer": batch_rows}
            if engine.dialect.name == "postgresql":
                options["postgresql_readonly"] = True  # a snapshot never writes
            result = connection.execution_options(**options).exec_driver_sql(sql)
        except sa.exc.DBAPIError as exc:
            raise DataSourceError(f"the query failed on {_shown(url)}: {_database_message(exc)}") from None
        if not result.returns_rows:
            raise DataSourceError(
                f"this SQL returns no rows on {_shown(url)} (it is a statement, not a query): {sql[:200]}"
            )
        columns = _Columns(list(result.keys()), result.cursor.description, engine.dialect.name)
        partitions = result.partitions(batch_rows)
        try:
            first: Sequence[Any] = next(partitions, [])
        except sa.exc.DBAPIError as exc:
            raise DataSourceError(f"the query failed on {_shown(url)}: {_database_message(exc)}") from None
        first_batch = columns.batch(first)
        yield first_batch.schema, _row_stream(first_batch, partitions, columns, url)
    finally:
        connection.close()
        engine.dispose()


def _row_stream(
    first: pa.RecordBatch, partitions: Iterator[Sequence[Any]], columns: _Columns, url: str
) -> Iterator[pa.RecordBatch]:
    import sqlalchemy as sa

    if first.num_rows:
        yield first
    try:
        for rows in partitions:
            yield columns.batch(rows)
    except sa.exc.DBAPIError as exc:
        raise DataSourceError(f"the query failed on {_shown(url)}: {_database_message(exc)}") from None


class _Columns:
    """Rows to Arrow batches with one fixed schema: the column types the database reports, else
    those of the first batch's values."""

    def __init__(self, names: list[str], description: Any, dialect: str) -> None:
        self.names = names
        self.types: list[Any] = [None] * len(names)
        self.converters: list[Callable[[Any], Any] | None] = [None] * len(names)
        if dialect == "postgresql" and description:
            for i, column in enumerate(description):
                self.types[i], self.converters[i] = _postgres_type(column)
        self.schema: pa.Schema | None = None

    def batch(self, rows: Sequence[Any]) -> pa.RecordBatch:
        import pyarrow as pa

        values = list(zip(*rows)) if rows else [() for _ in self.names]
        arrays = []
        for i, name in enumerate(self.names):
            column: Sequence[Any] = values[i]
            convert = self.converters[i]
            if convert is not None:
                column = [None if v is None else convert(v) for v in column]
            wanted = self.schema.field(i).type if self.schema is not None else self.types[i]
            try:
                arrays.append(pa.array(column, type=wanted))
            except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
                where = f"as {wanted}" if wanted is not None else "as one Arrow type"
                raise DataSourceError(
                    f"column {name!r} cannot be read {where}: {exc}. Its values change type between "
                    f"rows (or its first {len(rows)} values are all NULL); CAST it in the query, "
                    f"e.g. CAST({name} AS TEXT)"
                ) from None
        batch = pa.RecordBatch.from_arrays(arrays, names=self.names)
        if self.schema is None:
            self.schema = batch.schema
        return batch


# PostgreSQL type OIDs -> Arrow types (and a conversion of the driver's values, where needed).
def _postgres_type(column: Any) -> tuple[Any, Callable[[Any], Any] | None]:
    import pyarrow as pa

    oid = column[1]
    simple = {
        16: pa.bool_(),
        17: pa.binary(),
        18: pa.string(),
        19: pa.string(),
        20: pa.int64(),
        21: pa.int16(),
        23: pa.int32(),
        25: pa.string(),
        700: pa.float32(),
        701: pa.float64(),
        1042: pa.string(),
        1043: pa.string(),
        1082: pa.date32(),
        1083: pa.time64("us"),
        1114: pa.timestamp("us"),
        1184: pa.timestamp("us", tz="UTC"),
        1186: pa.duration("us"),
    }
    if oid in simple:
        return simple[oid], None
    if oid in (114, 3802):  # json, jsonb: kept as their JSON text
        return pa.string(), _json_text
    if oid == 2950:  # uuid
        return pa.string(), str
    if oid == 1700:  # numeric: exact when its precision is declared, else inferred from values
        precision, scale = column[4], column[5]
        if precision and 0 < precision <= 38 and scale is not None and scale >= 0:
            return pa.decimal128(precision, scale), None
    return None, None


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, uuid.UUID)):
        return str(value)
    raise TypeError(f"{type(value).__qualname__} is not JSON")
