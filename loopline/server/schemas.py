"""The API's request and response bodies (pydantic), kept apart from the store's records."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from loopline.cl.loop_records import Feedback, InferenceRecord, LabelingTask, LoopRound
from loopline.cl.records import AliasMove, DatasetVersion, ModelVersion, ReportEntry, Schedule, Slot
from loopline.core.records import ArtifactRecord, LogChunk, MetricPoint, Note, RunRecord, RunState


def finite(value: float | None) -> float | None:
    """JSON has no NaN: missing and undefined numbers read null."""
    return None if value is None or not math.isfinite(value) else float(value)


class ErrorOut(BaseModel):
    detail: str


class DoneOut(BaseModel):
    detail: str = Field(description="what was done")


class InputOut(BaseModel):
    artifact_id: str
    sources: list[str]


class ErrorInfoOut(BaseModel):
    type: str
    message: str
    traceback: str
    user_error: bool


class GitOut(BaseModel):
    commit: str | None
    branch: str | None
    dirty: bool | None
    remote: str | None


class LaunchOut(BaseModel):
    function: str
    module: str | None
    file: str | None
    python: str
    cwd: str
    argv: list[str]


class ResourcesOut(BaseModel):
    cpus: float | None
    gpus: int
    memory_bytes: int | None


class RunOut(BaseModel):
    """A run as listed: identity, state and timings."""

    id: str
    root_id: str
    parent_id: str | None
    name: str
    function: str
    state: RunState
    tags: list[str]
    created_at: dt.datetime
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    updated_at: dt.datetime | None
    duration_s: float | None
    user: str | None
    cached_from: str | None
    cancel_requested: bool

    @classmethod
    def of(cls, run: RunRecord) -> RunOut:
        return cls(
            id=run.id,
            root_id=run.root_id,
            parent_id=run.parent_id,
            name=run.name,
            function=run.function,
            state=run.state,
            tags=list(run.tags),
            created_at=run.created_at,
            started_at=run.started_at,
            ended_at=run.ended_at,
            updated_at=run.updated_at,
            duration_s=run.duration_s,
            user=run.user,
            cached_from=run.cached_from,
            cancel_requested=run.cancel_requested,
        )


class RunDetailOut(RunOut):
    """Everything recorded about one run."""

    inputs: dict[str, InputOut]
    output_id: str | None
    code_version: str
    source: str
    docstring: str | None
    resources: ResourcesOut
    attempts: int
    error: ErrorInfoOut | None
    executor: str
    runner_id: str | None
    cache_key: str | None
    git: GitOut | None
    launch: LaunchOut | None

    @classmethod
    def of(cls, run: RunRecord) -> RunDetailOut:
        base = RunOut.of(run).model_dump()
        return cls(
            **base,
            inputs={
                k: InputOut(artifact_id=v.artifact_id, sources=list(v.sources)) for k, v in run.inputs.items()
            },
            output_id=run.output_id,
            code_version=run.code_version,
            source=run.source,
            docstring=run.docstring,
            resources=ResourcesOut(**vars(run.resources)),
            attempts=run.attempts,
            error=ErrorInfoOut(**vars(run.error)) if run.error else None,
            executor=run.executor,
            runner_id=run.runner_id,
            cache_key=run.cache_key,
            git=GitOut(**vars(run.git)) if run.git else None,
            launch=LaunchOut(**{**vars(run.launch), "argv": list(run.launch.argv)}) if run.launch else None,
        )


class RunListOut(BaseModel):
    runs: list[RunOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")
    total: int | None = Field(description="how many runs match (only when `count=true`)")


class TreeOut(BaseModel):
    """Every run of a pipeline, parents before children, for drawing its nested tree."""

    root_id: str
    runs: list[RunOut]


class GraphNodeOut(BaseModel):
    id: str
    kind: str = Field(
        description="run, fanout (sibling calls of one function, collapsed) or group (a nested func, expanded)"
    )
    label: str
    run_id: str | None
    state: str
    count: int
    states: dict[str, int]
    x: float
    y: float
    width: float
    height: float
    depth: int
    collapsed_children: int


class GraphEdgeOut(BaseModel):
    source: str
    target: str
    count: int


class GraphOut(BaseModel):
    root_id: str
    total_runs: int
    width: float
    height: float
    nodes: list[GraphNodeOut]
    edges: list[GraphEdgeOut]


class ArtifactOut(BaseModel):
    id: str
    type_name: str
    size: int
    summary: dict[str, Any]
    created_at: dt.datetime

    @classmethod
    def of(cls, artifact: ArtifactRecord) -> ArtifactOut:
        summary = (
            artifact.summary
            if isinstance(artifact.summary, dict)
            else {"kind": "object", "repr": str(artifact.summary)}
        )
        return cls(
            id=artifact.id,
            type_name=artifact.type_name,
            size=artifact.size,
            summary=summary,
            created_at=artifact.created_at,
        )


class LogChunkOut(BaseModel):
    seq: int
    run_id: str
    stream: str
    text: str
    created_at: dt.datetime

    @classmethod
    def of(cls, chunk: LogChunk) -> LogChunkOut:
        return cls(
            seq=chunk.seq,
            run_id=chunk.run_id,
            stream=chunk.stream,
            text=chunk.text,
            created_at=chunk.created_at,
        )


class LogsOut(BaseModel):
    run_id: str
    chunks: list[LogChunkOut]
    last_seq: int = Field(description="pass as `after` to read only newer output")
    finished: bool = Field(description="the run has ended, so no more output will come")


class MetricOut(BaseModel):
    run_id: str
    name: str
    value: float
    step: int | None
    created_at: dt.datetime

    @classmethod
    def of(cls, point: MetricPoint) -> MetricOut:
        return cls(
            run_id=point.run_id,
            name=point.name,
            value=point.value,
            step=point.step,
            created_at=point.created_at,
        )


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=20_000, description="Markdown; raw HTML is shown as text")
    author: str | None = Field(default=None, max_length=128)


class NoteOut(BaseModel):
    id: int
    run_id: str
    author: str
    body: str
    html: str = Field(description="the body rendered from Markdown, with any HTML escaped")
    created_at: dt.datetime

    @classmethod
    def of(cls, note: Note, html: str) -> NoteOut:
        return cls(
            id=note.id,
            run_id=note.run_id,
            author=note.author,
            body=note.body,
            html=html,
            created_at=note.created_at,
        )


class CancelOut(BaseModel):
    root_id: str
    detail: str


class RerunIn(BaseModel):
    from_run_id: str | None = Field(
        default=None,
        max_length=64,
        description="re-execute this run and everything downstream, reuse the rest; null: execute everything",
    )


class RerunOut(BaseModel):
    run_id: str = Field(description="the new pipeline run")
    rerun_of: str
    from_run_id: str | None
    log_file: str


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


# -- datasets, models, regression reports, schedules (the CL layer's records) -------------------


class DatasetVersionOut(BaseModel):
    name: str
    version: int
    artifact_id: str
    size: int
    added: int = Field(description="examples added relative to `parent`")
    removed: int
    changed: int
    parent: int | None
    created_at: dt.datetime
    created_by: str
    message: str
    run_id: str | None
    display: str = Field(description='how an example is shown, e.g. "image 8x8"')

    @classmethod
    def of(cls, version: DatasetVersion) -> DatasetVersionOut:
        return cls(**dataclasses.asdict(version))


class DatasetOut(BaseModel):
    name: str
    versions: list[DatasetVersionOut] = Field(description="oldest first")


class DatasetDiffOut(BaseModel):
    old: str
    new: str
    added: list[str] = Field(description="example ids")
    removed: list[str]
    changed: list[str] = Field(description="ids whose features or label changed")


class ModelVersionOut(BaseModel):
    name: str
    version: int
    artifact_id: str
    type_name: str
    created_at: dt.datetime
    created_by: str
    training_run_id: str | None
    dataset: str | None = Field(description="the training dataset version, NAME@VERSION")
    code_version: str | None
    metrics: dict[str, float | None] = Field(description="NaN and infinities read null")
    description: str

    @classmethod
    def of(cls, version: ModelVersion) -> ModelVersionOut:
        metrics = {k: finite(v) for k, v in version.metrics.items()}
        return cls(**{**dataclasses.asdict(version), "metrics": metrics})


class AliasMoveOut(BaseModel):
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

    @classmethod
    def of(cls, move: AliasMove) -> AliasMoveOut:
        return cls(**dataclasses.asdict(move))


class ModelSummaryOut(BaseModel):
    latest: ModelVersionOut
    aliases: dict[str, int]


class ModelOut(BaseModel):
    name: str
    versions: list[ModelVersionOut] = Field(description="oldest first")
    aliases: dict[str, int]
    history: list[AliasMoveOut] = Field(description="alias moves, oldest first")


class ReportEntryOut(BaseModel):
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

    @classmethod
    def of(cls, entry: ReportEntry) -> ReportEntryOut:
        return cls(**dataclasses.asdict(entry))


class CheckOut(BaseModel):
    kind: str
    metric: str
    passed: bool | None = Field(description="null when skipped (no baseline)")
    rule: str = Field(description="threshold, tolerance, mcnemar, bootstrap, all_correct or skipped")
    reason: str
    candidate: float | None
    baseline: float | None
    threshold: float | None
    p_value: float | None


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


class SlotOut(BaseModel):
    key: str = Field(description="the cron time or the dataset version that fired it")
    state: str
    due_at: dt.datetime
    fired_at: dt.datetime
    run_id: str | None
    detail: str

    @classmethod
    def of(cls, slot: Slot) -> SlotOut:
        return cls(
            key=slot.key,
            state=slot.state,
            due_at=slot.due_at,
            fired_at=slot.fired_at,
            run_id=slot.run_id,
            detail=slot.detail,
        )


class ScheduleIn(BaseModel):
    model_config = ConfigDict(strict=True)

    name: str = Field(min_length=1, max_length=256, description="a plain name, e.g. nightly-digits")
    target: str = Field(
        min_length=1,
        max_length=4096,
        description="FILE.py[:FUNC] on the server's machine: absolute, or relative to where the server started",
    )
    params: list[Annotated[str, Field(max_length=4096)]] = Field(
        default_factory=list, max_length=200, description="the pipeline's parameters as on the command line"
    )
    cron: str | None = Field(None, max_length=256, description='five cron fields, e.g. "0 2 * * *"')
    timezone: str = Field(
        "UTC", min_length=1, max_length=64, description="whose clock the cron follows (IANA)"
    )
    dataset: str | None = Field(
        None, max_length=256, description="instead of cron: run when this dataset grows"
    )
    min_new: int | None = Field(None, ge=1, le=2**31, description="by at least this many examples")
    webhooks: list[Annotated[str, Field(max_length=2048)]] = Field(default_factory=list, max_length=20)
    webhook_format: Literal["json", "slack"] = "json"


class ScheduleEdit(BaseModel):
    """What changes in a schedule; a field left out (or null) stays as it is."""

    model_config = ConfigDict(strict=True)

    target: str | None = Field(
        None,
        min_length=1,
        max_length=4096,
        description="a new pipeline FILE.py[:FUNC] on the server's machine",
    )
    params: list[Annotated[str, Field(max_length=4096)]] | None = Field(
        None, max_length=200, description="new parameters (checked against the target)"
    )
    cron: str | None = Field(None, max_length=256, description="a new cron expression")
    timezone: str | None = Field(
        None, min_length=1, max_length=64, description="a new time zone for the cron"
    )
    dataset: str | None = Field(None, max_length=256, description="run when this dataset grows instead")
    min_new: int | None = Field(None, ge=1, le=2**31, description="by at least this many examples")
    webhooks: list[Annotated[str, Field(max_length=2048)]] | None = Field(
        None, max_length=20, description="the new webhooks (an empty list removes them)"
    )
    webhook_format: Literal["json", "slack"] = "json"


class ScheduleOut(BaseModel):
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
        return cls(
            name=schedule.name,
            target=schedule.target,
            params=list(schedule.params),
            trigger=schedule.describe_trigger(),
            paused=schedule.paused,
            next=upcoming,
            created_at=schedule.created_at,
            created_by=schedule.created_by,
            last_runs=[SlotOut.of(s) for s in slots],
        )


# -- inferences, feedback, labeling, loops (the continuous-improvement loop) --------------------


class StrictIn(BaseModel):
    """A request body taken as typed: no "3" for 3, no 0 for false."""

    model_config = ConfigDict(strict=True)


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


class RecordProblemOut(BaseModel):
    index: int = Field(description="the record's position in the batch")
    request_id: str | None
    error: str


class IngestOut(BaseModel):
    """What became of a batch; rejected records were not written, every other one was."""

    accepted: list[str] = Field(description="request ids newly recorded")
    duplicates: list[str] = Field(description="request ids recorded before (kept as first recorded)")
    rejected: list[RecordProblemOut]


class FeedbackOut(BaseModel):
    id: int
    request_id: str
    kind: str
    created_at: dt.datetime
    source: str
    label: Any
    score: float | None
    note: str

    @classmethod
    def of(cls, item: Feedback) -> FeedbackOut:
        return cls(**dataclasses.asdict(item))


class InferenceOut(BaseModel):
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
        return cls(
            request_id=record.request_id,
            model=record.model,
            model_version=record.model_version,
            alias=record.alias,
            prediction=record.prediction,
            confidence=record.confidence,
            scores=None if record.scores is None else list(record.scores),
            logged_at=record.logged_at,
            batch_id=record.batch_id,
            metadata=dict(record.metadata),
            display=record.display,
            feedback=[FeedbackOut.of(f) for f in feedback],
        )


class InferenceListOut(BaseModel):
    inferences: list[InferenceOut]
    total: int


class LabelingTaskOut(BaseModel):
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

    @classmethod
    def of(cls, task: LabelingTask) -> LabelingTaskOut:
        fields = dataclasses.asdict(task)
        return cls(**{k: v for k, v in fields.items() if k in cls.model_fields})


class QueueOut(BaseModel):
    name: str
    counts: dict[str, int] = Field(description="tasks per state")


class LabelerIn(StrictIn):
    labeler: str = Field(min_length=1, max_length=64, description="who is labeling (recorded with the label)")


class ClaimIn(LabelerIn):
    limit: int = Field(default=3, ge=1, le=100)


class LabelIn(LabelerIn):
    label: Any = Field(description="what the model should have predicted (a JSON value)")


class ReviewIn(StrictIn):
    reviewer: str = Field(min_length=1, max_length=64)
    approve: bool
    label: Any = Field(default=None, description="a corrected label, when approving")


class CommitIn(StrictIn):
    dataset: str = Field(min_length=1, max_length=256, description="the dataset the labels join")
    reviewed_only: bool = Field(default=False, description="commit only tasks a reviewer approved")


class CommitOut(BaseModel):
    dataset: str | None = Field(description="the new version, NAME@VERSION; null when nothing was ready")
    added: int
    relabeled: int
    tasks: list[int]


class LoopRoundOut(BaseModel):
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
    metrics: dict[str, float | None]
    scenarios: dict[str, dict[str, Any]]
    detail: str

    @classmethod
    def of(cls, loop_round: LoopRound) -> LoopRoundOut:
        fields = dataclasses.asdict(loop_round)
        fields["metrics"] = {k: finite(v) for k, v in loop_round.metrics.items()}
        fields["scenarios"] = {
            name: {k: finite(v) if isinstance(v, float) else v for k, v in values.items()}
            for name, values in loop_round.scenarios.items()
        }
        return cls(**fields)
