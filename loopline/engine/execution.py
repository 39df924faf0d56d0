"""Executing one func call: the part every executor shares (thread, worker process, Ray task).

`execute_step` runs the body inside the step's context and log capture, checks the output and
stores it in the artifact store, so that the output is safe on disk before any dependent step
can start, wherever that step runs.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import traceback
from typing import Any

from loopline.core.records import ArtifactRecord, ErrorInfo
from loopline.core.types import Conversions
from loopline.engine import capture
from loopline.engine.passing import ValueStore
from loopline.engine.structure import deferred_leaves, warn_unused
from loopline.errors import LooplineError
from loopline.sdk.context import Context, MetricSink, StepScope, step_scope
from loopline.sdk.function import Function

_ENGINE_DIR = os.path.dirname(os.path.abspath(__file__))
_SDK_DIR = os.path.join(os.path.dirname(_ENGINE_DIR), "sdk")


@dataclasses.dataclass(frozen=True)
class StoredInput:
    """An input that the executing side reads from the artifact store itself."""

    artifact_id: str


@dataclasses.dataclass
class StepTask:
    run_id: str
    root_id: str
    function: Function[..., Any]
    inputs: dict[str, Any]  # plain values, or StoredInput for out-of-process executors
    attempt: int
    timeout_s: float | None = None
    gpu_ids: tuple[int, ...] = ()
    strict_types: bool = False  # the runner's setting: no Sematic-style conversions of outputs


@dataclasses.dataclass
class StepResult:
    """What came of one attempt. Exactly one of `artifact`, `nested` or `error` is set."""

    run_id: str
    attempt: int
    artifact: ArtifactRecord | None = None
    value: Any = None  # the output, when it was produced in this process
    has_value: bool = False
    nested: Any = None  # the returned structure of futures
    error: BaseException | None = None
    error_info: ErrorInfo | None = None
    executor_lost: bool = False  # the worker died: retry regardless of exception types
    raised_by_func: bool = False  # `error` came from the func's own code (not from Loopline)


def error_info(error: BaseException) -> ErrorInfo:
    """The exception as a record: type, message and a traceback without Loopline's frames."""
    frames = traceback.extract_tb(error.__traceback__)
    user_frames = [f for f in frames if not f.filename.startswith((_ENGINE_DIR, _SDK_DIR))]
    lines = (
        ["Traceback (most recent call last):\n", *traceback.format_list(user_frames)] if user_frames else []
    )
    lines += traceback.format_exception_only(type(error), error)
    cls = type(error)
    name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    is_ours = isinstance(error, LooplineError) and not isinstance(error, TypeError)
    return ErrorInfo(name, str(error), "".join(lines), user_error=not is_ours)


def execute_step(
    task: StepTask, values: ValueStore, on_log: capture.LogSink, on_metric: MetricSink
) -> StepResult:
    """Run the body of `task` and store its output; never raises for errors of the step."""
    scope = StepScope(Context(task.run_id, task.root_id), on_metric)
    in_body = False
    try:
        inputs = {
            name: values.get(value.artifact_id) if isinstance(value, StoredInput) else value
            for name, value in task.inputs.items()
        }
        with step_scope(scope), capture.capturing(on_log):
            in_body = True
            output = task.function.run_body(inputs)
            in_body = False
            leaves = deferred_leaves(output)
            warn_unused(task.function, scope.created, leaves)
            conversions = (
                Conversions() if not (task.strict_types or task.function.options.strict_types) else None
            )
            checked = task.function.check_output(output, conversions)
            if conversions:
                print(conversions.note(f"{task.function.name}() returned"), file=sys.stderr)
        if leaves:  # the declared types of the returned futures fit: the graph grows
            return StepResult(task.run_id, task.attempt, nested=checked)
        artifact = values.put(checked)
    except (Exception, SystemExit) as error:  # noqa: BLE001 - a failing step is data for the state machine
        return StepResult(
            task.run_id, task.attempt, error=error, error_info=error_info(error), raised_by_func=in_body
        )
    return StepResult(task.run_id, task.attempt, artifact=artifact, value=checked, has_value=True)
