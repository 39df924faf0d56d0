"""Writes `head_schema.sql`, the script a new SQLite store gets (see `new_sqlite.py`), from what
the migrations make in an empty SQLite file:

    python -m loopline.storage.sql.head_schema
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from loopline.storage.sql.database import create_sql_engine, upgrade
from loopline.storage.sql.head import HEAD_REVISION
from loopline.storage.sql.new_sqlite import SCRIPT


def migrated_schema() -> str:
    """The statements the migrations leave in an empty SQLite file, in the order they were made,
    and the row of the head revision."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "new.db"
        engine = create_sql_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        connection = sqlite3.connect(path)
        try:
            made = connection.execute(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
            ).fetchall()
            (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            connection.close()
    if revision != HEAD_REVISION:
        raise SystemExit(
            f"the migrations end at {revision}, but head.py says HEAD_REVISION = {HEAD_REVISION!r}"
        )
    statements = [sql for (sql,) in made]
    statements.append(f"INSERT INTO alembic_version (version_num) VALUES ('{revision}')")
    header = (
        f"-- The head schema ({revision}) as the migrations make it in an empty SQLite file.\n"
        "-- Written by `python -m loopline.storage.sql.head_schema`; do not edit by hand.\n"
    )
    return header + "".join(f"{statement};\n" for statement in statements)


if __name__ == "__main__":
    SCRIPT.write_text(migrated_schema())
    print(f"wrote {SCRIPT}")
