"""artifact values and cache lookups: small artifacts' bytes as rows beside the metadata, and an
index that makes a cache lookup one seek

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-04 03:00:00.000000

Artifacts of at most 16 KiB live in `artifact_values` when the large ones live on an object store
(`loopline.storage.values.TieredArtifactStore`), instead of one object each. Runs are found by
cache key and state with `ix_runs_cache_key_state` (it replaces the index on the key alone, under
which a lookup read every run that ever reused the result).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loopline.storage.sql.tables  # noqa: F401  (puts the table on `metadata` for schema comparisons)

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "artifact_values",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("written_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.drop_index("ix_runs_cache_key", table_name="runs")
    op.create_index("ix_runs_cache_key_state", "runs", ["cache_key", "state"])


def downgrade() -> None:
    op.drop_index("ix_runs_cache_key_state", table_name="runs")
    op.create_index("ix_runs_cache_key", "runs", ["cache_key"])
    op.drop_table("artifact_values")
