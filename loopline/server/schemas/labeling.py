"""Labeling queues and their tasks, and the bodies of claiming, labeling, reviewing, committing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field
from typing_extensions import TypeAliasType

from loopline.server.schemas.common import RecordOut, StrictIn, WholeNumber

# What a label may be (`cl.production.checks.json_value`): a JSON scalar, or a list of labels.
JsonLabel = TypeAliasType("JsonLabel", "str | int | float | bool | list[JsonLabel] | None")


class LabelingTaskOut(RecordOut):
    id: int
    queue: str
    key: str
    source: str
    example_id: str
    request_id: str | None
    miner: str
    reason: str
    score: float
    suggestion: Any = Field(description="the model's prediction (or a user's correction)")
    display: str
    state: str
    claimed_by: str | None
    lease_until: dt.datetime | None
    label: Any
    labeled_by: str | None
    labeled_at: dt.datetime | None
    reviewed_by: str | None
    skips: int
    committed_to: str | None


class QueueOut(BaseModel):
    name: str
    counts: dict[str, int] = Field(description="tasks per state")


class LabelerIn(StrictIn):
    labeler: str = Field(min_length=1, max_length=64, description="who is labeling (recorded with the label)")


class ClaimIn(LabelerIn):
    limit: WholeNumber = Field(default=3, ge=1, le=100)


class LabelIn(LabelerIn):
    label: JsonLabel = Field(
        description="what the model should have predicted: a string, number, boolean, null or a list of them"
    )


class ReviewIn(StrictIn):
    reviewer: str = Field(min_length=1, max_length=64)
    approve: bool
    label: JsonLabel = Field(default=None, description="a corrected label, when approving")


class CommitIn(StrictIn):
    dataset: str = Field(min_length=1, max_length=256, description="the dataset the labels join")
    reviewed_only: bool = Field(default=False, description="commit only tasks a reviewer approved")


class CommitOut(BaseModel):
    dataset: str | None = Field(description="the new version, NAME@VERSION; null when nothing was ready")
    added: int
    relabeled: int
    tasks: list[int]
