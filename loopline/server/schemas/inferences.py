"""Logged predictions and the feedback on them, as programs send them and the API shows them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from loopline.cl.store.records import Feedback, InferenceRecord
from loopline.server.schemas.common import RecordOut, StrictIn


class InferencesIn(StrictIn):
    records: list[Any] = Field(
        max_length=10_000,
        description="inference records, each an object: `request_id`, `model` (NAME@ALIAS, NAME@VERSION, "
        "or NAME with `model_version`), `input`, `prediction`; optional `confidence`, `scores` (one per "
        'class), `time` (ISO 8601 with a zone), `metadata` (object), `display` (e.g. "image 8x8")',
    )


class FeedbackIn(StrictIn):
    records: list[Any] = Field(
        max_length=10_000,
        description="feedback records, each an object: `request_id`, `kind` (flag, correction, "
        "confirmation, heuristic); optional `label` (a correction's right answer), `score` (0 to 1: how "
        "likely the prediction is wrong), `note`, `source` (who), `time`",
    )


class RecordProblemOut(RecordOut):
    index: int = Field(description="the record's position in the batch")
    request_id: str | None
    error: str


class IngestOut(RecordOut):
    """What became of a batch; rejected records were not written, every other one was."""

    accepted: list[str] = Field(description="request ids newly recorded")
    duplicates: list[str] = Field(description="request ids recorded before (kept as first recorded)")
    rejected: list[RecordProblemOut]


class FeedbackOut(RecordOut):
    id: int
    request_id: str
    kind: str
    created_at: dt.datetime
    source: str
    label: Any
    score: float | None
    note: str


class InferenceOut(RecordOut):
    request_id: str
    model: str
    model_version: int
    alias: str | None
    prediction: Any
    confidence: float | None
    scores: list[float] | None
    logged_at: dt.datetime
    batch_id: str = Field(description="the artifact holding the input")
    metadata: dict[str, Any]
    display: str
    feedback: list[FeedbackOut]

    @classmethod
    def of(cls, record: InferenceRecord, feedback: list[Feedback]) -> InferenceOut:
        """The record's fields, and the feedback given on it."""
        return cls.model_validate({**vars(record), "feedback": feedback})


class InferenceListOut(BaseModel):
    inferences: list[InferenceOut]
    total: int
