"""While `loopline run` imports a target file, no pipeline may start (a tiny module: every runner
checks it, and `import loopline` should not pay for the target loader)."""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator
from pathlib import Path

from loopline.errors import UsageError


@dataclasses.dataclass(frozen=True)
class _Importing:
    file: Path
    notebook: bool


_importing: contextvars.ContextVar[_Importing | None] = contextvars.ContextVar(
    "importing_target", default=None
)


class TargetRunsPipeline(UsageError):
    """A target file started a pipeline while it was being loaded."""


@contextlib.contextmanager
def importing_target(file: Path, *, notebook: bool = False) -> Iterator[None]:
    """Marks the import of a target file (a notebook's cells with `notebook=True`), during which
    no pipeline may start (see below)."""
    token = _importing.set(_Importing(file, notebook))
    try:
        yield
    finally:
        _importing.reset(token)


def check_not_importing_target() -> None:
    """Called as a runner starts. A pipeline run by a target file at import time would run
    again when `loopline run` calls the func, and its steps can deadlock on the import lock
    that the import holds (pickling a class of that file waits for the import to finish).
    A notebook's cell that runs a pipeline is where the notebook was tried out: loading the
    notebook skips the rest of that cell (`sdk.notebook`)."""
    importing = _importing.get()
    if importing is None:
        return
    if importing.notebook:
        raise TargetRunsPipeline(f"a cell of {importing.file.name} runs a pipeline as the notebook is loaded")
    raise TargetRunsPipeline(
        f"{importing.file.name} runs a pipeline when it is imported; put that under "
        '`if __name__ == "__main__":` so that `loopline run` can import the file'
    )
