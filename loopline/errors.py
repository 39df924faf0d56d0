"""Loopline's one exception tree.

Every error Loopline raises derives from `LooplineError`. Where an error has a natural builtin
meaning it also derives from that builtin (a bad argument is a `TypeError`, a missing run is a
`KeyError`), so existing `except` clauses keep working.

Errors raised by user code inside a step are never wrapped in these classes except at the
pipeline boundary: `PipelineRunError` is chained (`__cause__`) to the user's own exception.
"""

from __future__ import annotations


class LooplineError(Exception):
    """Base class of every error Loopline raises."""


class FunctionDefinitionError(LooplineError, TypeError):
    """A function cannot become a Loopline func as written; the message lists every problem."""


class ArgumentTypeError(LooplineError, TypeError):
    """A func was called with an argument that does not match its annotation."""


class OutputTypeError(LooplineError, TypeError):
    """A func returned a value that does not match its return annotation."""


class OptionTypeError(LooplineError, TypeError):
    """An option (of @func, Future.set or a runner) was given a value of the wrong type."""


class UnsupportedFutureOperation(LooplineError, TypeError):
    """An operation was attempted on a Future whose value is not known yet."""


class SerializationError(LooplineError, TypeError):
    """A value could not be turned into an artifact (or an artifact back into a value)."""


class ArtifactNotFoundError(LooplineError, KeyError):
    """No artifact with this id exists in the artifact store."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class ArtifactCorruptedError(LooplineError):
    """An artifact's bytes no longer match its content hash."""


class RunNotFoundError(LooplineError, KeyError):
    """No run with this id exists in the metadata store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ResourceUnavailableError(LooplineError):
    """A step asked for resources (GPUs, memory) that this runner can never provide."""


class StepTimeoutError(LooplineError, TimeoutError):
    """A step ran past its `timeout_mins`."""


class StepCancelledError(LooplineError):
    """A step was cancelled (by `loopline cancel`, Ctrl-C, or a failure elsewhere)."""


class WorkerCrashedError(LooplineError):
    """The process running a step died before reporting a result."""


class StoreError(LooplineError):
    """The metadata or artifact store cannot be used as configured."""


class UsageError(LooplineError, ValueError):
    """A command or API was called in a way that cannot work; the message says how to fix it."""


class PipelineRunError(LooplineError):
    """A pipeline failed. `__cause__` is the original exception raised by the failing step."""

    def __init__(self, message: str, *, run_id: str | None = None, function: str | None = None):
        super().__init__(message)
        self.run_id = run_id
        self.function = function


class LooplineWarning(UserWarning):
    """Base class of the warnings Loopline emits (errors in Loopline's own test suite)."""


class LooplineDeprecationWarning(LooplineWarning, DeprecationWarning):
    """A Sematic-era API that still works but has a better replacement."""


__all__ = [
    "ArgumentTypeError",
    "ArtifactCorruptedError",
    "ArtifactNotFoundError",
    "FunctionDefinitionError",
    "LooplineDeprecationWarning",
    "LooplineError",
    "LooplineWarning",
    "OptionTypeError",
    "OutputTypeError",
    "PipelineRunError",
    "ResourceUnavailableError",
    "RunNotFoundError",
    "SerializationError",
    "StepCancelledError",
    "StepTimeoutError",
    "StoreError",
    "UnsupportedFutureOperation",
    "UsageError",
    "WorkerCrashedError",
]
