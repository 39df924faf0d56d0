"""Who and what produced a record: the OS user, the running pipeline, the git commit."""

from __future__ import annotations

from pathlib import Path

from loopline.engine.launch import current_user, git_info
from loopline.errors import UsageError
from loopline.sdk.context import context


def current_run_id() -> str | None:
    """The run executing this code, when it runs inside a func."""
    try:
        return context().run_id
    except UsageError:
        return None


def current_commit(directory: Path | None = None) -> str | None:
    """The git commit of the working tree holding `directory` (default: the current folder)."""
    info = git_info(directory or Path.cwd())
    return None if info is None else info.commit


__all__ = ["current_commit", "current_run_id", "current_user"]
