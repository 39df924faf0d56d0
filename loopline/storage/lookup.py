"""Finding a run by its id, or by the first characters of it (as the CLI and the dashboard show)."""

from __future__ import annotations

from loopline.core.records import RunFilter, RunRecord
from loopline.errors import RunNotFoundError, UsageError
from loopline.storage.base import MetadataStore

MIN_PREFIX = 6


def find_run(metadata: MetadataStore, run_id: str) -> RunRecord:
    """A run by its id or by a unique prefix of at least 6 characters."""
    try:
        return metadata.get_run(run_id)
    except RunNotFoundError:
        if len(run_id) < MIN_PREFIX:
            raise RunNotFoundError(
                f"no run with id {run_id!r} (give at least {MIN_PREFIX} characters of an id)"
            ) from None
    matches = [
        r for r in metadata.list_runs(RunFilter(search=run_id), limit=50).runs if r.id.startswith(run_id)
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunNotFoundError(f"no run with id {run_id!r}; list runs with: loopline runs ls")
    raise UsageError(f"{run_id!r} matches {len(matches)} runs; give more characters of the id")
