"""Capture what a step prints or logs, per run, even with many steps in threads at once.

`sys.stdout` and `sys.stderr` are replaced (once per process) by routing streams: a write made
while a step's capture target is set goes to that step's sink (and, if asked, on to the terminal);
any other write goes straight to the original stream. Log records go through the same route.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TextIO

LogSink = Callable[[str, str], None]  # (stream, text)

_TARGET: ContextVar[LogSink | None] = ContextVar("loopline_log_target", default=None)
_install_lock = threading.Lock()


class RoutingStream:
    """A text stream that sends writes to the current step's sink, else to `original`."""

    def __init__(self, original: TextIO, name: str, echo: bool) -> None:
        self.original = original
        self.name = name
        self.echo = echo

    def write(self, text: str) -> int:
        sink = _TARGET.get()
        if sink is None:
            return self.original.write(text)
        if text:
            sink(self.name, text)
            if self.echo:
                self.original.write(text)
        return len(text)

    def flush(self) -> None:
        self.original.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno, ...
        return getattr(self.original, name)


class _CaptureHandler(logging.Handler):
    """Captures log records of a step unless a root handler already writes them to a
    routing stream (which captures them itself)."""

    def emit(self, record: logging.LogRecord) -> None:
        sink = _TARGET.get()
        if sink is None or _root_writes_to_routing_stream():
            return
        try:
            sink("log", self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - logging must never raise into user code
            self.handleError(record)


def _root_writes_to_routing_stream() -> bool:
    return any(
        isinstance(h, logging.StreamHandler) and isinstance(h.stream, RoutingStream)
        for h in logging.getLogger().handlers
    )


def install(echo: bool = True) -> None:
    """Route stdout, stderr and logging of this process through the capture (idempotent)."""
    with _install_lock:
        for name in ("stdout", "stderr"):
            current = getattr(sys, name)
            if isinstance(current, RoutingStream):
                current.echo = echo
            elif current is not None:
                setattr(sys, name, RoutingStream(current, name, echo))
        root = logging.getLogger()
        if not any(isinstance(h, _CaptureHandler) for h in root.handlers):
            handler = _CaptureHandler()
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            root.addHandler(handler)


@contextlib.contextmanager
def capturing(sink: LogSink) -> Iterator[None]:
    """Within this block (this thread / context), output goes to `sink`."""
    token = _TARGET.set(sink)
    try:
        yield
    finally:
        _TARGET.reset(token)
