"""The records Loopline tracks, as frozen dataclasses shared by every layer.

Stores persist these, the engine produces them, the client and server read them. They carry
plain data only (ids, JSON-compatible dicts, datetimes), never live Python objects.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from loopline.core import html

JSON = Any


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class RunState(str, enum.Enum):  # noqa: UP042 - StrEnum would change str(state) for callers
    """Where a run is in its life. See `loopline.engine.state` for the allowed moves."""

    CREATED = "created"  # known to the graph, inputs not all ready
    READY = "ready"  # inputs ready, waiting for an executor slot
    RUNNING = "running"  # the function body is executing
    RETRYING = "retrying"  # failed, a retry is scheduled
    WAITING = "waiting"  # the body returned futures; waiting for its nested runs
    SUCCEEDED = "succeeded"
    CACHED = "cached"  # succeeded by reusing an earlier run's output
    FAILED = "failed"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"  # timed out or cancelled in a thread that could not be stopped
    ORPHANED = "orphaned"  # its runner died; marked by the next runner or `loopline clean`

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES

    @property
    def is_success(self) -> bool:
        return self in (RunState.SUCCEEDED, RunState.CACHED)


TERMINAL_STATES = frozenset(
    {
        RunState.SUCCEEDED,
        RunState.CACHED,
        RunState.FAILED,
        RunState.CANCELLED,
        RunState.ABANDONED,
        RunState.ORPHANED,
    }
)


@dataclasses.dataclass(frozen=True)
class ErrorInfo:
    """What went wrong in a run: the exception type, its message and the formatted traceback."""

    type: str
    message: str
    traceback: str = ""
    user_error: bool = True  # False when Loopline itself failed (a store error, say)


@dataclasses.dataclass(frozen=True)
class GitInfo:
    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None
    remote: str | None = None


@dataclasses.dataclass(frozen=True)
class LaunchSpec:
    """How a pipeline was started, so it can be started again (rerun) later."""

    function: str  # module:qualname of the root func
    module: str | None = None  # importable module name, when there is one
    file: str | None = None  # the source file, when the module is a script
    python: str = ""
    cwd: str = ""
    argv: Sequence[str] = ()


@dataclasses.dataclass(frozen=True)
class InputRef:
    """One input of a run: the artifact it received and the runs whose outputs it was built from
    (one for a plain future, several for a list of futures, none for a literal value)."""

    artifact_id: str
    sources: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Resources:
    cpus: float | None = None
    gpus: int = 0
    memory_bytes: int | None = None


@dataclasses.dataclass(frozen=True)
class RunRecord:
    id: str
    root_id: str
    parent_id: str | None
    function: str  # module.qualname: the pipeline identity for a root run
    name: str
    state: RunState
    created_at: dt.datetime
    tags: tuple[str, ...] = ()
    inputs: Mapping[str, InputRef] = dataclasses.field(default_factory=dict)
    output_id: str | None = None
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    cache_key: str | None = None
    cached_from: str | None = None  # for CACHED runs: the run whose output was reused
    code_version: str = ""
    source: str = ""
    docstring: str | None = None
    resources: Resources = Resources()
    attempts: int = 0
    error: ErrorInfo | None = None
    runner_id: str | None = None
    executor: str = ""  # inline, thread, process, ray
    user: str | None = None
    git: GitInfo | None = None  # root runs only
    launch: LaunchSpec | None = None  # root runs only
    cancel_requested: bool = False
    updated_at: dt.datetime | None = None  # set by the store on every write

    def replace(self, **changes: Any) -> RunRecord:
        # The state machine replaces records several times per step: copying the fields is
        # ~6x faster than dataclasses.replace, which rebuilds the record through __init__.
        if not changes.keys() <= _RUN_FIELDS:
            return dataclasses.replace(self, **changes)  # raises the usual TypeError
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__, **changes)
        return clone

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.ended_at or utcnow()
        return (end - self.started_at).total_seconds()

    def __repr__(self) -> str:
        kind = "pipeline run" if self.parent_id is None else "run"
        took = f", {self.duration_s:.2f}s" if self.duration_s is not None else ""
        return f"<{kind} {self.name} {self.id[:12]}: {self.state.value}{took}>"

    def _repr_html_(self) -> str:
        """A compact card in Jupyter, linked to the run's page in the dashboard."""
        kind = "pipeline run" if self.parent_id is None else "run"
        git = self.git
        facts: list[tuple[str, object]] = [
            ("func", html.code(self.function)),
            ("id", html.code(self.id[:12])),
            ("took", None if self.duration_s is None else f"{self.duration_s:.2f}s"),
            ("created", self.created_at.strftime("%Y-%m-%d %H:%M:%S")),
            ("tags", ", ".join(self.tags) or None),
            ("attempts", self.attempts if self.attempts > 1 else None),
            ("cached from", None if self.cached_from is None else html.code(self.cached_from[:12])),
            ("executor", self.executor or None),
        ]
        if git is not None and git.commit:
            dirty = " (dirty)" if git.dirty else ""
            facts.append(("git", f"{git.commit[:10]} {git.branch or ''}{dirty}".strip()))
        body = html.Markup("")
        if self.error is not None:
            body = html.Markup(
                f'<div style="color:#b3261e">{html.escape(self.error.type)}: {html.escape(self.error.message)}</div>'
            )
        title = html.Markup(f"{html.escape(kind)} {html.escape(self.name)} {state_badge(self.state)}")
        return html.card(title, facts, body, link=html.dashboard_path("runs", self.id))


STATE_TONES = {
    RunState.CREATED: "muted",
    RunState.READY: "info",
    RunState.RUNNING: "info",
    RunState.RETRYING: "warn",
    RunState.WAITING: "info",
    RunState.SUCCEEDED: "ok",
    RunState.CACHED: "ok",
    RunState.FAILED: "bad",
    RunState.CANCELLED: "bad",
    RunState.ABANDONED: "bad",
    RunState.ORPHANED: "bad",
}


def state_badge(state: RunState) -> html.Markup:
    return html.badge(state.value, STATE_TONES[state])


_RUN_FIELDS = frozenset(field.name for field in dataclasses.fields(RunRecord))


@dataclasses.dataclass(frozen=True)
class CacheHit:
    """What a cache lookup finds: a run whose output a new call with the same key can reuse."""

    id: str  # the run
    output_id: str | None


@dataclasses.dataclass(frozen=True)
class ArtifactRecord:
    id: str  # sha256 of the artifact bytes (type and value)
    type_name: str
    size: int
    summary: JSON
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class LogChunk:
    """Consecutive output lines of one run; `seq` orders chunks across the whole store."""

    run_id: str
    stream: str  # stdout, stderr, log
    text: str
    created_at: dt.datetime
    seq: int = 0  # assigned by the store


@dataclasses.dataclass(frozen=True)
class LogWindow:
    """A slice of a run's output, counted in characters: `chunks` (cut to the slice at both ends)
    hold characters `start` up to `end` of the `total` the run wrote so far."""

    run_id: str
    total: int
    start: int
    chunks: list[LogChunk]

    @property
    def end(self) -> int:
        return self.start + sum(len(c.text) for c in self.chunks)


def window_start(total: int, offset: int | None, limit: int) -> int:
    """Where a window of `limit` characters starts: at `offset` (at most the end), or, without
    one, `limit` characters before the end (the tail)."""
    return max(0, total - limit) if offset is None else min(offset, total)


def cut_window(
    run_id: str, total: int, start: int, limit: int, chunks: Iterable[tuple[int, LogChunk]]
) -> LogWindow:
    """The window `[start, start + limit)` out of `(offset of its first character, chunk)` pairs."""
    stop = start + limit
    pieces = [
        dataclasses.replace(chunk, text=chunk.text[max(0, start - at) : stop - at])
        for at, chunk in chunks
        if at < stop and at + len(chunk.text) > start
    ]
    return LogWindow(run_id, total, start, [p for p in pieces if p.text])


@dataclasses.dataclass(frozen=True)
class PipelineLogPage:
    """Output of a run and every run nested under it, in the order it was written: `chunks` by
    `seq`, each run's name in `names`; `earlier` and `later` say whether more output that
    matches exists before the first chunk and after the last one (or the cursor)."""

    chunks: list[LogChunk]
    names: dict[str, str]
    earlier: bool
    later: bool


@dataclasses.dataclass(frozen=True)
class LogStep:
    """A run, under the one asked about, that wrote output: how many chunks, from `first_seq` on."""

    run_id: str
    name: str
    chunks: int
    first_seq: int


def page_size(sizes: Iterable[int], limit: int, max_chars: int) -> int:
    """How many chunks of these sizes (in reading order) a page of at most `limit` chunks and
    `max_chars` characters takes: whole chunks, and always the first (cut to `max_chars`)."""
    taken = chars = 0
    for size in sizes:
        if taken == limit or (taken and chars + size > max_chars):
            break
        taken, chars = taken + 1, chars + size
    return taken


@dataclasses.dataclass(frozen=True)
class MetricPoint:
    run_id: str
    root_id: str
    name: str
    value: float
    step: int | None
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class Note:
    run_id: str
    author: str
    body: str
    created_at: dt.datetime
    id: int = 0  # assigned by the store


@dataclasses.dataclass(frozen=True)
class RunnerRecord:
    """A live or finished runner process, heartbeating while it works."""

    id: str
    host: str
    pid: int
    started_at: dt.datetime
    heartbeat_at: dt.datetime
    stopped_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class RunFilter:
    """Which runs to list; every field narrows the result (None means any)."""

    states: Sequence[RunState] | None = None
    name: str | None = None  # substring of the display name
    function: str | None = None  # exact function (pipeline) path
    tags: Sequence[str] = ()  # every tag must be present
    root_only: bool = False
    root_id: str | None = None
    parent_id: str | None = None
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    search: str | None = None  # free text over name, function, tags and id
    artifact: str | None = None  # an artifact id: the runs that produced it or took it as an input


@dataclasses.dataclass
class WriteBatch:
    """Everything a runner wants persisted, written in one transaction. A batch with an `id` is
    applied once: written again with the same id (a retry after a lost answer), it changes nothing."""

    runs: list[RunRecord] = dataclasses.field(default_factory=list)
    artifacts: list[ArtifactRecord] = dataclasses.field(default_factory=list)
    logs: list[LogChunk] = dataclasses.field(default_factory=list)
    metrics: list[MetricPoint] = dataclasses.field(default_factory=list)
    id: str | None = None

    def __bool__(self) -> bool:
        return bool(self.runs or self.artifacts or self.logs or self.metrics)
