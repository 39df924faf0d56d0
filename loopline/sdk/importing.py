"""While `loopline run` imports a target file, no pipeline may start (a tiny module: every runner
checks it, and `import loopline` should not pay for the target loader)."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from pathlib import Path

from loopline.errors import UsageError

_importing: contextvars.ContextVar[Path | None] = contextvars.ContextVar("importing_target", default=None)


@contextlib.contextmanager
def importing_target(file: Path) -> Iterator[None]:
    """Marks the import of a target file, during which no pipeline may start (see below)."""
    token = _importing.set(file)
    try:
        yield
    finally:
        _importing.reset(token)


def check_not_importing_target() -> None:
    """Called as a runner starts. A pipeline run by a target file at import time would run
    again when `loopline run` calls the func, and its steps can deadlock on the import lock
    that the import holds (pickling a class of that file waits for the import to finish)."""
    file = _importing.get()
    if file is not None:
        raise UsageError(
            f"{file.name} runs a pipeline when it is imported; put that under "
            '`if __name__ == "__main__":` so that `loopline run` can import the file'
        )
