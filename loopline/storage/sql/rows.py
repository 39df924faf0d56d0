"""Records as rows of the SQL schema and back, shared by both ways into a SQL database.

`SqlMetadataStore` binds these rows through SQLAlchemy; `SqliteMetadataStore` writes the same rows
with the standard library's sqlite3 (and encodes JSON and times as SQLAlchemy would). This module
imports neither, so the embedded store's fast path stays free of SQLAlchemy.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from loopline.core.records import (
    ArtifactRecord,
    ErrorInfo,
    GitInfo,
    InputRef,
    LaunchSpec,
    LogChunk,
    Resources,
    RunRecord,
    RunState,
)

# Columns a runner's snapshot must never overwrite on upsert.
STORE_OWNED = frozenset({"id", "created_at", "cancel_requested"})
_STATES = {state.value: state for state in RunState}  # ten times faster than RunState(...)


def dump_json(value: Any) -> str:
    """JSON as typed, without \\u escapes, so text search can look inside JSON columns."""
    return _JSON.encode(value)


_JSON = json.JSONEncoder(ensure_ascii=False)  # what json.dumps(ensure_ascii=False) builds per call


def unique_artifacts(artifacts: Sequence[ArtifactRecord]) -> list[ArtifactRecord]:
    """The first record of each artifact (records are written once: the first one wins)."""
    first: dict[str, ArtifactRecord] = {}
    for artifact in artifacts:
        first.setdefault(artifact.id, artifact)
    return list(first.values())


def latest_runs(runs: Sequence[RunRecord]) -> list[RunRecord]:
    return list({r.id: r for r in runs}.values())


def artifact_row(artifact: ArtifactRecord) -> dict[str, Any]:
    return {
        "id": artifact.id,
        "type_name": artifact.type_name,
        "size": artifact.size,
        "summary": artifact.summary,
        "created_at": artifact.created_at,
    }


def log_row(chunk: LogChunk) -> dict[str, Any]:
    return {
        "run_id": chunk.run_id,
        "stream": chunk.stream,
        "text": chunk.text,
        "created_at": chunk.created_at,
    }


def _optional_dict(value: Any) -> dict[str, Any] | None:
    return None if value is None else dataclasses.asdict(value)


def run_row(run: RunRecord) -> dict[str, Any]:
    """Every column of `runs` but `updated_at` (the store sets it)."""
    return {
        "id": run.id,
        "root_id": run.root_id,
        "parent_id": run.parent_id,
        "function": run.function,
        "name": run.name,
        "state": run.state.value,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "tags": list(run.tags),
        "inputs": {name: [ref.artifact_id, list(ref.sources)] for name, ref in run.inputs.items()},
        "output_id": run.output_id,
        "cache_key": run.cache_key,
        "cached_from": run.cached_from,
        "code_version": run.code_version,
        "resources": {
            "cpus": run.resources.cpus,
            "gpus": run.resources.gpus,
            "memory_bytes": run.resources.memory_bytes,
        },
        "attempts": run.attempts,
        "error": _optional_dict(run.error),
        "runner_id": run.runner_id,
        "executor": run.executor,
        "user": run.user,
        "git": _optional_dict(run.git),
        "launch": None
        if run.launch is None
        else {**dataclasses.asdict(run.launch), "argv": list(run.launch.argv)},
        "cancel_requested": run.cancel_requested,
    }


def run_from_row(row: Mapping[Any, Any]) -> RunRecord:
    """A run from a row of `runs` joined with its code version's `source` and `docstring`, with
    JSON columns decoded and times as aware datetimes."""
    launch = row["launch"]
    return RunRecord(
        id=row["id"],
        root_id=row["root_id"],
        parent_id=row["parent_id"],
        function=row["function"],
        name=row["name"],
        state=_STATES[row["state"]],
        created_at=row["created_at"],
        tags=tuple(row["tags"] or ()),
        inputs={name: InputRef(ref[0], tuple(ref[1])) for name, ref in (row["inputs"] or {}).items()},
        output_id=row["output_id"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        cache_key=row["cache_key"],
        cached_from=row["cached_from"],
        code_version=row["code_version"],
        source=row["source"] or "",
        docstring=row["docstring"],
        resources=Resources(**row["resources"]),
        attempts=row["attempts"],
        error=ErrorInfo(**row["error"]) if row["error"] else None,
        runner_id=row["runner_id"],
        executor=row["executor"],
        user=row["user"],
        git=GitInfo(**row["git"]) if row["git"] else None,
        launch=LaunchSpec(**{**launch, "argv": tuple(launch["argv"])}) if launch else None,
        cancel_requested=bool(row["cancel_requested"]),
        updated_at=row["updated_at"],
    )
