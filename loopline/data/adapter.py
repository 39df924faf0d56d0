"""How tables cross a func's boundary, and how a snapshot is stored.

- `TableAdapter` (a `core.types.ValueAdapter`): a `Query`, `Table` or `Files` passed to a
  func (or returned by one) whose annotation is a table form is captured into a `Snapshot` when
  the func is called (or returns); a declared `Schema` is checked there, naming the column; and
  the body receives the snapshot as its annotation asks: `Snapshot`, `pd.DataFrame`,
  `pl.DataFrame`, `pa.Table`, `pa.RecordBatchReader` or `Iterator[pa.RecordBatch]`.
- `SnapshotCodec`: a snapshot's artifact is its Parquet file as one blob, written from the file
  in chunks (never held in memory), with its origin, row count and column types in the header.
  The artifact id is the hash of all of that: equal rows from an equal source, equal ids.
"""

from __future__ import annotations

import typing
from collections import abc
from typing import Any

from loopline.core import summaries
from loopline.core.serialization import JSON, REGISTRY, Blob, BlobReader, Codec, FileChunks
from loopline.core.types import NOT_ADAPTED, Deferred, TypeMismatch, ValueAdapter, register_adapter
from loopline.data.schema import Schema
from loopline.data.snapshots import Snapshot, frame_as_arrow, new_snapshot_path, snapshot
from loopline.data.sources import TableOrigin, TableSource
from loopline.errors import SerializationError

SNAPSHOT = "snapshot"
_FRAME_FORMS = ("arrow", "pandas", "polars")
_FORMS: dict[Any, tuple[str, Schema | None] | None] = {}


def table_form(annotation: Any) -> tuple[str, Schema | None] | None:
    """(form, schema) when `annotation` asks for a table, else None. Forms: "snapshot",
    "arrow", "pandas", "polars", "reader" (a RecordBatchReader), "batches" (an iterator)."""
    try:
        return _FORMS[annotation]
    except KeyError:
        pass
    except TypeError:  # an unhashable annotation
        return _table_form(annotation)
    found = _FORMS[annotation] = _table_form(annotation)
    return found


def _table_form(annotation: Any) -> tuple[str, Schema | None] | None:
    schema = None
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *extras = typing.get_args(annotation)
        schema = next((extra for extra in extras if isinstance(extra, Schema)), None)
    form = _form(annotation)
    return None if form is None else (form, schema)


def _form(annotation: Any) -> str | None:
    if annotation is Snapshot:
        return SNAPSHOT
    origin = typing.get_origin(annotation)
    if origin in (abc.Iterator, abc.Iterable, abc.Generator):
        (item, *_) = typing.get_args(annotation) or (None,)
        return "batches" if _is_class(item, "pyarrow", "RecordBatch") else None
    if _is_class(annotation, "pyarrow", "Table"):
        return "arrow"
    if _is_class(annotation, "pyarrow", "RecordBatchReader"):
        return "reader"
    if _is_class(annotation, "pandas", "DataFrame"):
        return "pandas"
    if _is_class(annotation, "polars", "DataFrame"):
        return "polars"
    return None


def _is_class(annotation: Any, module: str, name: str) -> bool:
    return (
        isinstance(annotation, type)
        and annotation.__name__ == name
        and annotation.__module__.partition(".")[0] == module
    )


def _declared_form(declared: Any) -> str | None:
    if isinstance(declared, type) and issubclass(declared, (TableSource, Snapshot)):
        return SNAPSHOT
    found = table_form(declared)
    return None if found is None else found[0]


class TableAdapter(ValueAdapter):
    def check(self, value: Any, annotation: Any, path: str) -> Any:
        found = table_form(annotation)
        if found is None or isinstance(value, Deferred):
            return NOT_ADAPTED
        form, schema = found
        if isinstance(value, (TableSource, Snapshot)):
            captured = snapshot(value)
            _check_schema(schema, captured.schema, annotation, captured, path)
            return captured
        if form == SNAPSHOT:
            table = frame_as_arrow(value)
            if table is None:
                return NOT_ADAPTED  # a mismatch, reported by the plain check
            _check_schema(schema, table.schema, annotation, value, path)
            return snapshot(table)
        if schema is not None and form in _FRAME_FORMS and _is_form(value, form):
            table = frame_as_arrow(value)
            if table is not None:
                _check_schema(schema, table.schema, annotation, value, path)
            return value
        return NOT_ADAPTED

    def may_satisfy(self, declared: Any, expected: Any) -> bool:
        expected_found = table_form(expected)
        if expected_found is None:
            return False
        declared_form = _declared_form(declared)
        if declared_form == SNAPSHOT:
            return True
        return expected_found[0] == SNAPSHOT and declared_form in _FRAME_FORMS

    def open(self, value: Any, annotation: Any) -> Any:
        found = table_form(annotation)
        if found is None:
            return value
        form, schema = found
        if isinstance(value, Snapshot):
            _check_schema(schema, value.schema, annotation, value, "")
            return _opened(value, form)
        if form == SNAPSHOT and frame_as_arrow(value) is not None:
            return self.check(value, annotation, "")
        if schema is not None and form in _FRAME_FORMS:
            table = frame_as_arrow(value)
            if table is not None:
                _check_schema(schema, table.schema, annotation, value, "")
        return value


def _is_form(value: Any, form: str) -> bool:
    module = type(value).__module__.partition(".")[0]
    return module == {"arrow": "pyarrow", "pandas": "pandas", "polars": "polars"}[form]


def _opened(rows: Snapshot, form: str) -> Any:
    if form == SNAPSHOT:
        return rows
    if form == "arrow":
        return rows.to_arrow()
    if form == "pandas":
        return rows.to_pandas()
    if form == "polars":
        return rows.to_polars()
    if form == "reader":
        return rows.reader()
    return rows.batches()


def _check_schema(schema: Schema | None, found: Any, annotation: Any, value: Any, path: str) -> None:
    if schema is None:
        return
    problems = schema.problems(found)
    if problems:
        raise TypeMismatch(path, annotation, value, "; ".join(problems))


# -- storing snapshots ----------------------------------------------------------------------------


class SnapshotCodec(Codec):
    """A Snapshot (or a source, captured first) as its Parquet file."""

    name = "table-snapshot"

    def handles(self, value: Any) -> bool:
        return isinstance(value, (Snapshot, TableSource))

    def encode(self, value: Any) -> Blob:
        if isinstance(value, TableSource):
            raise SerializationError(
                f"{value!r} is a reference to a table, which is not stored as such (it may hold "
                "credentials, and its rows may change): annotate the parameter or return value "
                "as Snapshot or a table type (pd.DataFrame, pl.DataFrame, pa.Table, "
                "Iterator[pa.RecordBatch]) so that it is snapshotted when it enters the pipeline"
            )
        rows = value
        meta: dict[str, JSON] = {
            "origin": rows.origin.to_json(),
            "rows": rows.num_rows,
            "columns": [[field.name, str(field.type)] for field in rows.schema],
        }
        return Blob(self.name, meta, FileChunks(rows.path, owner=rows))

    def decode(self, meta: dict[str, JSON], reader: BlobReader, nbytes: int) -> Any:
        path = new_snapshot_path()
        rows = Snapshot(path, TableOrigin.from_json(meta["origin"]))  # owns (and removes) the file
        with open(path, "wb") as out:
            buffer = memoryview(bytearray(min(nbytes, FileChunks.CHUNK) or 1))
            left = nbytes
            while left:
                got = reader.readinto(buffer[: min(left, len(buffer))])
                if not got:
                    raise SerializationError("table snapshot artifact ends early")
                out.write(buffer[:got])
                left -= got
        return rows

    def summary(self, value: Any) -> dict[str, JSON]:
        if not isinstance(value, Snapshot):
            return super().summary(value)
        rows = value
        head = rows.head(summaries.MAX_TABLE_ROWS)
        schema = rows.schema
        shown = schema.names[: summaries.MAX_TABLE_COLUMNS]
        columns = [head.column(name).to_pylist() for name in shown]
        summary: dict[str, JSON] = {
            "kind": "dataframe",
            "shape": [rows.num_rows, len(schema)],
            "columns": shown,
            "dtypes": [str(schema.field(name).type) for name in shown],
            "index": list(range(head.num_rows)),
            "rows": [[summaries.json_safe(column[i]) for column in columns] for i in range(head.num_rows)],
            "truncated": head.num_rows < rows.num_rows or len(shown) < len(schema),
            "snapshot": {
                **rows.origin.to_json(),
                "bytes": rows.nbytes,
                "taken_at": None if rows.taken_at is None else rows.taken_at.isoformat(),
            },
        }
        return summary


def install() -> None:
    """Register the codec and the adapter (done once, when `loopline.data` is imported)."""
    REGISTRY.add(SnapshotCodec())
    register_adapter(TableAdapter())
