"""The rounds of a continuous-improvement loop as the API shows them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import field_validator

from loopline.server.schemas.common import Finite, RecordOut, finite


class LoopRoundOut(RecordOut):
    loop: str
    round: int
    state: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    model: str
    dataset: str
    queue: str
    run_id: str | None
    production_before: str | None
    production_after: str | None
    candidate: str | None
    dataset_before: str | None
    dataset_after: str | None
    mined: int
    queued: int
    labeled: int
    report_id: str | None
    passed: bool | None
    promoted: bool
    metrics: dict[str, Finite]
    scenarios: dict[str, dict[str, Any]]
    detail: str

    @field_validator("scenarios")
    @classmethod
    def _finite_scenarios(cls, scenarios: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        # Each scenario's values are free-form JSON: only its floats can be NaN.
        return {
            name: {k: finite(v) if isinstance(v, float) else v for k, v in values.items()}
            for name, values in scenarios.items()
        }
