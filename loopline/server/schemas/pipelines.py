"""Pipelines as the API lists them: run counts, success rate and recent durations."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from loopline.core.records import RunState
from loopline.server.schemas.runs import RunOut


class DurationPoint(BaseModel):
    run_id: str
    state: RunState
    created_at: dt.datetime
    duration_s: float | None


class PipelineOut(BaseModel):
    function: str
    name: str
    runs: int
    succeeded: int
    failed: int
    running: int
    success_rate: float | None = Field(description="succeeded / finished runs; null when none finished")
    last_run: RunOut
    recent: list[DurationPoint] = Field(description="latest runs, newest first")


class PipelinesOut(BaseModel):
    pipelines: list[PipelineOut]
