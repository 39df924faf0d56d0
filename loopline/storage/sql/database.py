"""SQL engines for SQLite (embedded, WAL) and PostgreSQL, and their schema migrations."""

from __future__ import annotations

import contextlib
import fcntl
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from loopline.errors import StoreError

HEAD_REVISION = "0004"
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
            f"cannot use database {url!r}: {exc}. For PostgreSQL, install `loopline[postgres]`"
        ) from exc


def dump_json(value: Any) -> str:
    """JSON as typed, without \\u escapes, so text search can look inside JSON columns."""
    return json.dumps(value, ensure_ascii=False)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see below)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=60000")
    _enable_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-16384")  # 16 MiB of pages per connection
    cursor.close()


def _enable_wal(cursor: Any, patience_s: float = 60.0) -> None:
    """Switch the database to WAL. On a fresh file several processes may race to do it, and
    SQLite answers "database is locked" without waiting on the busy timeout while another
    connection holds the lock this switch needs: retry until the other one is done."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


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
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


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
    to a SQLite database, an advisory lock on PostgreSQL)."""
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
    with open(f"{database}.migrate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
