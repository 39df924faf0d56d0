"""A run's output and metrics as the API shows them."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from loopline.core.records import LogWindow
from loopline.server.schemas.common import RecordOut


class LogChunkOut(RecordOut):
    seq: int
    run_id: str
    stream: str
    text: str
    created_at: dt.datetime


class LogsOut(BaseModel):
    """A window of the run's output; `earlier` and `later` say how to read the rest."""

    run_id: str
    chunks: list[LogChunkOut] = Field(description="the window's output, in order (cut to it at both ends)")
    offset: int = Field(description="the character the window starts at")
    end: int = Field(description="the character after the window: pass as `offset` for newer output")
    total: int = Field(description="characters the run has written so far")
    truncated: bool = Field(description="output before or after the window was left out")
    earlier: str | None = Field(description="the URL of the window just before this one (null: none)")
    later: str | None = Field(description="the URL of the output after this window (null: none yet)")
    last_seq: int = Field(description="pass as `after` to /logs/stream to follow only newer output")
    finished: bool = Field(description="the run has ended, so no more output will come")

    @classmethod
    def of(cls, window: LogWindow, limit: int, *, finished: bool) -> LogsOut:
        url = f"/api/v1/runs/{window.run_id}/logs"
        before = max(0, window.start - limit)
        end = window.end
        return cls(
            run_id=window.run_id,
            chunks=[LogChunkOut.model_validate(c) for c in window.chunks],
            offset=window.start,
            end=end,
            total=window.total,
            truncated=window.start > 0 or end < window.total,
            earlier=f"{url}?offset={before}&limit={window.start - before}" if window.start > 0 else None,
            later=f"{url}?offset={end}&limit={limit}" if end < window.total else None,
            last_seq=window.chunks[-1].seq if window.chunks else 0,
            finished=finished,
        )


class MetricOut(RecordOut):
    run_id: str
    name: str
    value: float
    step: int | None
    created_at: dt.datetime
