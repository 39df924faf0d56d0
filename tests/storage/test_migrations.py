"""The schema that migrations build is the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import loopline.storage.sql
from loopline.errors import StoreError
from loopline.storage.sql.database import (
    HEAD_REVISION,
    alembic_config,
    create_sql_engine,
    current_revision,
    upgrade,
)
from loopline.storage.sql.store import SqlMetadataStore
from tests.storage.workers import in_processes, open_store


def declared_schema() -> sa.MetaData:
    """Every table declared under loopline.storage.sql (modules add theirs to one MetaData)."""
    for module in pkgutil.iter_modules(loopline.storage.sql.__path__):
        if module.name != "migrations":
            importlib.import_module(f"loopline.storage.sql.{module.name}")
    from loopline.storage.sql.tables import metadata

    return metadata


def drift(engine: sa.Engine) -> list[object]:
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), declared_schema()))


@pytest.fixture
def sqlite_file(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fresh.db'}"


def test_sqlite_migrations_build_the_declared_schema(sqlite_file: str) -> None:
    engine = create_sql_engine(sqlite_file)
    upgrade(engine)
    assert drift(engine) == []


@pytest.mark.postgres
def test_postgres_migrations_build_the_declared_schema(empty_postgres_url: str) -> None:
    engine = create_sql_engine(empty_postgres_url)
    upgrade(engine)
    assert drift(engine) == []
    engine.dispose()


def test_drift_is_detected() -> None:
    """The check above can fail: an empty database differs from the declared schema."""
    assert drift(create_sql_engine("sqlite://")) != []


def test_head_revision_is_the_last_migration() -> None:
    script = ScriptDirectory.from_config(alembic_config(create_sql_engine("sqlite://")))
    assert script.get_heads() == [HEAD_REVISION]


def test_upgrade_twice_is_harmless(sqlite_file: str) -> None:
    engine = create_sql_engine(sqlite_file)
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == HEAD_REVISION


def test_a_fresh_store_is_at_head(sqlite_file: str) -> None:
    store = SqlMetadataStore(sqlite_file)
    assert current_revision(store.engine) == HEAD_REVISION
    store.close()


def test_an_in_memory_database_leaves_no_lock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    SqlMetadataStore("sqlite:///:memory:").close()
    assert list(tmp_path.iterdir()) == []


def test_four_processes_can_open_a_fresh_sqlite_store_at_once(sqlite_file: str) -> None:
    assert in_processes(open_store, *[(sqlite_file,)] * 4) == [0, 0, 0, 0]
    assert current_revision(create_sql_engine(sqlite_file)) == HEAD_REVISION


@pytest.mark.postgres
def test_four_processes_can_open_a_fresh_postgres_store_at_once(empty_postgres_url: str) -> None:
    assert in_processes(open_store, *[(empty_postgres_url,)] * 4) == [0, 0, 0, 0]
    engine = create_sql_engine(empty_postgres_url)
    assert current_revision(engine) == HEAD_REVISION
    engine.dispose()


def test_a_database_from_a_newer_loopline_is_refused_clearly(sqlite_file: str) -> None:
    engine = create_sql_engine(sqlite_file)
    upgrade(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match="newer Loopline"):
        SqlMetadataStore(sqlite_file)
