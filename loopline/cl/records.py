"""What the continuous-learning layer records: small rows that point at artifacts.

Examples, models and reports are artifacts (content-addressed, immutable); these records hold
their ids and the metadata that lists, lineage and promotion history need. Like the engine's
records, they are frozen dataclasses of plain data, shared by the stores, the CLI and the server.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Literal


@dataclasses.dataclass(frozen=True)
class DatasetVersion:
    """One immutable version of a named dataset (its examples are the artifact `artifact_id`)."""

    name: str
    version: int  # 1, 2, ... assigned by the store
    artifact_id: str
    size: int
    added: int  # examples added, removed and changed relative to `parent`
    removed: int
    changed: int
    parent: int | None
    created_at: dt.datetime
    created_by: str
    message: str = ""
    run_id: str | None = None  # the run that saved it, when saved inside a pipeline
    display: str = ""  # how an example is shown, e.g. "image 8x8"

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


@dataclasses.dataclass(frozen=True)
class ModelVersion:
    """One immutable registered model version and its lineage."""

    name: str
    version: int  # 1, 2, ... assigned by the store
    artifact_id: str
    type_name: str
    created_at: dt.datetime
    created_by: str
    training_run_id: str | None = None
    dataset: str | None = None  # the training dataset version, "name@version"
    code_version: str | None = None  # the git commit the model was trained from
    metrics: Mapping[str, float] = dataclasses.field(default_factory=dict)
    description: str = ""

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


@dataclasses.dataclass(frozen=True)
class AliasMove:
    """An alias pointed at `version` (from `previous`): who moved it, when, why, on what evidence."""

    model: str
    alias: str
    version: int
    previous: int | None
    moved_at: dt.datetime
    moved_by: str
    reason: str = ""
    report_id: str | None = None  # the RegressionReport artifact that allowed the move
    forced: bool = False  # moved without a passing report, explicitly
    id: int = 0  # assigned by the store


@dataclasses.dataclass(frozen=True)
class ReportEntry:
    """A RegressionReport artifact indexed for listing (the dashboard's reports page)."""

    id: str  # the report's artifact id
    created_at: dt.datetime
    name: str
    candidate: str
    baseline: str | None
    golden: str | None
    passed: bool
    scenarios: int
    failed: int
    model: str | None = None  # the registered model name the candidate or baseline belongs to
    run_id: str | None = None  # the pipeline run that produced it
    commit: str | None = None


@dataclasses.dataclass(frozen=True)
class Webhook:
    """Where notifications go: plain JSON, or a Slack-compatible `{"text": ...}` message."""

    url: str
    format: Literal["json", "slack"] = "json"


@dataclasses.dataclass(frozen=True)
class CronTrigger:
    """Run at the times a five-field cron expression names, on the wall clock of `timezone`
    (an IANA name)."""

    expression: str
    timezone: str = "UTC"


@dataclasses.dataclass(frozen=True)
class DatasetTrigger:
    """Run when `dataset` gained at least `min_new` examples since the last run (or since the
    schedule was added, at version `since_version`)."""

    dataset: str
    min_new: int
    since_version: int = 0


Trigger = CronTrigger | DatasetTrigger


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A pipeline that runs by itself: `target` (FILE.py[:FUNC]) with `params` (as on the CLI)."""

    name: str
    target: str
    params: tuple[str, ...]
    trigger: Trigger
    created_at: dt.datetime
    created_by: str
    active_since: dt.datetime  # creation or last resume: slots before it never run
    cwd: str = ""
    paused: bool = False
    webhooks: tuple[Webhook, ...] = ()

    def describe_trigger(self) -> str:
        if isinstance(self.trigger, CronTrigger):
            zone = "" if self.trigger.timezone == "UTC" else f" ({self.trigger.timezone})"
            return f"cron {self.trigger.expression}{zone}"
        return f"dataset {self.trigger.dataset} +{self.trigger.min_new} examples"


SlotState = Literal["claimed", "running", "succeeded", "failed", "lost"]


@dataclasses.dataclass(frozen=True)
class Slot:
    """One firing of a schedule. (`schedule`, `key`) is unique: a slot never runs twice."""

    schedule: str
    key: str  # the cron time (ISO) or the dataset version ("name@7") that fired it
    due_at: dt.datetime
    fired_at: dt.datetime
    state: SlotState = "claimed"
    run_id: str | None = None
    detail: str = ""  # skipped slots, the error of a failed pipeline, ...
    dataset_version: int | None = None
