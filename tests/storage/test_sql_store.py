"""What only the SQL store does: engines, several writer processes, failed batches."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from loopline.core.records import MetricPoint, RunFilter, WriteBatch
from loopline.errors import StoreError
from loopline.storage.sql.database import create_sql_engine
from loopline.storage.sql.store import SqlMetadataStore
from tests.storage.metadata_conformance import T0, make_run
from tests.storage.workers import in_processes, write_batches


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SqlMetadataStore]:
    store = SqlMetadataStore(sqlite_url)
    yield store
    store.close()


def pragma(engine: sa.Engine, name: str) -> object:
    with engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_sqlite_runs_in_wal_mode(store: SqlMetadataStore) -> None:
    assert pragma(store.engine, "journal_mode") == "wal"


def test_sqlite_waits_for_a_busy_database(store: SqlMetadataStore) -> None:
    assert pragma(store.engine, "busy_timeout") == 60_000


def test_four_processes_writing_to_one_sqlite_file_all_succeed(sqlite_url: str) -> None:
    workers = [(sqlite_url, worker, 25, 8) for worker in range(4)]
    assert in_processes(write_batches, *workers) == [0, 0, 0, 0]
    store = SqlMetadataStore(sqlite_url)
    assert store.count_runs() == 4 * 25 * 8 and len(store.read_metrics()) == 4 * 25 * 8
    assert store.count_runs(RunFilter(search="w3-b24")) == 8
    store.close()


def test_a_postgresql_url_uses_psycopg() -> None:
    engine = create_sql_engine("postgresql://user@localhost/db")
    assert engine.dialect.driver == "psycopg"


def test_an_unusable_database_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot use database"):
        create_sql_engine("nosuchdb://x")


def test_a_failed_batch_writes_nothing(store: SqlMetadataStore) -> None:
    bad_metric = MetricPoint("r", "r", None, 1.0, None, T0)  # type: ignore[arg-type]
    with pytest.raises(sa.exc.IntegrityError):
        store.write(WriteBatch(runs=[make_run("r", code_version="v1", source="src")], metrics=[bad_metric]))
    assert store.count_runs() == 0


def test_source_code_is_kept_when_a_failed_batch_is_written_again(store: SqlMetadataStore) -> None:
    run = make_run("r", code_version="v1", source="def f(): ...")
    bad_metric = MetricPoint("r", "r", None, 1.0, None, T0)  # type: ignore[arg-type]
    with pytest.raises(sa.exc.IntegrityError):
        store.write(WriteBatch(runs=[run], metrics=[bad_metric]))
    store.write(WriteBatch(runs=[run]))
    assert store.get_run("r").source == "def f(): ..."


def test_a_second_store_on_the_same_file_sees_the_runs(sqlite_url: str, store: SqlMetadataStore) -> None:
    store.write(WriteBatch(runs=[make_run("r")]))
    other = SqlMetadataStore(sqlite_url)
    assert dataclasses.replace(other.get_run("r"), updated_at=None) == make_run("r")
    other.close()
