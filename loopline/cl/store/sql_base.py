"""`SqlBase`: what the SQL implementation of the CL store builds on: the engine it shares with
the metadata store, dialect-aware inserts, write transactions that bump a kind of record's
revision, and retries of writes that lost a race for a number.

A revision is a row per kind, bumped inside the write transaction it stands for, so a reader
never sees the revision move before the records it announces are committed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import sqlalchemy as sa

from loopline.cl.store.revisions import RecordKind
from loopline.storage.sql.cl_tables import record_revisions
from loopline.storage.sql.database import create_sql_engine, dialect_insert, upgrade, write_transaction

R = TypeVar("R")
_ATTEMPTS = 5


class SqlBase:
    def __init__(self, url_or_engine: str | sa.Engine, *, migrate: bool = True) -> None:
        self.engine = create_sql_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        self._dialect = self.engine.dialect.name
        if migrate:
            upgrade(self.engine)

    def _insert(self, table: sa.Table) -> Any:
        return dialect_insert(self.engine, table)

    @contextlib.contextmanager
    def writing(self, kind: RecordKind) -> Iterator[sa.Connection]:
        """A write transaction that bumps `kind`'s revision as its last statement (not on failure)."""
        with write_transaction(self.engine) as conn:
            yield conn
            r = record_revisions
            conn.execute(
                self._insert(r)
                .values(kind=kind.value, revision=1)
                .on_conflict_do_update(index_elements=[r.c.kind], set_={"revision": r.c.revision + 1})
            )

    def _retrying(self, attempt: Callable[[sa.Connection], R], kind: RecordKind) -> R:
        """`attempt` in a write transaction, again when a concurrent writer took the same number
        (PostgreSQL; SQLite's write lock already serializes writers)."""
        for tries in range(_ATTEMPTS):
            try:
                with self.writing(kind) as conn:
                    return attempt(conn)
            except sa.exc.IntegrityError:
                if tries == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def revisions(self) -> dict[str, int]:
        r = record_revisions
        with self.engine.connect() as conn:
            return {kind: int(rev) for kind, rev in conn.execute(sa.select(r.c.kind, r.c.revision))}
