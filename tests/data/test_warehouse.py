"""Reading queries and tables from DuckDB, SQLite and PostgreSQL, and the errors a bad URL or a
bad query gets: what happened, where (the URL without its password), the database's own words."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import sqlalchemy as sa

from loopline.data import DataSourceError, Query, Table, snapshot
from tests.data.conftest import REVIEWS


def rows_of(source: Query | Table) -> list[tuple[object, ...]]:
    return [tuple(row.values()) for row in snapshot(source).to_arrow().to_pylist()]


# -- DuckDB -------------------------------------------------------------------------------------


def test_a_duckdb_table_and_query(warehouse: str) -> None:
    assert rows_of(Table("reviews", url=warehouse)) == REVIEWS
    assert rows_of(Query("SELECT id FROM reviews WHERE label = 1 ORDER BY id", url=warehouse)) == [
        (1,),
        (3,),
        (5,),
    ]


def test_a_schema_qualified_table_name(warehouse: str) -> None:
    with duckdb.connect(warehouse.removeprefix("duckdb:///")) as con:
        con.execute("CREATE SCHEMA analytics; CREATE TABLE analytics.scores AS SELECT 1 AS x")
    assert rows_of(Table("analytics.scores", url=warehouse)) == [(1,)]


def test_a_missing_duckdb_file_is_reported_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"no DuckDB database at .*nowhere\.duckdb"):
        snapshot(Query("SELECT 1", url=f"duckdb:///{tmp_path}/nowhere.duckdb"))
    assert not (tmp_path / "nowhere.duckdb").exists()


def test_a_query_error_quotes_duckdb(warehouse: str) -> None:
    with pytest.raises(
        DataSourceError, match=r"the query failed on duckdb:///.*Table with name nope does not exist"
    ):
        snapshot(Query("SELECT * FROM nope", url=warehouse))


def test_an_error_found_while_the_query_runs_is_reported_too(warehouse: str) -> None:
    with pytest.raises(DataSourceError, match="the query failed.*Could not convert string 'great'"):
        snapshot(Query("SELECT CAST(text AS INTEGER) FROM reviews", url=warehouse, batch_rows=1))


def test_a_statement_is_not_a_query(warehouse: str) -> None:
    with pytest.raises(DataSourceError, match="it is a SET statement, not a query"):
        snapshot(Query("SET threads = 1", url=warehouse))
    with pytest.raises(DataSourceError, match="give one query, not 2 statements"):
        snapshot(Query("SELECT 1; SELECT 2", url=warehouse))


def test_a_duckdb_warehouse_is_never_written(warehouse: str) -> None:
    with pytest.raises(DataSourceError, match="INSERT statement, not a query"):
        snapshot(Query("INSERT INTO reviews VALUES (9, 'x', 1) RETURNING id", url=warehouse))
    opened = "SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()"
    assert rows_of(Query(opened, url=warehouse)) == [(True,)]


def test_duckdb_options_come_from_the_url(warehouse: str) -> None:
    url = f"{warehouse}?threads=1&memory_limit=64MB"
    assert rows_of(Query("SELECT current_setting('threads') AS t", url=url)) == [(1,)]


def test_a_database_this_process_has_open_for_writing_is_shared(warehouse: str) -> None:
    with duckdb.connect(warehouse.removeprefix("duckdb:///")) as con:
        con.execute("INSERT INTO reviews VALUES (6, 'new', 1)")
        assert len(rows_of(Table("reviews", url=warehouse))) == 6


# -- any SQLAlchemy URL: SQLite -------------------------------------------------------------------


def test_a_sqlite_table_and_query(sqlite_warehouse: str) -> None:
    assert rows_of(Table("reviews", url=sqlite_warehouse, batch_rows=2)) == REVIEWS
    rows = snapshot(Query("SELECT id, text FROM reviews WHERE id > 3", url=sqlite_warehouse))
    assert rows.schema == pa.schema([("id", pa.int64()), ("text", pa.string())])


def test_a_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="no SQLite database at"):
        snapshot(Query("SELECT 1", url=f"sqlite:///{tmp_path}/nowhere.db"))
    assert not (tmp_path / "nowhere.db").exists()


def test_a_sqlite_warehouse_is_opened_read_only(sqlite_warehouse: str) -> None:
    with pytest.raises(DataSourceError, match="readonly"):
        snapshot(Query("INSERT INTO reviews VALUES (9, 'x', 1) RETURNING id", url=sqlite_warehouse))


def test_a_sqlite_query_error_quotes_sqlite(sqlite_warehouse: str) -> None:
    with pytest.raises(DataSourceError, match="the query failed on sqlite:///.*no such table: nope"):
        snapshot(Query("SELECT * FROM nope", url=sqlite_warehouse))


def test_a_column_whose_values_change_type_says_to_cast_it(sqlite_warehouse: str) -> None:
    engine = sa.create_engine(sqlite_warehouse)
    with engine.begin() as con:
        con.exec_driver_sql("INSERT INTO reviews VALUES ('seven', 'text as id', 1)")
    engine.dispose()
    with pytest.raises(DataSourceError, match=r"column 'id' cannot be read as int64.*CAST\(id AS TEXT\)"):
        snapshot(Query("SELECT id FROM reviews", url=sqlite_warehouse, batch_rows=2))


def test_an_unknown_dialect_is_explained() -> None:
    with pytest.raises(DataSourceError, match="no SQLAlchemy dialect for nosuchdb://"):
        snapshot(Query("SELECT 1", url="nosuchdb://host/db"))


# -- PostgreSQL -------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_postgres_table_streams_in_batches(postgres_warehouse: str) -> None:
    rows = snapshot(Table("reviews", url=postgres_warehouse, batch_rows=2))
    assert [row for row in rows.to_arrow().to_pylist()] == [
        dict(zip(("id", "text", "label"), r)) for r in REVIEWS
    ]
    assert rows.schema == pa.schema([("id", pa.int64()), ("text", pa.string()), ("label", pa.int32())])
    assert [batch.num_rows for batch in rows.batches()] == [2, 2, 1]


@pytest.mark.postgres
def test_postgres_column_types_come_from_the_database(postgres_warehouse: str) -> None:
    sql = (
        "SELECT NULL::int4 AS empty, 1.5::numeric(6,2) AS price, TRUE AS flag, DATE '2026-01-02' AS day, "
        "TIMESTAMPTZ '2026-01-02 03:04:05+00' AS at, '{\"a\": 1}'::jsonb AS doc, "
        "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS uid"
    )
    rows = snapshot(Query(sql, url=postgres_warehouse))
    assert rows.schema.field("empty").type == pa.int32()  # typed, though every value is NULL
    assert rows.schema.field("price").type == pa.decimal128(6, 2)
    row = rows.to_arrow().to_pylist()[0]
    assert (
        row["price"] == decimal.Decimal("1.50") and row["flag"] is True and row["day"] == dt.date(2026, 1, 2)
    )
    assert row["at"] == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert row["doc"] == '{"a": 1}' and row["uid"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"


@pytest.mark.postgres
def test_the_recorded_postgres_url_has_no_password(postgres_warehouse: str) -> None:
    with_password = postgres_warehouse.replace("postgres@", "postgres:hunter2@")
    rows = snapshot(Query("SELECT 1 AS one", url=with_password))
    assert "hunter2" not in rows.origin.url and rows.origin.url == postgres_warehouse


@pytest.mark.postgres
def test_a_postgres_warehouse_is_never_written(postgres_warehouse: str) -> None:
    with pytest.raises(DataSourceError, match="the query failed"):
        snapshot(Query("INSERT INTO reviews VALUES (9, 'x', 1) RETURNING id", url=postgres_warehouse))
    assert snapshot(Table("reviews", url=postgres_warehouse)).num_rows == 5


@pytest.mark.postgres
def test_a_postgres_query_error_quotes_postgres(postgres_warehouse: str) -> None:
    with pytest.raises(
        DataSourceError, match='the query failed on postgresql.*relation "nope" does not exist'
    ):
        snapshot(Query("SELECT * FROM nope", url=postgres_warehouse))


@pytest.mark.postgres
def test_percent_signs_and_colons_reach_postgres_as_written(postgres_warehouse: str) -> None:
    rows = snapshot(Query("SELECT '100%' AS share, '10:30' AS at, 2::text AS two", url=postgres_warehouse))
    assert rows.to_arrow().to_pylist() == [{"share": "100%", "at": "10:30", "two": "2"}]


def test_an_unreachable_postgres_server_is_reported_without_the_password() -> None:
    url = "postgresql+psycopg://me:hunter2@127.0.0.1:1/warehouse?connect_timeout=2"
    with pytest.raises(
        DataSourceError, match=r"cannot connect to postgresql\+psycopg://me@127\.0\.0\.1:1/"
    ) as failure:
        snapshot(Query("SELECT 1", url=url))
    assert "hunter2" not in str(failure.value)
