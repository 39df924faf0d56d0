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


__all__ = [
    "AliasMovedError",
    "DatasetConflictError",
    "DatasetNotFoundError",
    "DatasetOverlapError",
    "GitHubStatusError",
    "ModelNotFoundError",
    "PromotionRefusedError",
    "ScheduleNotFoundError",
]
