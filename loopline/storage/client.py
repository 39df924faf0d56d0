"""`Client`: read what was tracked (runs, outputs, artifacts, logs, metrics) from Python."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loopline.core.records import ArtifactRecord, MetricPoint, RunFilter, RunRecord, RunState
from loopline.errors import UsageError
from loopline.settings import Settings
from loopline.storage.artifacts import load_value
from loopline.storage.base import ArtifactStore, MetadataStore
from loopline.storage.embedded import open_stores
from loopline.storage.lookup import find_run


def _states(state: str | RunState | Sequence[str | RunState] | None) -> list[RunState] | None:
    if state is None:
        return None
    items = [state] if isinstance(state, (str, RunState)) else list(state)
    try:
        return [RunState(s) for s in items]
    except ValueError:
        valid = ", ".join(s.value for s in RunState)
        raise UsageError(f"unknown run state in {state!r}; valid states: {valid}") from None


class Client:
    """Reads the store a LocalRunner writes (default: `LOOPLINE_HOME`)."""

    def __init__(
        self,
        home: str | Path | None = None,
        *,
        settings: Settings | None = None,
        metadata: MetadataStore | None = None,
        artifacts: ArtifactStore | None = None,
    ) -> None:
        if metadata is not None and artifacts is not None:
            self.metadata, self.artifacts = metadata, artifacts
        else:
            chosen = settings or (Settings.for_home(home) if home is not None else Settings.from_env())
            self.metadata, self.artifacts = open_stores(chosen)

    def runs(
        self,
        name: str | None = None,
        tags: Sequence[str] = (),
        state: str | RunState | Sequence[str | RunState] | None = None,
        *,
        function: str | None = None,
        root_only: bool = False,
        limit: int = 100,
    ) -> list[RunRecord]:
        """Runs, newest first. `name` matches part of the display name; every tag must match."""
        if isinstance(tags, str):
            tags = [tags]
        query = RunFilter(
            states=_states(state), name=name, tags=tuple(tags), function=function, root_only=root_only
        )
        return self.metadata.list_runs(query, limit=limit).runs

    def run(self, run_id: str) -> RunRecord:
        """A run by its id, or by a unique prefix of at least 6 characters of it."""
        return find_run(self.metadata, run_id)

    def children(self, run_id: str) -> list[RunRecord]:
        return self.metadata.list_runs(RunFilter(parent_id=run_id), limit=100_000).runs

    def output(self, run_id: str) -> Any:
        """The value a run returned (raises if it has none yet)."""
        run = self.run(run_id)
        if run.output_id is None:
            raise UsageError(f"run {run_id} ({run.name}) has no output: it is {run.state.value}")
        return load_value(run.output_id, self.artifacts)

    def inputs(self, run_id: str) -> dict[str, Any]:
        return {
            name: load_value(ref.artifact_id, self.artifacts) for name, ref in self.run(run_id).inputs.items()
        }

    def artifact(self, artifact_id: str) -> Any:
        """The stored value of an artifact (its hash is checked)."""
        return load_value(artifact_id, self.artifacts)

    def artifact_record(self, artifact_id: str) -> ArtifactRecord:
        return self.metadata.get_artifact(artifact_id)

    def logs(self, run_id: str) -> str:
        self.run(run_id)
        return "".join(chunk.text for chunk in self.metadata.read_logs(run_id))

    def metrics(self, run_id: str) -> list[MetricPoint]:
        return self.metadata.read_metrics(run_id=run_id)

    def cancel(self, run_id: str) -> str:
        """Ask the runner of this run's pipeline to cancel it; returns the pipeline's root id."""
        return self.metadata.request_cancel(run_id)
