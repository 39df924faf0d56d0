"""Garbage collection: delete old finished pipelines, then artifacts no run references."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator

from loopline.core.records import RunFilter, RunRecord
from loopline.errors import ArtifactNotFoundError
from loopline.storage.base import ArtifactStore, MetadataStore


@dataclasses.dataclass(frozen=True)
class GcReport:
    pipelines: int
    runs: int
    artifacts: int
    bytes: int


def all_runs(metadata: MetadataStore, query: RunFilter) -> Iterator[RunRecord]:
    cursor = None
    while True:
        page = metadata.list_runs(query, limit=1000, cursor=cursor)
        yield from page.runs
        cursor = page.next_cursor
        if cursor is None:
            return


def collect_garbage(
    metadata: MetadataStore,
    artifacts: ArtifactStore,
    cutoff: dt.datetime,
    *,
    dry_run: bool = False,
    keep_artifacts: Iterable[str] = (),
) -> GcReport:
    """Delete pipelines that ended before `cutoff` (with all their runs), then every artifact
    created before `cutoff` that no remaining run (nor `keep_artifacts`) references.

    Unfinished pipelines and artifacts too new to be referenced yet are never touched."""
    roots = [
        r
        for r in all_runs(metadata, RunFilter(root_only=True, created_before=cutoff))
        if r.state.is_terminal and r.ended_at is not None and r.ended_at < cutoff
    ]
    doomed_roots = {r.id for r in roots}
    doomed: list[str] = []
    kept: set[str] = set(keep_artifacts)
    for run in all_runs(metadata, RunFilter()):
        if run.root_id in doomed_roots:
            doomed.append(run.id)
            continue
        kept.update(ref.artifact_id for ref in run.inputs.values())
        if run.output_id:
            kept.add(run.output_id)
    if doomed and not dry_run:
        metadata.delete_runs(doomed)
    removed = 0
    size = 0
    unreferenced = []
    for artifact_id in list(artifacts.ids()):
        if artifact_id in kept:
            continue
        try:
            record = metadata.get_artifact(artifact_id)
        except ArtifactNotFoundError:
            continue  # no record yet: possibly being written right now
        if record.created_at >= cutoff:
            continue
        removed += 1
        size += record.size
        unreferenced.append(artifact_id)
    if not dry_run:
        for artifact_id in unreferenced:
            artifacts.delete(artifact_id)
        metadata.delete_artifact_records(unreferenced)
    return GcReport(len(roots), len(doomed), removed, size)
