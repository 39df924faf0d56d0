"""The API's request and response bodies (pydantic), kept apart from the store's records."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from loopline.core.records import ArtifactRecord, LogChunk, MetricPoint, Note, RunRecord, RunState


class ErrorOut(BaseModel):
    detail: str


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
