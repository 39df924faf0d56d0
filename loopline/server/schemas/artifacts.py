"""Artifacts as the API shows them: type, size and the summary pages display."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import field_validator

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
