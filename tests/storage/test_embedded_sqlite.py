"""What only the embedded SQLite store does: a runner's statements on sqlite3, rows identical to
SQLAlchemy's, and SQLAlchemy and Alembic loaded only when needed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loopline.core.records import (
    ArtifactRecord,
    CacheHit,
    LogChunk,
    MetricPoint,
    RunnerRecord,
    RunState,
    WriteBatch,
)
from loopline.errors import StoreError
from loopline.storage.sql import tables
from loopline.storage.sql.database import HEAD_REVISION, create_sql_engine
from loopline.storage.sql.sqlite import TABLES, SqliteMetadataStore, sqlite_file
from loopline.storage.sql.store import SqlMetadataStore
from tests.storage.metadata_conformance import T0, at, full_run, make_run


def every_kind_of_row() -> WriteBatch:
    run = full_run()
    return WriteBatch(
        runs=[run, make_run("plain")],
        artifacts=[ArtifactRecord("d" * 64, "builtins:int", 5, {"kind": "int", "text": "é"}, T0)],
        logs=[LogChunk(run.id, "stdout", "hello\n", at(1))],
        metrics=[
            MetricPoint(run.id, run.id, "loss", 0.5, 3, at(2)),
            MetricPoint(run.id, run.id, "nan", float("nan"), None, at(2)),
        ],
    )


def stored_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the runner's tables as SQLite holds them (`updated_at` left out: a clock)."""
    path = sqlite_file(url)
    assert path is not None
    connection = sqlite3.connect(path)
    try:
        out = {}
        for table in ("runs", "artifacts", "code_versions", "logs", "metrics", "runners"):
            cursor = connection.execute(f"SELECT * FROM {table} ORDER BY 1")
            names = [d[0] for d in cursor.description]
            out[table] = [tuple(v for n, v in zip(names, row) if n != "updated_at") for row in cursor]
        return out
    finally:
        connection.close()


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SqliteMetadataStore]:
    store = SqliteMetadataStore(sqlite_url)
    yield store
    store.close()


def test_it_writes_the_rows_sqlalchemy_writes(tmp_path: Path, sqlite_url: str) -> None:
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    SqlMetadataStore(other_url).close()
    fast, reference = SqliteMetadataStore(sqlite_url), SqlMetadataStore(other_url)
    runner = RunnerRecord("r1", "host", 42, T0, at(1))
    for target in (fast, reference):
        target.write(every_kind_of_row())
        target.save_runner(runner)
        target.orphan_runs(["runner-1"], at(3), "its runner died")
    fast.close()
    reference.close()
    assert stored_rows(sqlite_url) == stored_rows(other_url)


@pytest.mark.parametrize("columns", TABLES, ids=lambda c: c.table)
def test_its_columns_are_the_schema_s(columns: Any) -> None:
    assert columns.names == tuple(tables.metadata.tables[columns.table].columns.keys())


def test_it_finds_what_sqlalchemy_wrote(sqlite_url: str, store: SqliteMetadataStore) -> None:
    reference = SqlMetadataStore(sqlite_url)
    succeeded = full_run().replace(state=RunState.SUCCEEDED)
    reference.write(WriteBatch(runs=[succeeded], artifacts=[], logs=[]))
    reference.save_runner(RunnerRecord("r1", "host", 42, T0, at(1)))
    reference.close()
    assert store.find_cached(succeeded.cache_key or "") == CacheHit(succeeded.id, succeeded.output_id)
    assert store.live_runners() == [RunnerRecord("r1", "host", 42, T0, at(1))]


def run_python(code: str, home: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"LOOPLINE_HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


PIPELINE = """
import sys, loopline

@loopline.func
def add_one(x: int) -> int:
    return x + 1

@loopline.func(cache=True)
def cached(x: int) -> int:
    return x * 2

assert loopline.LocalRunner().run(cached(add_one(add_one(1)))) == 6
print(sorted(m for m in ("sqlalchemy", "alembic") if m in sys.modules))
"""


def test_a_pipeline_on_an_existing_store_loads_neither_sqlalchemy_nor_alembic(tmp_path: Path) -> None:
    run_python(PIPELINE, tmp_path)  # creates the store (Alembic migrates it)
    assert run_python(PIPELINE, tmp_path) == "[]"


def test_a_new_store_is_migrated_to_head(tmp_path: Path) -> None:
    store = SqliteMetadataStore(f"sqlite:///{tmp_path / 'new.db'}")
    assert store._revision() == HEAD_REVISION
    store.close()


def test_queries_a_runner_does_not_make_go_through_sqlalchemy(store: SqliteMetadataStore) -> None:
    store.write(WriteBatch(runs=[make_run("a")]))
    assert store.count_runs() == 1 and store.get_run("a").id == "a"
    assert isinstance(store.sql, SqlMetadataStore)


def test_a_database_from_a_newer_loopline_is_refused_clearly(sqlite_url: str) -> None:
    engine = create_sql_engine(sqlite_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    with pytest.raises(StoreError, match="newer Loopline"):
        SqliteMetadataStore(sqlite_url)


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "sqlite:///x.db?mode=ro", "postgresql://h/db"]
)
def test_only_a_plain_sqlite_file_takes_the_fast_path(url: str) -> None:
    assert sqlite_file(url) is None
