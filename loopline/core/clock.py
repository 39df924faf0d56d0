"""Time as a dependency: the engine reads and waits through a Clock, so tests can control it."""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """Wall-clock time (UTC), for records."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for deadlines."""

    def wait(self, events: queue.SimpleQueue[Any], timeout: float | None) -> Any | None:
        """The next event, or None once `timeout` seconds have passed without one."""


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, events: queue.SimpleQueue[Any], timeout: float | None) -> Any | None:
        try:
            return events.get(timeout=None if timeout is None else max(0.0, timeout))
        except queue.Empty:
            return None


class ManualClock:
    """A clock that only moves when told to, or when its owner waits with a timeout and no event
    is pending: then it jumps straight to the end of the wait. Retries with backoff and timeouts
    become instant and deterministic in tests."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._start = start or dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
        self._elapsed = 0.0
        self._lock = threading.Lock()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._elapsed += seconds

    def now(self) -> dt.datetime:
        return self._start + dt.timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    def wait(self, events: queue.SimpleQueue[Any], timeout: float | None) -> Any | None:
        try:
            return events.get_nowait()
        except queue.Empty:
            pass
        if timeout is None:
            return events.get()
        self.advance(max(0.0, timeout))
        return None
