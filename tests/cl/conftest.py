"""Fixtures of the continuous-learning tests: the storage suite's real databases (a migrated
SQLite file per test, a PostgreSQL server per session) are shared, not rebuilt."""

from __future__ import annotations

from tests.storage.conftest import (  # noqa: F401 - fixtures, used by name
    _class_database,
    _sqlite_template,
    postgres_server,
    postgres_url,
    sqlite_url,
)
