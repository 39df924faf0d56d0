"""Record revisions in SQL: a row per kind, bumped inside the write transaction it stands for,
so a reader never sees the revision move before the records it announces are committed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from loopline.cl.revisions import RecordKind
from loopline.storage.sql.cl_tables import record_revisions
from loopline.storage.sql.database import write_transaction


@contextlib.contextmanager
def writing(engine: sa.Engine, kind: RecordKind) -> Iterator[sa.Connection]:
    """A write transaction that bumps `kind`'s revision as its last statement (not on failure)."""
    with write_transaction(engine) as conn:
        yield conn
        bump(conn, kind)


def bump(conn: sa.Connection, kind: RecordKind) -> None:
    r = record_revisions
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        insert(r)
        .values(kind=kind.value, revision=1)
        .on_conflict_do_update(index_elements=[r.c.kind], set_={"revision": r.c.revision + 1})
    )


def read_revisions(engine: sa.Engine) -> dict[str, int]:
    r = record_revisions
    with engine.connect() as conn:
        return {kind: int(revision) for kind, revision in conn.execute(sa.select(r.c.kind, r.c.revision))}
