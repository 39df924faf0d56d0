"""What the continuous-improvement loop records: inferences, feedback, labeling tasks, rounds.

Like the other CL records these are frozen dataclasses of plain data (ids, JSON values,
datetimes), shared by the stores, the SDK, the CLI and the server. Inputs are not here: they are
packed, a batch at a time, into artifacts (a `Dataset` whose example ids are the request ids),
and each record points at its batch (`batch_id`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from loopline.errors import UsageError

JSON = Any

FeedbackKind = Literal["flag", "correction", "confirmation", "heuristic"]
FEEDBACK_KINDS: tuple[FeedbackKind, ...] = ("flag", "correction", "confirmation", "heuristic")

TaskState = Literal["open", "claimed", "labeled", "approved", "skipped", "committed"]
TASK_STATES: tuple[TaskState, ...] = ("open", "claimed", "labeled", "approved", "skipped", "committed")

RoundState = Literal["running", "promoted", "blocked", "no new examples", "failed"]


@dataclasses.dataclass(frozen=True)
class InferenceRecord:
    """One production prediction. Its input is example `request_id` of the artifact `batch_id`."""

    request_id: str
    model: str  # the registered model's name
    model_version: int  # resolved when the inference was logged (an alias is looked up then)
    prediction: JSON
    logged_at: dt.datetime
    batch_id: str  # the artifact (a Dataset) holding the input
    confidence: float | None = None
    scores: tuple[float, ...] | None = None  # per class, in the model's class order
    alias: str | None = None  # the alias it was logged under ("production"), if any
    metadata: Mapping[str, JSON] = dataclasses.field(default_factory=dict)
    display: str = ""  # how the input is shown, e.g. "image 8x8"

    @property
    def model_ref(self) -> str:
        return f"{self.model}@{self.model_version}"


@dataclasses.dataclass(frozen=True)
class Feedback:
    """A signal on an inference: a human flag ("wrong"), a corrected label, a confirmation, or a
    heuristic's verdict (`score`: how likely the prediction is wrong, 0 to 1)."""

    request_id: str
    kind: FeedbackKind
    created_at: dt.datetime
    source: str  # who: the OS user, an application user, or the heuristic's name
    label: JSON = None  # the right answer, for a correction
    score: float | None = None
    note: str = ""
    id: int = 0  # assigned by the store


@dataclasses.dataclass(frozen=True)
class InferenceQuery:
    """Which inference records to list (every field optional; all given must match)."""

    model: str | None = None
    model_version: int | None = None
    since: dt.datetime | None = None  # logged at or after
    until: dt.datetime | None = None  # logged before
    min_confidence: float | None = None
    max_confidence: float | None = None
    feedback: FeedbackKind | Literal["any", "none"] | None = None
    request_ids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.feedback is not None and self.feedback not in (*FEEDBACK_KINDS, "any", "none"):
            kinds = ", ".join(repr(k) for k in (*FEEDBACK_KINDS, "any", "none"))
            raise UsageError(f"InferenceQuery(feedback=...) takes one of {kinds}, got {self.feedback!r}")


@dataclasses.dataclass(frozen=True)
class LabelingTask:
    """A mined example waiting for someone to say what the model SHOULD have predicted.

    The example is `example_id` of the Dataset artifact `artifact_id` (an inference batch, or
    the training dataset for a suspected label error). States: open -> claimed (leased to one
    labeler) -> labeled -> [approved, when the queue reviews] -> committed (in a dataset
    version); a skip puts it back to open, behind the others ("skipped" after too many)."""

    queue: str
    key: str  # unique in the queue: the request id, or "dataset-name:example-id"
    source: str  # "inferences", or the dataset version "digits-train@3"
    artifact_id: str
    example_id: str
    miner: str
    reason: str
    score: float
    created_at: dt.datetime
    request_id: str | None = None
    suggestion: JSON = None  # the model's prediction (or a user's correction), offered to labelers
    display: str = ""
    state: TaskState = "open"
    claimed_by: str | None = None
    lease_until: dt.datetime | None = None
    label: JSON = None
    labeled_by: str | None = None
    labeled_at: dt.datetime | None = None
    reviewed_by: str | None = None
    reviewed_at: dt.datetime | None = None
    skips: int = 0
    committed_to: str | None = None  # the dataset version "digits-train@4"
    committed_at: dt.datetime | None = None
    id: int = 0  # assigned by the store


@dataclasses.dataclass(frozen=True)
class LoopRound:
    """One turn of a continuous-improvement loop: what was mined, labeled, trained, decided.

    `scenarios` maps each scenario of the regression report to {"passed", "accuracy",
    "baseline_accuracy", "size"}; `metrics` holds the loop's own measurements (e.g. the
    accuracy on a held-out production slice)."""

    loop: str
    round: int  # 1, 2, ... assigned by the store
    state: RoundState
    started_at: dt.datetime
    model: str
    dataset: str  # the training dataset's name
    queue: str
    ended_at: dt.datetime | None = None
    run_id: str | None = None
    production_before: str | None = None  # "digits@3"
    production_after: str | None = None
    candidate: str | None = None
    dataset_before: str | None = None  # "digits-train@4"
    dataset_after: str | None = None
    mined: int = 0
    queued: int = 0
    labeled: int = 0
    report_id: str | None = None
    passed: bool | None = None
    promoted: bool = False
    metrics: Mapping[str, float] = dataclasses.field(default_factory=dict)
    scenarios: Mapping[str, Mapping[str, JSON]] = dataclasses.field(default_factory=dict)
    detail: str = ""
