"""Garbage collection: delete old finished pipelines, then artifacts no run references."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterable, Iterator

from loopline.core.records import RunFilter, RunRecord
from loopline.errors import ArtifactNotFoundError
from loopline.storage.base import ArtifactStore, MetadataStore

RECENT_WRITE_S = 600.0  # an artifact put this recently may belong to a run that has not said so yet
PARTIAL_WRITE_S = 3600.0  # a temporary file untouched this long is a write whose process died


@dataclasses.dataclass(frozen=True)
class GcReport:
    pipelines: int
    runs: int
    artifacts: int
    bytes: int
    partial_writes: int = 0


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
    pipeline: str | None = None,
    user: str | None = None,
) -> GcReport:
    """Delete pipelines that ended before `cutoff` (with all their runs), then every artifact
    created before `cutoff` that no remaining run (nor `keep_artifacts`) references, and the
    temporary files of writes whose process died. `pipeline` (a root func) and `user` limit the
    pipelines deleted; artifacts are collected only when no remaining run references them.

    Unfinished pipelines and artifacts too new to be referenced yet are never touched: neither one
    created after `cutoff`, nor, while a runner is live, one put in the last RECENT_WRITE_S (a run
    in progress may have produced bytes an old artifact already held, and not recorded its output
    yet)."""
    recent = time.time() - RECENT_WRITE_S
    roots = [
        r
        for r in all_runs(metadata, RunFilter(root_only=True, created_before=cutoff, function=pipeline))
        if r.state.is_terminal
        and r.ended_at is not None
        and r.ended_at < cutoff
        and (user is None or r.user == user)
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
    candidates: list[tuple[str, int]] = []
    for artifact_id in list(artifacts.ids()):
        if artifact_id in kept:
            continue
        try:
            record = metadata.get_artifact(artifact_id)
        except ArtifactNotFoundError:
            continue  # no record yet: possibly being written right now
        if record.created_at < cutoff:
            candidates.append((artifact_id, record.size))
    if metadata.live_runners():  # a pipeline may be running: spare what was put lately
        candidates = [(a, size) for a, size in candidates if not _written_since(artifacts, a, recent)]
    unreferenced = [artifact_id for artifact_id, _ in candidates]
    removed, size = len(candidates), sum(size for _, size in candidates)
    partial = 0
    if not dry_run:
        for artifact_id in unreferenced:
            artifacts.delete(artifact_id)
        metadata.delete_artifact_records(unreferenced)
        partial = artifacts.discard_partial_writes(PARTIAL_WRITE_S)
    return GcReport(len(roots), len(doomed), removed, size, partial)


def _written_since(artifacts: ArtifactStore, artifact_id: str, moment: float) -> bool:
    written = artifacts.written_at(artifact_id)
    return written is not None and written >= moment
