"""The store queries the API and the pages share: filters from query parameters (runs, logged
inferences), a pipeline's runs in tree order, and per-pipeline statistics."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import HTTPException, Query

from loopline.cl.store.records import InferenceQuery
from loopline.core.records import RunFilter, RunRecord, RunState
from loopline.storage.base import MetadataStore, PipelineStats

MAX_LIMIT = 1000
FeedbackFilter = Literal["any", "none", "flag", "correction", "confirmation", "heuristic"]
# Parsed here rather than by pydantic, which would also take a bare number as a Unix time.
Moment = Annotated[
    str | None,
    Query(max_length=64, json_schema_extra={"format": "date-time"}, description="ISO 8601; UTC if no zone"),
]


def as_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """Times without a zone are taken as UTC (the store's zone)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def run_filter(
    *,
    states: Sequence[RunState] = (),
    name: str | None = None,
    tags: Sequence[str] = (),
    pipeline: str | None = None,
    search: str | None = None,
    root_only: bool = False,
    root_id: str | None = None,
    parent_id: str | None = None,
    created_after: dt.datetime | None = None,
    created_before: dt.datetime | None = None,
    artifact: str | None = None,
) -> RunFilter:
    return RunFilter(
        states=list(states) or None,
        name=name or None,
        function=pipeline or None,
        tags=tuple(t for t in tags if t),
        root_only=root_only,
        root_id=root_id or None,
        parent_id=parent_id or None,
        created_after=as_utc(created_after),
        created_before=as_utc(created_before),
        search=search.strip() or None if search else None,
        artifact=artifact or None,
    )


def inference_query(
    model: Annotated[str | None, Query(max_length=256, description="the registered model's name")] = None,
    version: Annotated[int | None, Query(ge=1, le=2**31, description="the model version")] = None,
    since: Moment = None,
    until: Moment = None,
    min_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    feedback: Annotated[FeedbackFilter | None, Query(description="any, none, or a feedback kind")] = None,
) -> InferenceQuery:
    """Which logged inferences to list (a dependency of the API's list and the explorer page)."""
    return InferenceQuery(
        model=model or None,
        model_version=version,
        since=parse_moment("since", since),
        until=parse_moment("until", until),
        min_confidence=min_confidence,
        max_confidence=max_confidence,
        feedback=feedback,
    )


def parse_moment(name: str, text: str | None) -> dt.datetime | None:
    """A query parameter's ISO 8601 date and time (UTC when it names no zone); 422 if it is not one."""
    if text is None:
        return None
    try:
        return as_utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise HTTPException(
            422, f"query.{name}: {text!r} is not an ISO 8601 date and time (e.g. 2030-01-31T12:00:00Z)"
        ) from None


def tree_order(runs: Sequence[RunRecord], root_id: str) -> list[RunRecord]:
    """The runs of a pipeline depth-first from its root, children in creation order."""
    children: dict[str | None, list[RunRecord]] = {}
    for run in sorted(runs, key=lambda r: (r.created_at, r.id)):
        children.setdefault(run.parent_id, []).append(run)
    root = next((r for r in runs if r.id == root_id), None)
    if root is None:
        return []
    ordered, stack = [], [root]
    while stack:
        run = stack.pop()
        ordered.append(run)
        stack.extend(reversed(children.get(run.id, [])))
    return ordered


@dataclasses.dataclass(frozen=True)
class PipelineRow:
    stats: PipelineStats

    @property
    def last(self) -> RunRecord:
        return self.stats.recent[0]

    @property
    def runs(self) -> int:
        return sum(self.stats.counts.values())

    def count(self, *states: RunState) -> int:
        return sum(self.stats.counts.get(s.value, 0) for s in states)

    @property
    def succeeded(self) -> int:
        return self.count(RunState.SUCCEEDED, RunState.CACHED)

    @property
    def failed(self) -> int:
        return self.count(RunState.FAILED, RunState.ORPHANED, RunState.ABANDONED)

    @property
    def running(self) -> int:
        return self.runs - self.count(*(s for s in RunState if s.is_terminal))

    @property
    def success_rate(self) -> float | None:
        finished = self.count(*(s for s in RunState if s.is_terminal)) - self.count(RunState.CANCELLED)
        return self.succeeded / finished if finished else None


def pipelines(metadata: MetadataStore, recent: int = 30) -> list[PipelineRow]:
    return [PipelineRow(s) for s in metadata.pipeline_stats(recent=recent) if s.recent]
