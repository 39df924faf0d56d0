"""Runner heartbeats, orphaned-run detection and cancellation requests.

A runner records itself and heartbeats while it works. A run whose runner is gone (its process
no longer exists on this host, or it stopped heartbeating for `STALE_AFTER_S`) is marked ORPHANED
by the next runner start or `loopline clean`. A live runner's runs are never touched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from loopline.core.clock import Clock
from loopline.core.records import RunnerRecord
from loopline.storage.base import MetadataStore

HEARTBEAT_S = 5.0
POLL_S = 0.5
STALE_AFTER_S = 60.0

logger = logging.getLogger(__name__)


def pid_alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (macOS): signal 0 is all we know
    return state != "Z"


def dead_runners(
    runners: list[RunnerRecord], now: dt.datetime, stale_after_s: float = STALE_AFTER_S
) -> list[RunnerRecord]:
    host = socket.gethostname()
    stale_before = now - dt.timedelta(seconds=stale_after_s)
    dead = []
    for runner in runners:
        if runner.host == host and runner.pid != os.getpid():
            if not pid_alive(runner.pid):
                dead.append(runner)
        elif runner.host != host and runner.heartbeat_at < stale_before:
            dead.append(runner)
    return dead


def mark_orphans(
    metadata: MetadataStore, now: dt.datetime, stale_after_s: float = STALE_AFTER_S
) -> list[str]:
    """Mark ORPHANED every unfinished run whose runner is gone: stopped (it could not record
    their end, such as on a full disk), or dead without saying so. Returns their ids."""
    owners = metadata.unfinished_runners()
    stopped = [r for r in owners if r.stopped_at is not None]
    dead = dead_runners([r for r in owners if r.stopped_at is None], now, stale_after_s)
    marked: list[str] = []
    for runner in stopped + dead:
        how = "stopped" if runner.stopped_at is not None else "died"
        reason = f"its runner (pid {runner.pid} on {runner.host}) {how} without finishing it"
        marked += metadata.orphan_runs([runner.id], now, reason)
    return marked


class Liveness:
    """The runner's heartbeat and the watch for `loopline cancel` requests, in one thread."""

    def __init__(self, metadata: MetadataStore, clock: Clock, runner: RunnerRecord) -> None:
        self.metadata = metadata
        self.clock = clock
        self.runner = runner
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch: tuple[Callable[[], str | None], Callable[[], None]] | None = None

    @classmethod
    def register(cls, metadata: MetadataStore, clock: Clock, runner_id: str) -> Liveness:
        now = clock.now()
        runner = RunnerRecord(runner_id, socket.gethostname(), os.getpid(), now, now)
        metadata.save_runner(runner)
        return cls(metadata, clock, runner)

    def watch(self, root_id: Callable[[], str | None], on_cancel: Callable[[], None]) -> None:
        self._watch = (root_id, on_cancel)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="loopline-liveness", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        last_beat = self.clock.monotonic()
        cancelled = False
        while not self._stop.wait(POLL_S):
            try:
                if self._watch is not None and not cancelled:
                    root_id = self._watch[0]()
                    if root_id is not None and self.metadata.cancel_requested([root_id]):
                        cancelled = True
                        self._watch[1]()
                if self.clock.monotonic() - last_beat >= HEARTBEAT_S:
                    last_beat = self.clock.monotonic()
                    self.beat()
            except Exception:
                logger.warning("runner heartbeat failed; retrying", exc_info=True)

    def beat(self) -> None:
        self.runner = dataclasses.replace(self.runner, heartbeat_at=self.clock.now())
        self.metadata.save_runner(self.runner)

    def unwatch(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def close(self, reason: str = "its runner stopped before finishing it") -> None:
        """Stop the runner; a run of it still unfinished is marked ORPHANED, saying `reason`
        (none should be: a runner leaves no run live behind it, whatever stopped it)."""
        self.unwatch()
        now = self.clock.now()
        self.runner = dataclasses.replace(self.runner, heartbeat_at=now, stopped_at=now)
        self.metadata.orphan_runs([self.runner.id], now, reason)
