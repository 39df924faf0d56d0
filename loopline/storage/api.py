"""Sematic's API client functions (`sematic.api_client`, `sematic.client`) over Loopline's store.

They read the store that `Client()` opens (`LOOPLINE_HOME`, or the configured database); each
takes `client=` to read another. Runs come back as Loopline's `RunRecord`s: `id`, `root_id`,
`parent_id`, `name`, `function` (Sematic's `function_path`), `state` (its `future_state`),
`tags`, `output_id`.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from loopline.core.records import ArtifactRecord, RunFilter, RunRecord, RunState
from loopline.errors import RunNotSucceededError, UsageError, WaitTimeoutError
from loopline.storage.client import Client

# Sematic's run columns, as get_runs(**filters) takes them, and the RunFilter field each sets.
_FILTERS = {
    "name": "name",
    "function_path": "function",
    "root_id": "root_id",
    "parent_id": "parent_id",
    "future_state": "states",
    "state": "states",
}


def _client(client: Client | None) -> Client:
    return client if client is not None else Client()


def get_run(run_id: str, *, client: Client | None = None) -> RunRecord:
    """The run with this id (or a unique prefix of it)."""
    return _client(client).run(run_id)


def get_runs(
    limit: int | None = None,
    order: Literal["asc", "desc"] | None = None,
    *,
    client: Client | None = None,
    **filters: Any,
) -> list[RunRecord]:
    """Runs matching every filter (`name`, `function_path`, `root_id`, `parent_id`,
    `future_state`, or `id`), newest first unless `order="asc"`."""
    if order not in (None, "asc", "desc"):
        raise UsageError(f"get_runs(order=...) must be 'asc' or 'desc', got {order!r}")
    reader = _client(client)
    if "id" in filters:
        run_id = filters.pop("id")
        runs = [r for r in [reader.run(run_id)] if _matches(r, filters)]
        return runs
    query: dict[str, Any] = {}
    for column, value in filters.items():
        field = _FILTERS.get(column)
        if field is None:
            known = ", ".join(sorted([*_FILTERS, "id"]))
            raise UsageError(f"get_runs() cannot filter on {column!r}; it filters on: {known}")
        query[field] = [_state(value)] if field == "states" else value
    runs = reader.metadata.list_runs(RunFilter(**query), limit=limit or 100_000).runs
    return list(reversed(runs)) if order == "asc" else runs


def _matches(run: RunRecord, filters: dict[str, Any]) -> bool:
    return all(
        (_state(value) is run.state)
        if _FILTERS.get(column) == "states"
        else getattr(run, _FILTERS.get(column, column)) == value
        for column, value in filters.items()
    )


def _state(value: Any) -> RunState:
    try:
        return RunState(str(getattr(value, "value", value)).lower())
    except ValueError:
        raise UsageError(
            f"unknown run state {value!r}; states: {', '.join(s.value for s in RunState)}"
        ) from None


def get_artifact_value_by_id(artifact_id: str, *, client: Client | None = None) -> Any:
    """The value stored as this artifact (its hash is checked)."""
    return _client(client).artifact(artifact_id)


def get_artifact_value(artifact: ArtifactRecord | str, *, client: Client | None = None) -> Any:
    """The value of an artifact record (or of an artifact id)."""
    artifact_id = artifact if isinstance(artifact, str) else artifact.id
    return get_artifact_value_by_id(artifact_id, client=client)


def get_run_output(run_id: str, *, client: Client | None = None) -> Any:
    """The output of a run that succeeded; RunNotSucceededError for any other run."""
    reader = _client(client)
    run = reader.run(run_id)
    if not run.state.is_success or run.output_id is None:
        raise RunNotSucceededError(
            f"run {run.id} ({run.name}) is {run.state.value}: only a run that succeeded has an output"
            + ("" if run.state.is_terminal else "; wait for it with block_on_run(run_id)")
        )
    return reader.artifact(run.output_id)


def block_on_run(
    run_id: str,
    polling_interval_seconds: float = 5.0,
    max_wait_seconds: float | None = None,
    cancel_on_exit: bool = False,
    *,
    client: Client | None = None,
) -> None:
    """Wait until the run ends. Returns when it succeeded; raises RunNotSucceededError when it
    ended otherwise, WaitTimeoutError after `max_wait_seconds` (with `cancel_on_exit`, the
    pipeline is then cancelled, as on any other way out before the run ended)."""
    reader = _client(client)
    started = time.monotonic()
    run = reader.run(run_id)
    try:
        while not run.state.is_terminal:
            if max_wait_seconds is not None and time.monotonic() - started > max_wait_seconds:
                raise WaitTimeoutError(f"run {run.id} did not end within {max_wait_seconds:g} s")
            time.sleep(polling_interval_seconds)
            run = reader.run(run.id)
    finally:
        if cancel_on_exit and not run.state.is_terminal:
            reader.cancel(run.id)
    if not run.state.is_success:
        raise RunNotSucceededError(f"run {run.id} ({run.name}) ended {run.state.value}")


def cancel_pipeline_run(run_id: str, *, client: Client | None = None) -> str:
    """Ask the runner of the run's pipeline to cancel it; returns the pipeline's root id."""
    return _client(client).cancel(run_id)


__all__ = [
    "block_on_run",
    "cancel_pipeline_run",
    "get_artifact_value",
    "get_artifact_value_by_id",
    "get_run",
    "get_run_output",
    "get_runs",
]
