"""`TimedMessage`: Sematic's demonstration of a resource a step sets up and releases.

Sematic's runners tracked such "external resources" through a state machine of their own;
in Loopline a resource used inside a step is a context manager, and this one keeps Sematic's
behaviour: entering takes `allocation_seconds`, the message can be read for at most
`max_active_seconds`, and leaving takes `deallocation_seconds`.
"""

from __future__ import annotations

import dataclasses
import time
from types import TracebackType

from loopline.errors import ExternalResourceError


@dataclasses.dataclass
class TimedMessage:
    """A message readable only while the resource is active."""

    message: str = ""
    allocation_seconds: float = 1.0
    deallocation_seconds: float = 1.0
    max_active_seconds: float = 30.0
    _active_since: float | None = dataclasses.field(default=None, init=False, repr=False)

    def __enter__(self) -> TimedMessage:
        time.sleep(self.allocation_seconds)
        self._active_since = time.monotonic()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._active_since = None
        time.sleep(self.deallocation_seconds)

    def read_message(self) -> str:
        if self._active_since is None:
            raise ExternalResourceError("the TimedMessage is not active: read it inside its `with` block")
        if time.monotonic() - self._active_since > self.max_active_seconds:
            raise ExternalResourceError(f"the TimedMessage timed out after {self.max_active_seconds:g} s")
        return self.message
