"""The continuous-learning layer's SQL tables, on the same `metadata` as the engine's tables.

Rows hold ids and small metadata; examples, models and reports are artifacts. Changes here need
an Alembic migration (0002 created these tables, 0004 `record_revisions`).
"""

from __future__ import annotations

import sqlalchemy as sa

from loopline.storage.sql.tables import UTCDateTime, metadata

dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("artifact_id", sa.String(64), nullable=False, index=True),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("added", sa.BigInteger(), nullable=False),
    sa.Column("removed", sa.BigInteger(), nullable=False),
    sa.Column("changed", sa.BigInteger(), nullable=False),
    sa.Column("parent", sa.Integer()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Column("display", sa.String(128), nullable=False),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("artifact_id", sa.String(64), nullable=False, index=True),
    sa.Column("type_name", sa.String(512), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("training_run_id", sa.String(64)),
    sa.Column("dataset", sa.String(300)),
    sa.Column("code_version", sa.String(128)),
    sa.Column("metrics", sa.JSON(), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("model", sa.String(256), primary_key=True),
    sa.Column("alias", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("moved_at", UTCDateTime(), nullable=False),
)

alias_moves = sa.Table(
    "alias_moves",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(256), nullable=False),
    sa.Column("alias", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("previous", sa.Integer()),
    sa.Column("moved_at", UTCDateTime(), nullable=False),
    sa.Column("moved_by", sa.String(128), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("report_id", sa.String(64)),
    sa.Column("forced", sa.Boolean(), nullable=False),
    sa.Index("ix_alias_moves_model_alias", "model", "alias", "id"),
)

regression_reports = sa.Table(
    "regression_reports",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("created_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("candidate", sa.String(300), nullable=False),
    sa.Column("baseline", sa.String(300)),
    sa.Column("golden", sa.String(300)),
    sa.Column("passed", sa.Boolean(), nullable=False),
    sa.Column("scenarios", sa.Integer(), nullable=False),
    sa.Column("failed", sa.Integer(), nullable=False),
    sa.Column("model", sa.String(256), index=True),
    sa.Column("run_id", sa.String(64)),
    sa.Column("commit", sa.String(64)),
)

schedules = sa.Table(
    "schedules",
    metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("target", sa.Text(), nullable=False),
    sa.Column("params", sa.JSON(), nullable=False),
    sa.Column("trigger", sa.JSON(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("active_since", UTCDateTime(), nullable=False),
    sa.Column("cwd", sa.Text(), nullable=False),
    sa.Column("paused", sa.Boolean(), nullable=False),
    sa.Column("webhooks", sa.JSON(), nullable=False),
)

schedule_slots = sa.Table(
    "schedule_slots",
    metadata,
    sa.Column("schedule", sa.String(256), primary_key=True),
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("due_at", UTCDateTime(), nullable=False),
    sa.Column("fired_at", UTCDateTime(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("dataset_version", sa.Integer()),
    sa.Index("ix_schedule_slots_due", "schedule", "due_at"),
)

record_revisions = sa.Table(  # a counter per kind of record, bumped by each write (cl/revisions.py)
    "record_revisions",
    metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("revision", sa.BigInteger(), nullable=False),
)
