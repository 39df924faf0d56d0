"""Registered models as the API shows them: versions, aliases and the history of alias moves."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from loopline.server.schemas.common import Finite, RecordOut


class ModelVersionOut(RecordOut):
    name: str
    version: int
    artifact_id: str
    type_name: str
    created_at: dt.datetime
    created_by: str
    training_run_id: str | None
    dataset: str | None = Field(description="the training dataset version, NAME@VERSION")
    code_version: str | None
    metrics: dict[str, Finite] = Field(description="NaN and infinities read null")
    description: str


class AliasMoveOut(RecordOut):
    id: int
    model: str
    alias: str
    version: int
    previous: int | None
    moved_at: dt.datetime
    moved_by: str
    reason: str
    report_id: str | None = Field(description="the regression report that allowed the move")
    forced: bool


class ModelSummaryOut(BaseModel):
    latest: ModelVersionOut
    aliases: dict[str, int]


class ModelOut(BaseModel):
    name: str
    versions: list[ModelVersionOut] = Field(description="oldest first")
    aliases: dict[str, int]
    history: list[AliasMoveOut] = Field(description="alias moves, oldest first")
