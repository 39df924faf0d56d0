"""Tables from warehouses and files as typed, reproducible pipeline inputs.

    from typing import Annotated
    import pandas as pd
    import loopline
    from loopline.data import Query, Schema

    @loopline.func(cache=True)
    def train(rows: Annotated[pd.DataFrame, Schema(id=int, text=str, label=int)]) -> float: ...

    reviews = Query("SELECT id, text, label FROM reviews ORDER BY id", url="duckdb:///warehouse.duckdb")
    loopline.LocalRunner().run(train(reviews))

A source (`Query`, `Table`, `Files`) passed to a func is snapshotted when the func is called:
its rows are streamed into one Parquet file, stored as a content-addressed artifact with the
source's URL (no password), the query and the row count, so the run can be repeated after the
table changed, and a rerun on unchanged rows hits the cache. The body receives the snapshot as
its annotation asks (`Snapshot`, a pandas or polars DataFrame, a pyarrow Table or
RecordBatchReader, an iterator of record batches); a declared `Schema` is checked on the way in.

Where it sits: beside `loopline.sdk`, above `loopline.core` (whose type checks and codecs it
extends when imported); `loopline.cl` builds datasets from it. pyarrow, DuckDB, polars and
SQLAlchemy load only when a table is read (`pip install 'loopline[data]'`).
"""

from __future__ import annotations

from loopline.data.adapter import install as _install
from loopline.data.schema import Schema
from loopline.data.snapshots import Snapshot, snapshot
from loopline.data.sources import (
    DEFAULT_WAREHOUSE_URL,
    Files,
    Query,
    Table,
    TableOrigin,
    TableSource,
    is_database_url,
    source_from_url,
)
from loopline.data.urls import redact_url
from loopline.errors import DataSourceError

_install()

__all__ = [
    "DEFAULT_WAREHOUSE_URL",
    "DataSourceError",
    "Files",
    "Query",
    "Schema",
    "Snapshot",
    "Table",
    "TableOrigin",
    "TableSource",
    "is_database_url",
    "redact_url",
    "snapshot",
    "source_from_url",
]
