"""dataset sources: where a dataset version imported from a table came from

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loopline.storage.sql.cl_tables  # noqa: F401  (puts the table on `metadata` for schema comparisons)

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dataset_versions") as batch:
        batch.add_column(sa.Column("source", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dataset_versions") as batch:
        batch.drop_column("source")
