"""`Schema`: the columns (and their types) a func says a table must have.

    @loopline.func
    def train(rows: Annotated[pd.DataFrame, Schema(id=int, text=str, label=int)]) -> Model: ...

A column's type is a Python type, matched by kind (`int`: any integer type, `float`: any
floating-point or decimal type, `str`, `bool`, `bytes`, `datetime.datetime`, `datetime.date`,
`datetime.time`, `datetime.timedelta`), or a pyarrow DataType, matched exactly. Columns the
schema does not name are allowed unless `exact=True`. Nullability is not checked.

The check runs at the func's boundary, on the snapshot's schema (no rows are read), and a
mismatch names the column: `column 'label' is string, the schema says int`.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from loopline.errors import UsageError

if TYPE_CHECKING:
    import pyarrow as pa

ColumnType = Any  # a Python type from _KINDS, or a pyarrow.DataType

_KINDS: dict[Any, str] = {
    int: "integer",
    float: "floating-point",
    decimal.Decimal: "decimal",
    str: "string",
    bool: "boolean",
    bytes: "binary",
    dt.datetime: "timestamp",
    dt.date: "date",
    dt.time: "time",
    dt.timedelta: "duration",
}


class Schema:
    """Required columns and their types: `Schema(id=int, label=int)`, or
    `Schema({"user id": str})` for names that are not identifiers."""

    __slots__ = ("columns", "exact")

    def __init__(
        self, columns: Mapping[str, ColumnType] | None = None, /, *, exact: bool = False, **more: ColumnType
    ) -> None:
        merged = {**(dict(columns) if columns is not None else {}), **more}
        if not merged:
            raise UsageError("Schema() needs at least one column, e.g. Schema(id=int, label=int)")
        for name, kind in merged.items():
            if kind not in _KINDS and not _is_arrow_type(kind):
                known = ", ".join(getattr(k, "__qualname__", str(k)) for k in _KINDS)
                raise UsageError(
                    f"Schema: column {name!r} has the type {kind!r}; use one of {known}, or a "
                    "pyarrow type such as pa.int32()"
                )
        self.columns: dict[str, ColumnType] = merged
        self.exact = exact

    def problems(self, schema: pa.Schema) -> list[str]:
        """What keeps a table of `schema` from matching, one line per column (empty: it matches)."""
        found = {field.name: field.type for field in schema}
        out = []
        for name, wanted in self.columns.items():
            if name not in found:
                out.append(
                    f"column {name!r} is missing (the table has {', '.join(map(repr, found)) or 'none'})"
                )
            elif not _matches(found[name], wanted):
                out.append(f"column {name!r} is {found[name]}, the schema says {_type_text(wanted)}")
        if self.exact:
            out += [
                f"column {name!r} is not in the schema (exact=True)"
                for name in found
                if name not in self.columns
            ]
        return out

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}: {_type_text(kind)}" for name, kind in self.columns.items())
        return f"Schema({inner}{', exact' if self.exact else ''})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and (self.columns, self.exact) == (other.columns, other.exact)

    def __hash__(self) -> int:
        return hash((tuple((name, str(kind)) for name, kind in self.columns.items()), self.exact))


def _is_arrow_type(kind: Any) -> bool:
    return type(kind).__module__.startswith("pyarrow") and hasattr(kind, "id") and hasattr(kind, "bit_width")


def _type_text(kind: Any) -> str:
    return kind.__qualname__ if isinstance(kind, type) else str(kind)


def _matches(found: pa.DataType, wanted: ColumnType) -> bool:
    import pyarrow as pa

    if _is_arrow_type(wanted):
        return bool(found.equals(wanted))
    if pa.types.is_dictionary(found):
        found = found.value_type
    t = pa.types
    checks = {
        int: t.is_integer,
        float: lambda k: t.is_floating(k) or t.is_decimal(k),
        decimal.Decimal: t.is_decimal,
        str: lambda k: t.is_string(k) or t.is_large_string(k) or t.is_string_view(k),
        bool: t.is_boolean,
        bytes: lambda k: (
            t.is_binary(k) or t.is_large_binary(k) or t.is_fixed_size_binary(k) or t.is_binary_view(k)
        ),
        dt.datetime: t.is_timestamp,
        dt.date: t.is_date,
        dt.time: t.is_time,
        dt.timedelta: t.is_duration,
    }
    return bool(checks[wanted](found))
