"""Errors of the continuous-improvement loop (part of Loopline's one exception tree)."""

from __future__ import annotations

from loopline.cl.errors import _ReadableKeyError
from loopline.errors import LooplineError


class InferenceNotFoundError(_ReadableKeyError):
    """No inference with this request id is recorded."""


class TaskNotFoundError(_ReadableKeyError):
    """No labeling task has this id."""


class InvalidRecordError(LooplineError, ValueError):
    """An inference or feedback record is malformed; the message names the field and the fix."""


class TaskStateError(LooplineError):
    """A labeling task is not in a state that allows this (claimed by someone else, labeled
    already, ...); the message says what state it is in and what to do."""


__all__ = ["InferenceNotFoundError", "InvalidRecordError", "TaskNotFoundError", "TaskStateError"]
