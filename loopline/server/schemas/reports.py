"""Regression reports as the API shows them: listed, and scenario by scenario with their checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from loopline.server.schemas.common import Finite, RecordOut


class ReportEntryOut(RecordOut):
    id: str
    created_at: dt.datetime
    name: str
    candidate: str
    baseline: str | None
    golden: str | None
    passed: bool
    scenarios: int
    failed: int
    model: str | None
    run_id: str | None
    commit: str | None


class CheckOut(RecordOut):
    kind: str
    metric: str
    passed: bool | None = Field(description="null when skipped (no baseline)")
    rule: str = Field(description="threshold, tolerance, mcnemar, bootstrap, all_correct or skipped")
    reason: str
    candidate: Finite
    baseline: Finite
    threshold: Finite
    p_value: Finite


class FlipOut(BaseModel):
    id: str
    label: Any
    candidate: Any
    baseline: Any


class ScenarioOut(BaseModel):
    name: str
    description: str
    must_pass: bool
    size: int
    passed: bool
    reason: str
    checks: list[CheckOut]
    candidate: dict[str, float | None]
    baseline: dict[str, float | None] | None
    candidate_interval: list[float] | None = Field(description="[low, high] of the accuracy")
    baseline_interval: list[float] | None
    right_to_wrong: int
    wrong_to_right: int
    flipped: list[FlipOut] = Field(description="right for the baseline, wrong for the candidate (capped)")
    notes: list[str]


class ReportOut(BaseModel):
    id: str
    name: str
    created_at: dt.datetime
    passed: bool
    golden: str
    golden_size: int
    candidate: str
    baseline: str | None
    scenarios: list[ScenarioOut]
    notes: list[str]
