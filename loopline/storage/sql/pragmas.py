"""How every connection to a SQLite store is set up, whichever way it was opened (SQLAlchemy's
engine or the standard library's sqlite3 on the embedded store's fast path)."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

BUSY_TIMEOUT_MS = 60_000
CACHE_KIB = 16 * 1024  # pages kept per connection (queries over many runs: the dashboard's)
# For connections that look rows up by key (a runner's, the table of small values): a big cache
# would only hold memory that grows with the store (measured: no slower than 2 MiB or 16 MiB).
LOOKUP_CACHE_KIB = 512


def configure_sqlite_connection(connection: sqlite3.Connection, *, cache_kib: int = CACHE_KIB) -> None:
    """Autocommit (the stores issue BEGIN themselves, IMMEDIATE for writes, so concurrent writers
    queue instead of failing with "database is locked"), WAL, `synchronous=NORMAL`."""
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    _enable_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA cache_size=-{cache_kib}")
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
