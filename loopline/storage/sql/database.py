"""SQL engines for SQLite (embedded, WAL) and PostgreSQL, and their schema migrations."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from loopline.errors import StoreError
from loopline.storage.sql.head import HEAD_REVISION
from loopline.storage.sql.new_sqlite import migration_lock
from loopline.storage.sql.pragmas import configure_sqlite_connection
from loopline.storage.sql.rows import dump_json

WRITE_OPTION = "loopline_write"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_sql_engine(url: str) -> sa.Engine:
    """An engine for `url`. SQLite gets WAL mode, `synchronous=NORMAL` and write transactions
    that take the write lock up front (BEGIN IMMEDIATE), so concurrent writers queue instead of
    failing with "database is locked"."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"timeout": 60, "check_same_thread": False}, json_serializer=dump_json
        )
        sa.event.listen(engine, "connect", _configure_sqlite_connection)
        sa.event.listen(engine, "begin", _begin_sqlite_transaction)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        return sa.create_engine(url, pool_pre_ping=True, json_serializer=dump_json)
    except (ImportError, sa.exc.ArgumentError) as exc:
        raise StoreError(
            f"cannot use database {hide_password(url)}: {exc}. For PostgreSQL, install `loopline[postgres]`"
        ) from exc


def unreachable(url: str, error: sa.exc.DBAPIError) -> StoreError:
    """The database at `url` refused a connection (or is not there): say which (never with its
    password), why in its own words, and what to check."""
    reason = str(error.orig).strip().splitlines()[0] if error.orig is not None else type(error).__name__
    return StoreError(
        f"cannot connect to the database {hide_password(url)} (LOOPLINE_DATABASE_URL): {reason}. "
        "Check that the database server runs and accepts connections there, and that the URL's "
        "host, port, user, password and database name are right"
    )


def hide_password(url: str) -> str:
    """`url` as it may be shown: its password as ***."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "a database URL that is not one (LOOPLINE_DATABASE_URL)"


def dialect_insert(engine: sa.Engine, table: sa.Table) -> Any:
    """An INSERT that can say ON CONFLICT, from the module of the engine's own dialect: it was
    loaded with the engine, and the other dialect never is (PostgreSQL's alone costs ~40 ms)."""
    return sys.modules[f"sqlalchemy.dialects.{engine.dialect.name}"].insert(table)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    configure_sqlite_connection(dbapi_connection)


def _begin_sqlite_transaction(connection: sa.Connection) -> None:
    write = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextlib.contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    with engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            yield connection


def current_revision(engine: sa.Engine) -> str | None:
    """The database's schema revision (None: no schema yet), read with one query: no reflection."""
    with engine.connect() as connection:
        try:
            return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # no such table (not a corrupt file)
            return None


def alembic_config(engine: sa.Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: sa.Engine) -> None:
    """Apply pending migrations (cheap when the schema is already at head)."""
    if current_revision(engine) == HEAD_REVISION:
        return
    with _migration_lock(engine):
        current = current_revision(engine)
        if current == HEAD_REVISION:
            return
        from alembic import command
        from alembic.util.exc import CommandError

        try:
            command.upgrade(alembic_config(engine), "head")
        except CommandError as exc:  # most likely a revision this version does not know
            raise StoreError(
                f"cannot migrate the database {engine.url!r} from revision {current!r} ({exc}). "
                "It was probably created by a newer Loopline: upgrade Loopline to use it"
            ) from exc


_PG_LOCK_KEY = 0x4C4F4F504C494E45  # "LOOPLINE": the advisory lock that serializes migrations


@contextlib.contextmanager
def _migration_lock(engine: sa.Engine) -> Iterator[None]:
    """Several processes may open a fresh store at once: migrate one at a time (a lock file next
    to a SQLite database, the one `new_sqlite` takes; an advisory lock on PostgreSQL)."""
    backend, database = engine.url.get_backend_name(), engine.url.database
    if backend == "postgresql":
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
        return
    if backend != "sqlite" or not database or database == ":memory:":
        yield
        return
    with migration_lock(database):
        yield
