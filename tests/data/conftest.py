"""Warehouses for the data tests: a small DuckDB file, a SQLite file, a PostgreSQL database of
the suite's server (tests/storage/conftest.py), all made here, in temporary folders."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from tests.storage.conftest import postgres_database, postgres_server  # noqa: F401 - fixtures, used by name

REVIEWS = [(1, "great", 1), (2, "awful", 0), (3, "fine", 1), (4, "meh", 0), (5, "superb", 1)]


@pytest.fixture
def warehouse(tmp_path: Path) -> str:
    """A DuckDB file with `reviews(id BIGINT, text VARCHAR, label INTEGER)`, 5 rows; its URL."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE reviews (id BIGINT, text VARCHAR, label INTEGER)")
        con.executemany("INSERT INTO reviews VALUES (?, ?, ?)", REVIEWS)
    return f"duckdb:///{path}"


def execute(url: str, *statements: str) -> None:
    """Run SQL on the DuckDB warehouse at `url` (to change it between snapshots)."""
    with duckdb.connect(url.removeprefix("duckdb:///")) as con:
        for statement in statements:
            con.execute(statement)


@pytest.fixture
def sqlite_warehouse(tmp_path: Path) -> str:
    path = tmp_path / "warehouse.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE reviews (id INTEGER, text TEXT, label INTEGER)")
        con.executemany("INSERT INTO reviews VALUES (?, ?, ?)", REVIEWS)
    con.close()
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_warehouse(postgres_server: str) -> Iterator[str]:  # noqa: F811 - the fixture above
    """An empty PostgreSQL database (not Loopline's schema) with the reviews table."""
    with postgres_database(postgres_server, migrated=False) as url:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.begin() as con:
            con.exec_driver_sql("CREATE TABLE reviews (id BIGINT PRIMARY KEY, text TEXT, label INTEGER)")
            for row in REVIEWS:
                con.exec_driver_sql("INSERT INTO reviews VALUES (%s, %s, %s)", row)
        engine.dispose()
        yield url
