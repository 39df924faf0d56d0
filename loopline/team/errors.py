"""Errors of team mode (part of Loopline's one exception tree)."""

from __future__ import annotations

from loopline.errors import LooplineError, UsageError


class UserNotFoundError(LooplineError, KeyError):
    """No user has this name."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class KeyNotFoundError(LooplineError, KeyError):
    """No API key has this id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UserExistsError(UsageError):
    """A user with this name exists already."""


__all__ = ["KeyNotFoundError", "UserExistsError", "UserNotFoundError"]
