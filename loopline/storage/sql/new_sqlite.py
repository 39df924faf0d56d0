"""A new SQLite store gets the head schema from one script: no Alembic, no SQLAlchemy.

`head_schema.sql` holds the statements the migrations leave in an empty SQLite file (tables
and indexes, in the order they were made) and the head revision; running it makes the same
database the migrations make, in milliseconds instead of the ~0.6 s Alembic takes to load and
run. A database that has a schema already goes through Alembic when it is behind.

After adding a migration, write the script again (a test says when it is due):

    python -m loopline.storage.sql.head_schema
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
from collections.abc import Iterator
from pathlib import Path

SCRIPT = Path(__file__).with_name("head_schema.sql")


@contextlib.contextmanager
def migration_lock(database: str) -> Iterator[None]:
    """Several processes may open a fresh store at once: one makes (or migrates) its schema at a
    time, holding a lock file next to the database."""
    with open(f"{database}.migrate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def is_empty(connection: sqlite3.Connection) -> bool:
    (count,) = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return bool(count == 0)


def create_head_schema(connection: sqlite3.Connection) -> None:
    """Make the head schema in an empty database, in one transaction."""
    statements = SCRIPT.read_text()
    connection.execute("BEGIN IMMEDIATE")
    try:
        for statement in statements.split(";\n"):
            if statement.strip():
                connection.execute(statement)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
