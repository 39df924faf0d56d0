"""`Schema`: columns by name and type kind, checked on an Arrow schema, naming each problem."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from loopline.data import Schema
from loopline.errors import UsageError

TABLE = pa.schema(
    [
        ("id", pa.int64()),
        ("text", pa.large_string()),
        ("score", pa.float32()),
        ("price", pa.decimal128(6, 2)),
        ("at", pa.timestamp("us", tz="UTC")),
        ("kind", pa.dictionary(pa.int8(), pa.string())),
    ]
)


def test_python_types_match_any_arrow_type_of_their_kind() -> None:
    schema = Schema(id=int, text=str, score=float, price=float, at=dt.datetime, kind=str)
    assert schema.problems(TABLE) == []


def test_an_arrow_type_matches_exactly() -> None:
    assert Schema(id=pa.int64()).problems(TABLE) == []
    assert Schema(id=pa.int32()).problems(TABLE) == ["column 'id' is int64, the schema says int32"]


def test_each_problem_names_its_column() -> None:
    problems = Schema(id=str, label=int).problems(TABLE)
    assert problems[0] == "column 'id' is int64, the schema says str"
    assert problems[1].startswith("column 'label' is missing (the table has 'id', 'text'")


def test_extra_columns_are_allowed_unless_exact() -> None:
    assert Schema(id=int).problems(TABLE) == []
    assert "column 'text' is not in the schema (exact=True)" in Schema(id=int, exact=True).problems(TABLE)


def test_names_that_are_not_identifiers_go_in_a_dict() -> None:
    assert Schema({"user id": int}).problems(pa.schema([("user id", pa.int8())])) == []


def test_a_schema_needs_known_types_and_at_least_one_column() -> None:
    with pytest.raises(UsageError, match="column 'x' has the type <class 'list'>"):
        Schema(x=list)
    with pytest.raises(UsageError, match="at least one column"):
        Schema()


def test_schemas_compare_and_print_by_their_columns() -> None:
    assert Schema(id=int) == Schema({"id": int}) and hash(Schema(id=int)) == hash(Schema({"id": int}))
    assert repr(Schema(id=int, at=pa.int8(), exact=True)) == "Schema(id: int, at: int8, exact)"
