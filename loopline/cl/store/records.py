"""What the continuous-learning layer records: small rows that point at artifacts.

Examples, models, reports and batches of production inputs are artifacts (content-addressed,
immutable); these records hold their ids and the metadata that lists, lineage, promotion
history, the inference log, labeling and the loop need. Like the engine's records, they are
frozen dataclasses of plain data (ids, JSON values, datetimes), shared by the stores, the SDK,
the CLI and the server. A production input is example `request_id` of the batch `batch_id`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from loopline.core import html
from loopline.data.sources import TableOrigin
from loopline.errors import UsageError

DatasetState = Literal["canonical", "candidate", "rejected"]
DATASET_STATES: tuple[DatasetState, ...] = ("canonical", "candidate", "rejected")


@dataclasses.dataclass(frozen=True)
class DatasetSource:
    """Where a dataset version's examples were imported from (`Dataset.from_table`): a table
    snapshot (the Parquet artifact `snapshot_id`) of a query, a table or files at `url` (without
    its password), taken at `taken_at`; each example's id is the value of its row's `key`."""

    snapshot_id: str
    kind: str  # "query", "table", "files" or "frame" (an in-memory table)
    url: str
    key: str
    rows: int
    taken_at: dt.datetime | None = None
    query: str | None = None
    table: str | None = None

    def describe(self) -> str:
        """One line for people: `query SELECT ... on duckdb:///w.duckdb`."""
        kind = self.kind if self.kind in ("query", "table", "files", "frame") else "query"
        return TableOrigin(kind, self.url, self.query, self.table).describe()  # type: ignore[arg-type]

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["taken_at"] = None if self.taken_at is None else self.taken_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DatasetSource:
        taken_at = data.get("taken_at")
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["taken_at"] = dt.datetime.fromisoformat(taken_at) if isinstance(taken_at, str) else taken_at
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class DatasetVersion:
    """One immutable version of a named dataset (its examples are the artifact `artifact_id`).

    `state`: "canonical" versions are the dataset's history (the latest canonical version is
    what `Dataset.load(name)` gives); a "candidate" is a proposed change (a loop round's labels)
    that becomes canonical when its model passes the gate or a person accepts it, or
    "rejected" when it does not; `decided_by`, `decided_at` and `decision` say who decided, when
    and why. `source`: the table it was imported from, for a version made by `Dataset.from_table`."""

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
    source: DatasetSource | None = None
    state: DatasetState = "canonical"
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    decision: str = ""

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def __repr__(self) -> str:
        return f"<DatasetVersion {self.ref}: {self.size} examples, {_changes(self)}>"

    def _repr_html_(self) -> str:
        facts = [
            ("examples", self.size),
            ("changes", _changes(self) if self.parent is not None else None),
            ("parent", None if self.parent is None else f"{self.name}@{self.parent}"),
            ("saved", f"{_when(self.created_at)} by {self.created_by}"),
            ("from", None if self.source is None else self.source.describe()),
            ("message", self.message or None),
        ]
        link = html.dashboard_path("datasets", self.name, str(self.version))
        return html.card(html.Markup(f"dataset {html.code(self.ref)}"), facts, link=link)


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

    def __repr__(self) -> str:
        on = f", trained on {self.dataset}" if self.dataset else ""
        return f"<ModelVersion {self.ref}: {self.type_name}{on}>"

    def _repr_html_(self) -> str:
        facts = [
            ("type", html.code(self.type_name)),
            ("trained on", self.dataset),
            ("training run", None if self.training_run_id is None else html.code(self.training_run_id[:12])),
            ("commit", None if self.code_version is None else html.code(self.code_version[:10])),
            ("registered", f"{_when(self.created_at)} by {self.created_by}"),
            ("about", self.description or None),
        ]
        metrics = html.table(["metric", "value"], sorted(self.metrics.items())) if self.metrics else ""
        link = html.dashboard_path("models", self.name)
        return html.card(html.Markup(f"model {html.code(self.ref)}"), facts, metrics, link=link)


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


JSON = Any

FeedbackKind = Literal["flag", "correction", "confirmation", "heuristic"]
FEEDBACK_KINDS: tuple[FeedbackKind, ...] = ("flag", "correction", "confirmation", "heuristic")

TaskState = Literal["open", "claimed", "labeled", "approved", "skipped", "proposed", "committed"]
TASK_STATES: tuple[TaskState, ...] = (
    "open",
    "claimed",
    "labeled",
    "approved",
    "skipped",
    "proposed",
    "committed",
)
TaskKind = Literal["label", "gold", "second"]
TASK_KINDS: tuple[TaskKind, ...] = ("label", "gold", "second")

RoundState = Literal[
    "running", "promoted", "blocked", "accepted", "waiting for review", "no new examples", "failed"
]


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
    relogged: int = 0  # times the request id was logged again (the first record is kept)
    relogged_at: dt.datetime | None = None  # the latest of those times

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
    relogged_since: dt.datetime | None = None  # logged again at or after

    def __post_init__(self) -> None:
        if self.feedback is not None and self.feedback not in (*FEEDBACK_KINDS, "any", "none"):
            kinds = ", ".join(repr(k) for k in (*FEEDBACK_KINDS, "any", "none"))
            raise UsageError(f"InferenceQuery(feedback=...) takes one of {kinds}, got {self.feedback!r}")


@dataclasses.dataclass(frozen=True)
class LabelingTask:
    """A mined example waiting for someone to say what the model SHOULD have predicted.

    The example is `example_id` of the Dataset artifact `artifact_id` (an inference batch, or
    the training dataset for a suspected label error). States: open -> claimed (leased to one
    labeler) -> labeled -> [approved, when the queue reviews or `review_reason` asks for a
    person] -> [proposed: in a candidate dataset version `proposed_to`, waiting for a loop's
    gate] -> committed (in a canonical dataset version); a skip puts it back to open, behind
    the others ("skipped" after too many).

    `kind`: "label" (the task itself), "gold" (a question with a known answer, `gold_label`,
    mixed into a labeler's claims to measure them), "second" (a second labeler's opinion on task
    `of_task`, never taken by `excluded_labeler`, who labeled the first). Only "label" tasks are
    ever committed. `review_reason` says why a person must look at the label before it joins a
    dataset (a blocked round, labelers who disagree, a labeler below the accuracy threshold);
    `blame` is how much the gate blamed this label when its round was blocked (0 to 1)."""

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
    kind: TaskKind = "label"
    gold_label: JSON = None  # the known answer of a gold question
    review_reason: str = ""
    blame: float | None = None
    fingerprint: str = ""  # a digest of the input: the same input is queued once
    excluded_labeler: str | None = None
    of_task: int | None = None
    proposed_to: str | None = None  # the candidate dataset version "digits-train@5"
    id: int = 0  # assigned by the store


@dataclasses.dataclass(frozen=True)
class QualityControl:
    """A labeling queue's checks on its labelers.

    - `agreement`: the share of tasks that a second labeler labels too; when the two disagree,
      the task waits for a person's review.
    - `gold`: a dataset version whose labels are known answers ("digits-gold@1"); `gold_share`
      of each labeler's claims are questions from it, never committed.
    - `min_accuracy`: once a labeler answered `min_gold` gold questions, an accuracy below this
      sends their labels that are not in a canonical dataset yet back to review, and every label
      they give while below it."""

    agreement: float = 0.0
    gold: str | None = None
    gold_share: float = 0.0
    min_accuracy: float = 0.0
    min_gold: int = 5

    def __post_init__(self) -> None:
        problems = []
        for field in ("agreement", "gold_share", "min_accuracy"):
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                problems.append(f"{field} must be a share between 0 and 1, got {value!r}")
        if self.gold_share > 0.5:
            problems.append(
                f"gold_share above 0.5 leaves more gold questions than tasks, got {self.gold_share}"
            )
        if (self.gold_share > 0 or self.min_accuracy > 0) and not self.gold:
            problems.append("gold_share and min_accuracy need gold=..., a dataset version with known answers")
        if self.gold is not None and "@" not in self.gold:
            problems.append(f"gold must pin a dataset version, e.g. '{self.gold}@1'")
        if not isinstance(self.min_gold, int) or self.min_gold < 1:
            problems.append(f"min_gold must be at least 1, got {self.min_gold!r}")
        if problems:
            raise UsageError("QualityControl: " + "; ".join(problems))


@dataclasses.dataclass(frozen=True)
class QueueSettings:
    """How a labeling queue works, kept in the store so every entry point (dashboard, CLI, API,
    Label Studio import, a loop) applies the same rules: `dataset` (the labels' destination),
    `label_type` (its labels' type: "int", "float", "bool", "str" or "any"; a label of another
    type is refused), `labels` (its distinct label values, typed, at most 100: what a labeling
    page offers as buttons), `review` (commit only approved tasks) and `quality`."""

    queue: str
    dataset: str | None = None
    review: bool = False
    quality: QualityControl = dataclasses.field(default_factory=QualityControl)
    updated_at: dt.datetime | None = None
    updated_by: str = ""
    label_type: str = ""
    labels: tuple[JSON, ...] = ()


@dataclasses.dataclass(frozen=True)
class LoopRound:
    """One turn of a continuous-improvement loop: what was mined, labeled, trained, decided.

    `scenarios` maps each scenario of the regression report to {"passed", "accuracy",
    "baseline_accuracy", "size"}; `metrics` holds the loop's own measurements (e.g. the
    accuracy on a held-out production slice). `proposed` is the candidate dataset version
    holding the round's labels (canonical once the round's model passed the gate or a person
    accepted it); `returned` counts the labels sent back to review (a blocked round, quality
    control) and `blamed` maps the example ids the gate blamed most to their blame; `waiting`
    counts labeled tasks that wait for a person's review; `quality` holds each labeler's
    numbers (labels, gold answered, gold accuracy, agreement); `relogged` counts request ids
    logged again since the previous round."""

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
    proposed: str | None = None
    waiting: int = 0
    returned: int = 0
    blamed: Mapping[str, float] = dataclasses.field(default_factory=dict)
    quality: Mapping[str, Mapping[str, JSON]] = dataclasses.field(default_factory=dict)
    relogged: int = 0
    accepted_by: str | None = None
    accepted_at: dt.datetime | None = None
    accept_reason: str = ""

    def __repr__(self) -> str:
        after = f", production {self.production_after}" if self.production_after else ""
        return f"<LoopRound {self.loop} #{self.round}: {self.state}{after}>"

    def _repr_html_(self) -> str:
        tone = {"promoted": "ok", "accepted": "ok", "blocked": "bad", "failed": "bad", "running": "info"}.get(
            self.state, "muted"
        )
        verdict = (
            None
            if self.passed is None
            else html.badge("pass" if self.passed else "regression", "ok" if self.passed else "bad")
        )
        facts = [
            ("production", _moved(self.production_before, self.production_after)),
            ("training data", _moved(self.dataset_before, self.dataset_after)),
            ("candidate", self.candidate),
            ("mined · queued · labeled", f"{self.mined} · {self.queued} · {self.labeled}"),
            ("gate", verdict),
            ("promoted", "yes" if self.promoted else "no"),
            ("started", _when(self.started_at)),
            ("detail", self.detail or None),
        ]
        rows = [
            (
                name,
                html.badge("pass", "ok") if result.get("passed") else html.badge("fail", "bad"),
                result.get("size"),
                result.get("accuracy"),
                result.get("baseline_accuracy"),
            )
            for name, result in self.scenarios.items()
        ]
        scenarios = html.table(["scenario", "", "n", "accuracy", "baseline"], rows) if rows else ""
        metrics = html.table(["metric", "value"], sorted(self.metrics.items())) if self.metrics else ""
        title = html.Markup(
            f"loop {html.escape(self.loop)} round {self.round} {html.badge(self.state, tone)}"
        )
        return html.card(
            title, facts, html.Markup(scenarios + metrics), link=html.dashboard_path("loops", self.loop)
        )


def _changes(version: DatasetVersion) -> str:
    return f"+{version.added} -{version.removed} ~{version.changed}"


def _when(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _moved(before: str | None, after: str | None) -> str | None:
    if before == after:
        return before
    return f"{before or '—'} → {after or '—'}"
