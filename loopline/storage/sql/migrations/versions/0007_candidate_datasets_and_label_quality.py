"""candidate dataset versions, labeling quality control, re-logged inferences, queue settings

Dataset versions get a state (canonical, candidate, rejected) and who decided it; labeling
tasks get a kind (label, gold, second), the known answer of a gold question, why a person must
review a label, the gate's blame, the input's fingerprint, the labeler a second opinion must not
come from, the task it is a second opinion on, and the candidate version it was proposed to;
loop rounds get what the new loop records; inferences count the times their request id was
logged again; `labeling_queues` keeps each queue's settings.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-04 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loopline.storage.sql.cl_tables  # noqa: F401  (puts the tables on `metadata` for schema comparisons)
from loopline.storage.sql.tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="canonical")
        )
        batch_op.add_column(sa.Column("decided_by", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("decided_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("decision", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("inferences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("relogged", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("relogged_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("labeling_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="label"))
        batch_op.add_column(sa.Column("gold_label", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("review_reason", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("blame", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("excluded_labeler", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("of_task", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("proposed_to", sa.String(length=300), nullable=True))
        batch_op.create_index("ix_labeling_tasks_queue_fingerprint", ["queue", "fingerprint"], unique=False)
    with op.batch_alter_table("loop_rounds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proposed", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("waiting", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("returned", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("blamed", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("quality", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("relogged", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("accepted_by", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("accepted_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("accept_reason", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "labeling_queues",
        sa.Column("queue", sa.String(length=256), nullable=False),
        sa.Column("dataset", sa.String(length=256), nullable=True),
        sa.Column("review", sa.Boolean(), nullable=False),
        sa.Column("agreement", sa.Float(), nullable=False),
        sa.Column("gold", sa.String(length=300), nullable=True),
        sa.Column("gold_share", sa.Float(), nullable=False),
        sa.Column("min_accuracy", sa.Float(), nullable=False),
        sa.Column("min_gold", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.Column("updated_by", sa.String(length=256), nullable=False),
        sa.Column("label_type", sa.String(length=16), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("queue"),
    )


def downgrade() -> None:
    op.drop_table("labeling_queues")
    with op.batch_alter_table("loop_rounds", schema=None) as batch_op:
        for column in (
            "accept_reason", "accepted_at", "accepted_by", "relogged", "quality", "blamed", "returned",
            "waiting", "proposed",
        ):  # fmt: skip
            batch_op.drop_column(column)
    with op.batch_alter_table("labeling_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_labeling_tasks_queue_fingerprint")
        for column in (
            "proposed_to", "of_task", "excluded_labeler", "fingerprint", "blame", "review_reason",
            "gold_label", "kind",
        ):  # fmt: skip
            batch_op.drop_column(column)
    with op.batch_alter_table("inferences", schema=None) as batch_op:
        batch_op.drop_column("relogged_at")
        batch_op.drop_column("relogged")
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        for column in ("decision", "decided_at", "decided_by", "state"):
            batch_op.drop_column(column)
