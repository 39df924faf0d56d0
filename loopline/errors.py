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


class FunctionDefinitionError(LooplineError, TypeError, ValueError):
    """A function cannot become a Loopline func as written; the message lists every problem.

    Also a `ValueError`: Sematic raised TypeError for some of these problems, ValueError for
    others, and code written for it catches either."""


class ArgumentTypeError(LooplineError, TypeError):
    """A func was called with an argument that does not match its annotation."""


class OutputTypeError(LooplineError, TypeError):
    """A func returned a value that does not match its return annotation."""


class OptionTypeError(LooplineError, TypeError, ValueError):
    """An option (of @func, Future.set or a runner) was given a value of the wrong type.

    Also a `ValueError`, which is what Sematic raised for the same mistakes."""


class UnsupportedFutureOperation(LooplineError, TypeError, NotImplementedError):
    """An operation was attempted on a Future whose value is not known yet.

    Also a `NotImplementedError`, which is what Sematic raised for the same operations."""


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


class StepTimeoutError(LooplineError, TimeoutError, RuntimeError):
    """A step ran past its `timeout_mins`. Also a `RuntimeError`, as Sematic's `TimeoutError` was."""


class StepCancelledError(LooplineError):
    """A step was cancelled (by `loopline cancel`, Ctrl-C, or a failure elsewhere)."""


class WorkerCrashedError(LooplineError):
    """The process running a step died before reporting a result."""


class RunNotSucceededError(LooplineError, RuntimeError):
    """A run ended in another state than succeeded (or has not ended) where its output was
    needed. Also a `RuntimeError`, which is what Sematic's API client raised."""


class WaitTimeoutError(LooplineError, TimeoutError):
    """Waiting for a run to end took longer than allowed (the run itself goes on)."""


class StoreError(LooplineError):
    """The metadata or artifact store cannot be used as configured."""


class ServerUnavailableError(StoreError, ConnectionError):
    """A Loopline server cannot be reached (or kept failing past the retry deadline)."""


class AuthenticationError(LooplineError, PermissionError):
    """A Loopline server refused the request's credentials: no key, a wrong, revoked or expired
    key, or an ended session."""


class PermissionDeniedError(LooplineError, PermissionError):
    """The credentials are valid but their role does not allow this (the message names both)."""


class UsageError(LooplineError, ValueError):
    """A command or API was called in a way that cannot work; the message says how to fix it."""


class NotInFuncError(UsageError, RuntimeError):
    """An API that describes the running step (`context()`, `log_metric()`) was called outside
    of a running func. Also a `RuntimeError`, as Sematic's `NotInSematicFuncError` was."""


class DataSourceError(LooplineError):
    """A table source (`loopline.data`) cannot be read: an unreachable warehouse, a query the
    database refused (its own message is quoted), files that are missing or unreadable."""


class PipelineRunError(LooplineError):
    """A pipeline failed. `__cause__` is the original exception raised by the failing step.

    `__context__` leads there too, through a `FunctionError` when the step's own code raised
    (as in Sematic, whose users' tests read `error.__context__.__context__`)."""

    def __init__(self, message: str, *, run_id: str | None = None, function: str | None = None):
        super().__init__(message)
        self.run_id = run_id
        self.function = function


class FunctionError(LooplineError):
    """The code of a func raised; `__cause__` (and `__context__`) is the exception it raised."""


class InfrastructureError(LooplineError):
    """Something a step runs on failed, rather than the step's code (Sematic's name)."""


class KubernetesError(InfrastructureError):
    """Kubernetes failed. Loopline does not drive Kubernetes itself: it raises this only where
    Sematic code expects it (the class exists so that `except KubernetesError` keeps working)."""


class ExternalResourceError(InfrastructureError):
    """A resource used inside a step (such as a Ray cluster) could not be set up or released."""


class LooplineWarning(UserWarning):
    """Base class of the warnings Loopline emits (errors in Loopline's own test suite)."""


class LooplineDeprecationWarning(LooplineWarning, DeprecationWarning):
    """A Sematic-era API that still works but has a better replacement."""


__all__ = [
    "ArgumentTypeError",
    "ArtifactCorruptedError",
    "ArtifactNotFoundError",
    "AuthenticationError",
    "ExternalResourceError",
    "DataSourceError",
    "FunctionDefinitionError",
    "FunctionError",
    "InfrastructureError",
    "KubernetesError",
    "LooplineDeprecationWarning",
    "LooplineError",
    "LooplineWarning",
    "NotInFuncError",
    "OptionTypeError",
    "OutputTypeError",
    "PermissionDeniedError",
    "PipelineRunError",
    "ResourceUnavailableError",
    "RunNotFoundError",
    "RunNotSucceededError",
    "SerializationError",
    "ServerUnavailableError",
    "StepCancelledError",
    "StepTimeoutError",
    "StoreError",
    "UnsupportedFutureOperation",
    "UsageError",
    "WaitTimeoutError",
    "WorkerCrashedError",
]
