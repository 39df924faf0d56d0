"""The continuous-learning layer's SQL tables, on the same `metadata` as the engine's tables.

Rows hold ids and small metadata; examples, models, reports and the inputs of production
inferences (`batch_id`) are artifacts. Changes here need an Alembic migration (0002 created the
registry's tables, 0003 the loop's, 0004 `record_revisions`, 0005 `dataset_versions.source`, 0007
candidate dataset versions, labeling quality control and `labeling_queues`).
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
    sa.Column("source", sa.JSON()),  # DatasetSource.to_json(), for versions imported from a table
    sa.Column("state", sa.String(16), nullable=False, server_default="canonical"),
    sa.Column("decided_by", sa.String(128)),
    sa.Column("decided_at", UTCDateTime()),
    sa.Column("decision", sa.Text(), nullable=False, server_default=""),
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

record_revisions = sa.Table(  # a counter per kind of record, bumped by each write (cl/store/revisions.py)
    "record_revisions",
    metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("revision", sa.BigInteger(), nullable=False),
)

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
    sa.Column("relogged", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("relogged_at", UTCDateTime()),
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
    sa.Column("kind", sa.String(16), nullable=False, server_default="label"),
    sa.Column("gold_label", sa.JSON()),
    sa.Column("review_reason", sa.Text(), nullable=False, server_default=""),
    sa.Column("blame", sa.Float()),
    sa.Column("fingerprint", sa.String(64), nullable=False, server_default=""),
    sa.Column("excluded_labeler", sa.String(256)),
    sa.Column("of_task", sa.Integer()),
    sa.Column("proposed_to", sa.String(300)),
    sa.UniqueConstraint("queue", "key", name="uq_labeling_tasks_queue_key"),
    sa.Index("ix_labeling_tasks_queue_state", "queue", "state"),
    sa.Index("ix_labeling_tasks_queue_fingerprint", "queue", "fingerprint"),
)

labeling_queues = sa.Table(
    "labeling_queues",
    metadata,
    sa.Column("queue", sa.String(256), primary_key=True),
    sa.Column("dataset", sa.String(256)),
    sa.Column("review", sa.Boolean(), nullable=False),
    sa.Column("agreement", sa.Float(), nullable=False),
    sa.Column("gold", sa.String(300)),
    sa.Column("gold_share", sa.Float(), nullable=False),
    sa.Column("min_accuracy", sa.Float(), nullable=False),
    sa.Column("min_gold", sa.Integer(), nullable=False),
    sa.Column("updated_at", UTCDateTime()),
    sa.Column("updated_by", sa.String(256), nullable=False),
    sa.Column("label_type", sa.String(16), nullable=False),
    sa.Column("labels", sa.JSON(), nullable=False),
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
    sa.Column("proposed", sa.String(300)),
    sa.Column("waiting", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("returned", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("blamed", sa.JSON()),
    sa.Column("quality", sa.JSON()),
    sa.Column("relogged", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("accepted_by", sa.String(256)),
    sa.Column("accepted_at", UTCDateTime()),
    sa.Column("accept_reason", sa.Text(), nullable=False, server_default=""),
)
