"""Read what was tracked from Python: `Client` (runs, outputs, artifacts, logs, metrics), and
Sematic's functions `get_artifact_value`, `get_run_output` and `block_on_run`."""

from __future__ import annotations

from loopline.storage.api import block_on_run, get_run_output
from loopline.storage.api import get_artifact_value_by_id as get_artifact_value
from loopline.storage.client import Client

__all__ = ["Client", "block_on_run", "get_artifact_value", "get_run_output"]
