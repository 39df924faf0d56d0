"""Team mode's SQL tables: users, their API keys and dashboard sessions, the audit log, and the
write batches a server has applied (so a batch sent again is applied once).

Secrets are never stored: a password as its scrypt hash, a key and a session as the SHA-256 of
their random secret. Changes here need an Alembic migration (0008 created these tables).
"""

from __future__ import annotations

import sqlalchemy as sa

from loopline.storage.sql.tables import UTCDateTime, metadata

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(256)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),  # the key's public part, shown in lists
    sa.Column("user", sa.String(128), nullable=False, index=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16)),  # at most the user's role; None: the user's
    sa.Column("label", sa.String(256), nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("expires_at", UTCDateTime()),
    sa.Column("revoked_at", UTCDateTime()),
    sa.Column("last_used_at", UTCDateTime()),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user", sa.String(128), nullable=False, index=True),
    sa.Column("key_id", sa.String(32)),  # signed in by pasting a key: the session ends with it
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False, index=True),
    sa.Column("actor", sa.String(128), nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("origin", sa.String(256), nullable=False),  # the client's address, or "local"
    sa.Column("action", sa.String(64), nullable=False, index=True),
    sa.Column("target", sa.String(512), nullable=False, server_default=""),
    sa.Column("detail", sa.JSON(), nullable=False),
)

write_batches = sa.Table(
    "write_batches",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("applied_at", UTCDateTime(), nullable=False, index=True),
)
