"""Errors of the continuous-learning layer (part of Loopline's one exception tree)."""

from __future__ import annotations

from loopline.errors import LooplineError


class _ReadableKeyError(LooplineError, KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class DatasetNotFoundError(_ReadableKeyError):
    """No dataset (or no such version of it) is registered."""


class ModelNotFoundError(_ReadableKeyError):
    """No model (or no such version or alias of it) is registered."""


class ScheduleNotFoundError(_ReadableKeyError):
    """No schedule has this name."""


class DatasetConflictError(LooplineError):
    """A dataset moved on (someone saved a version) since the version a change was derived from."""


class DatasetOverlapError(LooplineError, ValueError):
    """A golden dataset shares examples (by id or by content) with a training dataset."""


class PromotionRefusedError(LooplineError):
    """A promotion lacks the passing regression report it needs (or names the wrong models)."""


class GitHubStatusError(LooplineError):
    """GitHub could not be reached, or refused a commit status."""


class AliasMovedError(LooplineError):
    """An alias moved while a promotion was being decided; decide again on the new holder."""


class InferenceNotFoundError(_ReadableKeyError):
    """No inference with this request id is recorded."""


class TaskNotFoundError(_ReadableKeyError):
    """No labeling task has this id."""


class InvalidRecordError(LooplineError, ValueError):
    """An inference or feedback record is malformed; the message names the field and the fix."""


class LabelTypeError(LooplineError, TypeError):
    """A label is not of the type of the labels of the dataset it is for (a "7" for integer
    labels, a 7.5 for integer labels, a 7 for text labels); the message names both types."""


class RoundStateError(LooplineError):
    """A loop round is not in a state that allows this (accepting a round that was not blocked,
    or whose labels were reviewed since); the message says what state it is in."""


class TaskStateError(LooplineError):
    """A labeling task is not in a state that allows this (claimed by someone else, labeled
    already, ...); the message says what state it is in and what to do."""


__all__ = [
    "AliasMovedError",
    "DatasetConflictError",
    "DatasetNotFoundError",
    "DatasetOverlapError",
    "GitHubStatusError",
    "InferenceNotFoundError",
    "InvalidRecordError",
    "LabelTypeError",
    "ModelNotFoundError",
    "PromotionRefusedError",
    "RoundStateError",
    "ScheduleNotFoundError",
    "TaskNotFoundError",
    "TaskStateError",
]
