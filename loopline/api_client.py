"""Sematic's API client read functions (`sematic.api_client`) over Loopline's store."""

from __future__ import annotations

from loopline.storage.api import (
    block_on_run,
    cancel_pipeline_run,
    get_artifact_value,
    get_artifact_value_by_id,
    get_run,
    get_run_output,
    get_runs,
)

__all__ = [
    "block_on_run",
    "cancel_pipeline_run",
    "get_artifact_value",
    "get_artifact_value_by_id",
    "get_run",
    "get_run_output",
    "get_runs",
]
