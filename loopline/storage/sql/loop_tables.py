"""The continuous-improvement loop's SQL tables, on the same `metadata` as the engine's tables.

Inference rows hold the prediction and small metadata; inputs live in batch artifacts
(`batch_id`). Changes here need an Alembic migration (0003 created these tables).
"""

from __future__ import annotations

import sqlalchemy as sa

from loopline.storage.sql.tables import UTCDateTime, metadata

inferences = sa.Table(
    "inferences",
    metadata,
    sa.Column("request_id", sa.String(128), primary_key=True),
    sa.Column("model", sa.String(256), nullable=False),
    sa.Column("model_version", sa.Integer(), nullable=False),
    sa.Column("alias", sa.String(128)),
    sa.Column("logged_at", UTCDateTime(), nullable=False),
    sa.Column("prediction", sa.JSON()),
    sa.Column("confidence", sa.Float()),
    sa.Column("scores", sa.LargeBinary()),  # float64 little-endian: exact, and no text to format per row
    sa.Column("batch_id", sa.String(64), nullable=False, index=True),
    sa.Column("display", sa.String(128), nullable=False),
    sa.Column("metadata", sa.JSON(none_as_null=True)),  # NULL when empty: no JSON to encode per row
    sa.Index("ix_inferences_model_logged", "model", "model_version", "logged_at"),
    sa.Index("ix_inferences_logged", "logged_at"),
)

inference_feedback = sa.Table(
    "inference_feedback",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(128), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("source", sa.String(256), nullable=False),
    sa.Column("label", sa.JSON()),
    sa.Column("score", sa.Float()),
    sa.Column("note", sa.Text(), nullable=False),
)

labeling_tasks = sa.Table(
    "labeling_tasks",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("queue", sa.String(256), nullable=False),
    sa.Column("key", sa.String(300), nullable=False),
    sa.Column("source", sa.String(300), nullable=False),
    sa.Column("artifact_id", sa.String(64), nullable=False, index=True),
    sa.Column("example_id", sa.String(300), nullable=False),
    sa.Column("miner", sa.String(128), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("score", sa.Float(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("request_id", sa.String(128)),
    sa.Column("suggestion", sa.JSON()),
    sa.Column("display", sa.String(128), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("claimed_by", sa.String(256)),
    sa.Column("lease_until", UTCDateTime()),
    sa.Column("label", sa.JSON()),
    sa.Column("labeled_by", sa.String(256)),
    sa.Column("labeled_at", UTCDateTime()),
    sa.Column("reviewed_by", sa.String(256)),
    sa.Column("reviewed_at", UTCDateTime()),
    sa.Column("skips", sa.Integer(), nullable=False),
    sa.Column("committed_to", sa.String(300)),
    sa.Column("committed_at", UTCDateTime()),
    sa.UniqueConstraint("queue", "key", name="uq_labeling_tasks_queue_key"),
    sa.Index("ix_labeling_tasks_queue_state", "queue", "state"),
)

loop_rounds = sa.Table(
    "loop_rounds",
    metadata,
    sa.Column("loop", sa.String(256), primary_key=True),
    sa.Column("round", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("model", sa.String(256), nullable=False),
    sa.Column("dataset", sa.String(256), nullable=False),
    sa.Column("queue", sa.String(256), nullable=False),
    sa.Column("ended_at", UTCDateTime()),
    sa.Column("run_id", sa.String(64)),
    sa.Column("production_before", sa.String(300)),
    sa.Column("production_after", sa.String(300)),
    sa.Column("candidate", sa.String(300)),
    sa.Column("dataset_before", sa.String(300)),
    sa.Column("dataset_after", sa.String(300)),
    sa.Column("mined", sa.Integer(), nullable=False),
    sa.Column("queued", sa.Integer(), nullable=False),
    sa.Column("labeled", sa.Integer(), nullable=False),
    sa.Column("report_id", sa.String(64)),
    sa.Column("passed", sa.Boolean()),
    sa.Column("promoted", sa.Boolean(), nullable=False),
    sa.Column("metrics", sa.JSON(), nullable=False),
    sa.Column("scenarios", sa.JSON(), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
)
