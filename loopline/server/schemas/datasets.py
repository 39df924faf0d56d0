"""Datasets as the API shows them: versions and the difference between two."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from loopline.server.schemas.common import RecordOut


class DatasetSourceOut(RecordOut):
    """Where a version imported from a table came from (`Dataset.from_table`)."""

    snapshot_id: str = Field(description="the Parquet snapshot artifact the examples were read from")
    kind: str = Field(description='"query", "table", "files" or "frame"')
    url: str = Field(description="the source, without its password")
    key: str = Field(description="the column whose value is each example's id (lineage row_key)")
    rows: int
    taken_at: dt.datetime | None
    query: str | None
    table: str | None


class DatasetVersionOut(RecordOut):
    name: str
    version: int
    artifact_id: str
    size: int
    added: int = Field(description="examples added relative to `parent`")
    removed: int
    changed: int
    parent: int | None
    created_at: dt.datetime
    created_by: str
    message: str
    run_id: str | None
    display: str = Field(description='how an example is shown, e.g. "image 8x8"')
    source: DatasetSourceOut | None = Field(None, description="the table it was imported from, if any")


class DatasetOut(BaseModel):
    name: str
    versions: list[DatasetVersionOut] = Field(description="oldest first")


class DatasetDiffOut(RecordOut):
    old: str
    new: str
    added: list[str] = Field(description="example ids")
    removed: list[str]
    changed: list[str] = Field(description="ids whose features or label changed")
