"""record revisions: a counter per kind of record, for live dashboard pages

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 05:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import loopline.storage.sql.cl_tables  # noqa: F401  (puts the table on `metadata` for schema comparisons)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_revisions",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind"),
    )


def downgrade() -> None:
    op.drop_table("record_revisions")
