"""Table sources: checked when made, shown and recorded without secrets, named from a URL."""

from __future__ import annotations

import subprocess
import sys

import pytest

from loopline.data import Files, Query, Table, is_database_url, redact_url, source_from_url
from loopline.errors import UsageError


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://me:secret@db:5432/wh", "postgresql+psycopg://me@db:5432/wh"),
        ("postgresql://db/wh?sslmode=require&password=secret", "postgresql://db/wh?sslmode=require"),
        ("postgresql://:secret@db/wh", "postgresql://db/wh"),
        ("duckdb:///warehouse.duckdb", "duckdb:///warehouse.duckdb"),
        ("s3://bucket/tables/*.parquet", "s3://bucket/tables/*.parquet"),
        ("data/reviews.csv", "data/reviews.csv"),
    ],
)
def test_passwords_never_show(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_sources_show_their_url_without_the_password() -> None:
    assert "secret" not in repr(Query("SELECT 1", url="postgresql://me:secret@db/wh"))
    assert "secret" not in repr(Files("s3://b/x.parquet", storage_options={"secret": "secret"}))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Query(""), r"Query\(sql=...\) must be a non-empty string"),
        (lambda: Table("reviews", batch_rows=0), r"Table\(batch_rows=...\) must be a positive number"),
        (
            lambda: Files("x.parquet", format="xlsx"),
            r"Files\(format=...\) must be one of parquet, csv, arrow",
        ),  # type: ignore[arg-type]
    ],
)
def test_a_bad_source_is_refused_when_made(make: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        make()  # type: ignore[operator]


def test_a_command_line_url_names_a_query_a_table_or_files() -> None:
    assert source_from_url("duckdb:///w.duckdb", query="SELECT 1") == Query("SELECT 1", "duckdb:///w.duckdb")
    assert source_from_url("sqlite:///w.db", table="reviews") == Table("reviews", "sqlite:///w.db")
    assert source_from_url("s3://bucket/reviews/") == Files("s3://bucket/reviews/")
    with pytest.raises(UsageError, match="is a database: say what to read"):
        source_from_url("postgresql+psycopg://db/wh")
    with pytest.raises(UsageError, match="either a query or a table"):
        source_from_url("duckdb:///w.duckdb", query="SELECT 1", table="reviews")


def test_database_urls_are_told_from_file_urls() -> None:
    assert is_database_url("duckdb:///w.duckdb") and is_database_url("mysql+pymysql://db/wh")
    assert not is_database_url("s3://bucket/x.parquet") and not is_database_url("/data/x.csv")


def test_importing_loopline_data_loads_no_data_library() -> None:
    heavy = ["pyarrow", "duckdb", "polars", "sqlalchemy", "pandas", "fsspec"]
    code = f"import loopline.data, sys; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
