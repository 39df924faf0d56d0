"""The schema revision this Loopline reads and writes: its last Alembic migration.

Kept apart (no SQLAlchemy, no Alembic) so that opening a store can compare a database's revision
with it cheaply, and load Alembic only when a migration is due.
"""

HEAD_REVISION = "0008"
