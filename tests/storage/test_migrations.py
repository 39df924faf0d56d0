"""The schema that migrations build is the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
import pkgutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
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
from loopline.storage.sql.head_schema import migrated_schema
from loopline.storage.sql.new_sqlite import SCRIPT
from loopline.storage.sql.sqlite import SqliteMetadataStore
from loopline.storage.sql.store import SqlMetadataStore
from tests.storage.workers import in_processes, open_embedded_store, open_store


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


def migrate_dataset_sources_and_back(engine: sa.Engine) -> None:
    """0005 adds `dataset_versions.source` to a database at 0004 with rows, and takes it away."""
    from alembic import command

    config = alembic_config(engine)
    command.upgrade(config, "0004")
    row = {
        "name": "digits",
        "version": 1,
        "artifact_id": "a" * 64,
        "size": 3,
        "added": 3,
        "removed": 0,
        "changed": 0,
        "created_at": "2030-01-01 00:00:00",
        "created_by": "ada",
        "message": "",
        "display": "",
    }
    with engine.begin() as connection:
        columns = ", ".join(row)
        connection.execute(
            sa.text(f"INSERT INTO dataset_versions ({columns}) VALUES (:{', :'.join(row)})"), row
        )
    command.upgrade(config, "0005")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT name, source FROM dataset_versions")).all() == [
            ("digits", None)
        ]
    command.downgrade(config, "0004")
    assert "source" not in {c["name"] for c in sa.inspect(engine).get_columns("dataset_versions")}
    command.upgrade(config, "head")
    assert drift(engine) == []


def test_sqlite_dataset_sources_migrate_up_and_down(sqlite_file: str) -> None:
    migrate_dataset_sources_and_back(create_sql_engine(sqlite_file))


@pytest.mark.postgres
def test_postgres_dataset_sources_migrate_up_and_down(empty_postgres_url: str) -> None:
    engine = create_sql_engine(empty_postgres_url)
    migrate_dataset_sources_and_back(engine)


def _rows_from_before_0007(url: str) -> sa.Engine:
    """A database at revision 0004 holding a dataset version, a task and an inference."""
    from alembic import command

    engine = create_sql_engine(url)
    command.upgrade(alembic_config(engine), "0004")
    now = "2030-01-01 00:00:00.000000"
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO dataset_versions (name, version, artifact_id, size, added, removed, changed, "
            f"created_at, created_by, message, display) VALUES ('d', 1, 'a', 1, 1, 0, 0, '{now}', 'ada', '', '')"
        )
        connection.exec_driver_sql(
            "INSERT INTO labeling_tasks (queue, key, source, artifact_id, example_id, miner, reason, score, "
            f"created_at, display, state, skips) VALUES ('q', 'k', 'inferences', 'a', 'k', 'm', '', 0.5, '{now}', "
            "'', 'open', 0)"
        )
        connection.exec_driver_sql(
            "INSERT INTO inferences (request_id, model, model_version, logged_at, batch_id, display) "
            f"VALUES ('r1', 'm', 1, '{now}', 'a', '')"
        )
    return engine


def _upgraded_rows_read_as_before(engine: sa.Engine) -> None:
    from loopline.cl.store.sql import SqlCLStore

    store = SqlCLStore(engine)
    assert current_revision(engine) == HEAD_REVISION
    version = store.get_dataset_version("d")
    (task,) = store.list_tasks("q")
    record = store.get_inference("r1")
    assert (version.state, version.decision) == ("canonical", "")
    assert (task.kind, task.review_reason, task.fingerprint, task.blame) == ("label", "", "", None)
    assert (record.relogged, record.relogged_at) == (0, None)


def test_sqlite_rows_from_before_0007_read_as_canonical_labeled_tasks(sqlite_file: str) -> None:
    _upgraded_rows_read_as_before(_rows_from_before_0007(sqlite_file))


@pytest.mark.postgres
def test_postgres_rows_from_before_0007_read_as_canonical_labeled_tasks(empty_postgres_url: str) -> None:
    engine = _rows_from_before_0007(empty_postgres_url)
    _upgraded_rows_read_as_before(engine)
    engine.dispose()


def schema_of(path: Path) -> set[tuple[str, str, str, str]]:
    connection = sqlite3.connect(path)
    try:
        return set(connection.execute("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master"))
    finally:
        connection.close()


def test_the_script_a_new_sqlite_store_gets_is_what_the_migrations_make() -> None:
    assert SCRIPT.read_text() == migrated_schema(), (
        "head_schema.sql is behind the migrations: run `python -m loopline.storage.sql.head_schema`"
    )


def test_a_new_embedded_store_has_the_schema_the_migrations_make(tmp_path: Path) -> None:
    SqliteMetadataStore(f"sqlite:///{tmp_path / 'scripted.db'}").close()
    upgrade(create_sql_engine(f"sqlite:///{tmp_path / 'migrated.db'}"))
    assert schema_of(tmp_path / "scripted.db") == schema_of(tmp_path / "migrated.db")
    assert drift(create_sql_engine(f"sqlite:///{tmp_path / 'scripted.db'}")) == []


def test_a_store_an_older_loopline_made_is_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_sql_engine(url)
    command.upgrade(alembic_config(engine), "0004")
    store = SqliteMetadataStore(url)
    assert current_revision(engine) == HEAD_REVISION and drift(engine) == []
    store.close()


def test_four_processes_can_open_a_fresh_embedded_store_at_once(sqlite_file: str) -> None:
    assert in_processes(open_embedded_store, *[(sqlite_file,)] * 4) == [0, 0, 0, 0]
    assert current_revision(create_sql_engine(sqlite_file)) == HEAD_REVISION
