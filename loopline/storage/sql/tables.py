"""The SQL schema (SQLAlchemy Core). Changes here need an Alembic migration; a test checks."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite has no time zones)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class MetricValue(TypeDecorator[float]):
    """A float that may be NaN. SQLite turns a NaN parameter into NULL, so there NaN is written as
    the text 'NaN' (a REAL column keeps text that is not a number as text) and read back."""

    impl = sa.Float
    cache_ok = True

    def bind_processor(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":  # not Float's processor: it would turn 'NaN' back into NaN
            return _nan_as_text
        return super().bind_processor(dialect)

    def process_result_value(self, value: float | str | None, dialect: Any) -> float | None:
        return None if value is None else float(value)


def _nan_as_text(value: float | None) -> float | str | None:
    return "NaN" if value is not None and math.isnan(value) else value


metadata = sa.MetaData()

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("root_id", sa.String(64), nullable=False, index=True),
    sa.Column("parent_id", sa.String(64), index=True),
    sa.Column("function", sa.String(512), nullable=False, index=True),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("started_at", UTCDateTime()),
    sa.Column("ended_at", UTCDateTime()),
    sa.Column("tags", sa.JSON(), nullable=False),
    sa.Column("inputs", sa.JSON(), nullable=False),
    sa.Column("output_id", sa.String(64)),
    sa.Column("cache_key", sa.String(64)),
    sa.Column("cached_from", sa.String(64)),
    sa.Column("code_version", sa.String(64), nullable=False),
    sa.Column("resources", sa.JSON(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("error", sa.JSON()),
    sa.Column("runner_id", sa.String(64), index=True),
    sa.Column("executor", sa.String(16), nullable=False),
    sa.Column("user", sa.String(128)),
    sa.Column("git", sa.JSON()),
    sa.Column("launch", sa.JSON()),
    sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index("ix_runs_created", "created_at", "id"),
    sa.Index("ix_runs_state_created", "state", "created_at"),
    sa.Index("ix_runs_parent_created", "parent_id", "created_at"),
    sa.Index("ix_runs_updated", "updated_at"),
    # A cache lookup is one seek, however many runs reused a result (each hit adds a CACHED run).
    sa.Index("ix_runs_cache_key_state", "cache_key", "state"),
)

code_versions = sa.Table(
    "code_versions",
    metadata,
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("source", sa.Text(), nullable=False),
    sa.Column("docstring", sa.Text()),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("type_name", sa.String(512), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("summary", sa.JSON(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

logs = sa.Table(
    "logs",
    metadata,
    sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("stream", sa.String(16), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_logs_run_seq", "run_id", "seq"),
)

metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False, index=True),
    sa.Column("root_id", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("value", MetricValue(), nullable=False),
    sa.Column("step", sa.Integer()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

notes = sa.Table(
    "notes",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False, index=True),
    sa.Column("author", sa.String(128), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

runners = sa.Table(
    "runners",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("host", sa.String(256), nullable=False),
    sa.Column("pid", sa.Integer(), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
    sa.Column("stopped_at", UTCDateTime()),
)

# Small artifacts' bytes, beside the metadata when the large ones live on an object store
# (`loopline.storage.values`; a local artifact folder keeps the same table in its own file).
artifact_values = sa.Table(
    "artifact_values",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("data", sa.LargeBinary(), nullable=False),
    sa.Column("written_at", sa.Float(), nullable=False),
)
