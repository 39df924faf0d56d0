"""Sematic's exception names (`sematic.utils.exceptions`), as Loopline's own exceptions.

Each name is the Loopline exception that plays its part, so `except` clauses written for
Sematic catch what Loopline raises: `PipelineRunError` (a pipeline failed), `FunctionError`
(a func's code raised), `NotInSematicFuncError` (`context()` outside a running func),
`TimeoutError` (a step ran past its `timeout_mins`), `CancellationError` (a step was
cancelled), and the infrastructure errors.
"""

from __future__ import annotations

from loopline.core.exception_metadata import ExceptionMetadata, format_exception_for_run
from loopline.errors import (
    ExternalResourceError,
    FunctionError,
    InfrastructureError,
    KubernetesError,
    NotInFuncError,
    PipelineRunError,
    StepCancelledError,
    StepTimeoutError,
    UnsupportedFutureOperation,
    UsageError,
)

NotInSematicFuncError = NotInFuncError
TimeoutError = StepTimeoutError
CancellationError = StepCancelledError
ResolutionError = PipelineRunError
IllegalUseOfFutureError = UnsupportedFutureOperation
UnsupportedUsageError = UsageError

__all__ = [
    "CancellationError",
    "ExceptionMetadata",
    "ExternalResourceError",
    "FunctionError",
    "IllegalUseOfFutureError",
    "InfrastructureError",
    "KubernetesError",
    "NotInSematicFuncError",
    "PipelineRunError",
    "ResolutionError",
    "TimeoutError",
    "UnsupportedUsageError",
    "format_exception_for_run",
]
