"""Capture what a step prints or logs, per run, even with many steps in threads at once.

`sys.stdout` and `sys.stderr` are replaced (once per process) by routing streams: a write made
while a step's capture target is set goes to that step's sink (and, if asked, on to the terminal);
any other write goes straight to the original stream. Log records reach the same streams through
the logging handlers that write to them.
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


def install(echo: bool = True) -> None:
    """Route stdout and stderr of this process through the capture (idempotent).

    Logging needs nothing of its own: handlers write to these streams (Python's last-resort
    handler, or `logging.basicConfig()`'s). Handlers created before this call still hold the
    original streams, so they are pointed at the routing streams too."""
    with _install_lock:
        routes: dict[int, RoutingStream] = {}
        for name in ("stdout", "stderr"):
            current = getattr(sys, name)
            if isinstance(current, RoutingStream):
                current.echo = echo
            elif current is not None:
                route = RoutingStream(current, name, echo)
                routes[id(current)] = route
                setattr(sys, name, route)
        for handler in _stream_handlers():
            replacement = routes.get(id(handler.stream))
            if replacement is not None:
                handler.setStream(replacement)


def _stream_handlers() -> list[logging.StreamHandler[Any]]:
    loggers = [
        logging.getLogger(),
        *(v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    return [h for logger in loggers for h in logger.handlers if isinstance(h, logging.StreamHandler)]


@contextlib.contextmanager
def capturing(sink: LogSink) -> Iterator[None]:
    """Within this block (this thread / context), output goes to `sink`."""
    token = _TARGET.set(sink)
    try:
        yield
    finally:
        _TARGET.reset(token)
