"""Schedules as the API adds, edits and shows them, with the slots they fired."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from loopline.cl.store.records import Schedule, Slot
from loopline.server.schemas.common import RecordOut, StrictIn, WholeNumber


class SlotOut(RecordOut):
    key: str = Field(description="the cron time or the dataset version that fired it")
    state: str
    due_at: dt.datetime
    fired_at: dt.datetime
    run_id: str | None
    detail: str


class ScheduleIn(StrictIn):
    name: str = Field(min_length=1, max_length=256, description="a plain name, e.g. nightly-digits")
    target: str = Field(
        min_length=1,
        max_length=4096,
        description="FILE.py[:FUNC] on the server's machine: absolute, or relative to where the server started",
    )
    params: list[Annotated[str, Field(max_length=4096)]] = Field(
        default_factory=list, max_length=200, description="the pipeline's parameters as on the command line"
    )
    cron: str | None = Field(
        None, min_length=1, max_length=256, description='five cron fields, e.g. "0 2 * * *" (or give dataset)'
    )
    timezone: str = Field(
        "UTC", min_length=1, max_length=64, description="whose clock the cron follows (IANA)"
    )
    dataset: str | None = Field(
        None, min_length=1, max_length=256, description="instead of cron: run when this dataset grows"
    )
    min_new: WholeNumber | None = Field(None, ge=1, le=2**31, description="by at least this many examples")
    webhooks: list[Annotated[str, Field(max_length=2048)]] = Field(default_factory=list, max_length=20)
    webhook_format: Literal["json", "slack"] = "json"


class ScheduleEdit(StrictIn):
    """What changes in a schedule; a field left out (or null) stays as it is."""

    target: str | None = Field(
        None,
        min_length=1,
        max_length=4096,
        description="a new pipeline FILE.py[:FUNC] on the server's machine",
    )
    params: list[Annotated[str, Field(max_length=4096)]] | None = Field(
        None, max_length=200, description="new parameters (checked against the target)"
    )
    cron: str | None = Field(None, min_length=1, max_length=256, description="a new cron expression")
    timezone: str | None = Field(
        None, min_length=1, max_length=64, description="a new time zone for the cron"
    )
    dataset: str | None = Field(
        None, min_length=1, max_length=256, description="run when this dataset grows instead"
    )
    min_new: WholeNumber | None = Field(None, ge=1, le=2**31, description="by at least this many examples")
    webhooks: list[Annotated[str, Field(max_length=2048)]] | None = Field(
        None, max_length=20, description="the new webhooks (an empty list removes them)"
    )
    webhook_format: Literal["json", "slack"] = "json"


class ScheduleOut(RecordOut):
    name: str
    target: str
    params: list[str]
    trigger: str
    paused: bool
    next: str = Field(description="when it fires next, in words")
    created_at: dt.datetime
    created_by: str
    last_runs: list[SlotOut] = Field(description="latest first")

    @classmethod
    def of(cls, schedule: Schedule, upcoming: str, slots: list[Slot]) -> ScheduleOut:
        """The schedule's fields, its trigger in words, when it fires next and its latest slots."""
        return cls.model_validate(
            {**vars(schedule), "trigger": schedule.describe_trigger(), "next": upcoming, "last_runs": slots}
        )
