"""`SqlValueTable`: small artifacts' bytes in the `artifact_values` table of any SQL database,
through SQLAlchemy (PostgreSQL beside a team's object store; see `loopline.storage.values`)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from loopline.storage.sql.database import dialect_insert, write_transaction
from loopline.storage.sql.tables import artifact_values as t


class SqlValueTable:
    def __init__(self, engine: sa.Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    def put(self, artifact_id: str, data: bytes) -> None:
        stmt = dialect_insert(self.engine, t).values(id=artifact_id, data=data, written_at=time.time())
        with write_transaction(self.engine) as conn:
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[t.c.id],
                    set_={"data": stmt.excluded.data, "written_at": stmt.excluded.written_at},
                )
            )

    def _scalar(self, column: sa.ColumnElement[Any], artifact_id: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(column).where(t.c.id == artifact_id)).scalar()

    def get(self, artifact_id: str) -> bytes | None:
        data = self._scalar(t.c.data, artifact_id)
        return None if data is None else bytes(data)

    def has(self, artifact_id: str) -> bool:
        return self._scalar(sa.literal(1), artifact_id) is not None

    def written_at(self, artifact_id: str) -> float | None:
        value = self._scalar(t.c.written_at, artifact_id)
        return None if value is None else float(value)

    def delete(self, artifact_ids: Sequence[str]) -> None:
        ids = list(artifact_ids)
        with write_transaction(self.engine) as conn:
            for start in range(0, len(ids), 500):
                conn.execute(t.delete().where(t.c.id.in_(ids[start : start + 500])))

    def ids(self) -> Iterator[str]:
        with self.engine.connect() as conn:
            found = list(conn.execute(sa.select(t.c.id)).scalars())
        yield from found

    def close(self) -> None:
        self.engine.dispose()
