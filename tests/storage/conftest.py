"""Real databases for the storage tests: SQLite files, and a PostgreSQL server started once per
session from Debian's binaries.

Each test that asks for `sqlite_url` gets its own copy of a migrated SQLite file.

Each test class that asks for `postgres_url` gets a database of its own, copied from a template
that already has the schema, and every test starts with its tables emptied, so tests never see
each other's rows. (Creating a database costs a third of a second; emptying one, milliseconds.)
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tools.postgres import PG_BIN, PostgresUnavailable
from tools.postgres import postgres_server as running_postgres

TEMPLATE = "loopline_template"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from loopline.storage.sql.store import SqlMetadataStore

    path = tmp_path_factory.mktemp("sqlite-template") / "loopline.db"
    SqlMetadataStore(f"sqlite:///{path}").close()  # the last connection to close folds the WAL in
    return path


@pytest.fixture
def sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite file for this test alone (a copy: migrating anew costs more)."""
    path = tmp_path / "loopline.db"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


def _require_postgres() -> None:
    """Skip (saying why) without a server to start or a driver; fail instead on CI."""
    reason = None
    if not (PG_BIN / "initdb").exists():
        reason = f"no PostgreSQL binaries in {PG_BIN} (`make postgres-deps` installs them)"
    elif importlib.util.find_spec("psycopg") is None:
        reason = "the psycopg driver is not installed (`pip install loopline[postgres]`)"
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the PostgreSQL tests, but {reason}")
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a running server (database `postgres`), stopped at the end of the session."""
    _require_postgres()
    try:
        with running_postgres() as url:
            _create_template(url)
            yield url
    except PostgresUnavailable as error:
        pytest.fail(str(error))


def _create_template(server_url: str) -> None:
    from loopline.storage.sql.store import SqlMetadataStore

    with _admin(server_url) as admin:
        admin.exec_driver_sql(f"CREATE DATABASE {TEMPLATE}")
    SqlMetadataStore(_database_url(server_url, TEMPLATE)).close()


@contextlib.contextmanager
def _admin(server_url: str) -> Iterator[sa.Connection]:
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _database_url(server_url: str, name: str) -> str:
    return server_url.rsplit("/", 1)[0] + "/" + name


@contextlib.contextmanager
def postgres_database(server_url: str, *, migrated: bool = True) -> Iterator[str]:
    """A new database for one test: a copy of the migrated template, or empty."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with _admin(server_url) as admin:
        admin.exec_driver_sql(f"CREATE DATABASE {name}" + (f" TEMPLATE {TEMPLATE}" if migrated else ""))
    try:
        yield _database_url(server_url, name)
    finally:
        with _admin(server_url) as admin:
            admin.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="class")
def _class_database(postgres_server: str) -> Iterator[str]:
    with postgres_database(postgres_server) as url:
        yield url


@pytest.fixture
def postgres_url(_class_database: str) -> str:
    """A migrated database with no rows, for this test alone."""
    engine = sa.create_engine(_class_database, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            tables = sa.inspect(connection).get_table_names()
            for table in tables:
                if table != "alembic_version":
                    connection.exec_driver_sql(f'DELETE FROM "{table}"')
    finally:
        engine.dispose()
    return _class_database


@pytest.fixture
def empty_postgres_url(postgres_server: str) -> Iterator[str]:
    """A database with no tables at all (for migration tests)."""
    with postgres_database(postgres_server, migrated=False) as url:
        yield url
