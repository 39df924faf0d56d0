"""`SnowflakeTable`: a typed reference to a table in Snowflake (Sematic's type).

It names a table; passing it between funcs moves no data. `to_df()` reads the table with
SQLAlchemy and Snowflake's SQLAlchemy dialect (`pip install snowflake-sqlalchemy`), as the
user named by `SNOWFLAKE_USER`, `SNOWFLAKE_PASSWORD` and `SNOWFLAKE_ACCOUNT` (Sematic's
settings) unless a SQLAlchemy `url` is given.

This is the reference Sematic code expects; it is to become one kind of `loopline.data`'s
warehouse table references, which snapshot what a pipeline reads into an artifact.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from loopline.errors import UsageError

_CREDENTIALS = ("SNOWFLAKE_USER", "SNOWFLAKE_PASSWORD", "SNOWFLAKE_ACCOUNT")


@dataclasses.dataclass(frozen=True)
class SnowflakeTable:
    """The table `table` of the Snowflake database `database`."""

    database: str
    table: str

    def url(self, environ: Mapping[str, str] | None = None) -> str:
        """The SQLAlchemy URL of the database, with the credentials from the environment."""
        env = os.environ if environ is None else environ
        missing = [name for name in _CREDENTIALS if not env.get(name)]
        if missing:
            raise UsageError(
                f"reading the Snowflake table {self.table} needs {', '.join(missing)} in the "
                "environment (or pass url='snowflake://user:password@account/database')"
            )
        user, password, account = (quote(env[name], safe="") for name in _CREDENTIALS)
        return f"snowflake://{user}:{password}@{account}/{quote(self.database, safe='')}"

    def to_df(self, limit: int = -1, url: str | None = None) -> Any:
        """The table as a pandas DataFrame (its first `limit` rows when `limit` >= 0)."""
        import pandas
        import sqlalchemy

        try:
            engine = sqlalchemy.create_engine(url or self.url())
        except sqlalchemy.exc.NoSuchModuleError as error:
            raise UsageError(
                "SnowflakeTable needs Snowflake's SQLAlchemy dialect: pip install snowflake-sqlalchemy"
            ) from error
        query = sqlalchemy.select(sqlalchemy.text("*")).select_from(sqlalchemy.table(self.table))
        if limit >= 0:
            query = query.limit(limit)
        try:
            with engine.connect() as connection:
                return pandas.read_sql(query, connection)
        finally:
            engine.dispose()
