"""A run's output and metrics as the API shows them."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from loopline.server.schemas.common import RecordOut


class LogChunkOut(RecordOut):
    seq: int
    run_id: str
    stream: str
    text: str
    created_at: dt.datetime


class LogsOut(BaseModel):
    run_id: str
    chunks: list[LogChunkOut]
    last_seq: int = Field(description="pass as `after` to read only newer output")
    finished: bool = Field(description="the run has ended, so no more output will come")


class MetricOut(RecordOut):
    run_id: str
    name: str
    value: float
    step: int | None
    created_at: dt.datetime
