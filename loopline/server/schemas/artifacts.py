"""Artifacts as the API shows them: type, size and the summary pages display."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field, field_validator

from loopline.core.summaries import MAX_TABLE_COLUMNS
from loopline.server.schemas.common import RecordOut


class ArtifactOut(RecordOut):
    id: str
    type_name: str
    size: int
    summary: dict[str, Any]
    created_at: dt.datetime

    @field_validator("summary", mode="before")
    @classmethod
    def _summary_object(cls, summary: Any) -> Any:
        # The API promises an object: a summary that is some other JSON value is shown by its text.
        return summary if isinstance(summary, dict) else {"kind": "object", "repr": str(summary)}


class RowsOut(BaseModel):
    """One page of a stored table's rows, its cells as plain JSON (NaN reads "nan")."""

    artifact_id: str
    total: int = Field(description="rows in the whole table")
    offset: int
    limit: int
    sort: str | None = Field(description="the column the whole table was sorted by, if any")
    descending: bool
    columns: list[str] = Field(description=f"the first {MAX_TABLE_COLUMNS} columns, as summaries name them")
    index: list[Any] = Field(description="each row's index label")
    rows: list[list[Any]] = Field(description="each row's cells, in the order of `columns`")
