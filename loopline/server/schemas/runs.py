"""Runs as the API shows them: listed, in full, as a pipeline's tree, and as its laid-out graph."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from loopline.core.records import RunState
from loopline.server.schemas.common import RecordOut


class InputOut(RecordOut):
    artifact_id: str
    sources: list[str]


class ErrorInfoOut(RecordOut):
    type: str
    message: str
    traceback: str
    user_error: bool


class GitOut(RecordOut):
    commit: str | None
    branch: str | None
    dirty: bool | None
    remote: str | None


class LaunchOut(RecordOut):
    function: str
    module: str | None
    file: str | None
    python: str
    cwd: str
    argv: list[str]


class ResourcesOut(RecordOut):
    cpus: float | None
    gpus: int
    memory_bytes: int | None


class RunOut(RecordOut):
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
