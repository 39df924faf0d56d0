"""Alembic environment: migrations run on the engine handed over in `config.attributes`."""

from __future__ import annotations

from alembic import context

# The continuous-learning and team tables join `metadata` on import: autogenerate must see them.
import loopline.storage.sql.cl_tables
import loopline.storage.sql.team_tables  # noqa: F401
from loopline.storage.sql.database import create_sql_engine
from loopline.storage.sql.tables import metadata

config = context.config
engine = config.attributes.get("engine") or create_sql_engine(config.get_main_option("sqlalchemy.url", ""))

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
