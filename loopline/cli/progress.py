"""Live progress of a pipeline in the terminal, as a runner hook."""

from __future__ import annotations

import collections
import sys
import threading
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from loopline.core.records import RunRecord, RunState
from loopline.engine.hooks import RunHooks

STYLE = {  # one per RunState (a test checks)
    RunState.CREATED: "dim",
    RunState.READY: "blue",
    RunState.SUCCEEDED: "green",
    RunState.CACHED: "cyan",
    RunState.FAILED: "red",
    RunState.RUNNING: "yellow",
    RunState.WAITING: "yellow",
    RunState.RETRYING: "magenta",
    RunState.CANCELLED: "red",
    RunState.ABANDONED: "red",
    RunState.ORPHANED: "red",
}


class TerminalProgress(RunHooks):
    """Counts of runs per state and the steps running now, redrawn a few times a second.

    On a non-interactive output (CI logs) it prints one line per finished run instead, up to a
    limit, so logs stay readable for large fan-outs.
    """

    def __init__(self, console: Console | None = None, max_lines: int = 200) -> None:
        self.console = console or Console(stderr=True)
        self.runs: dict[str, RunRecord] = {}
        self.lock = threading.Lock()
        self.live: Live | None = None
        self.max_lines = max_lines
        self.printed = 0
        self.started = time.monotonic()

    def __enter__(self) -> TerminalProgress:
        if self.console.is_terminal:
            self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.live is not None:
            self.live.update(self._render())
            self.live.__exit__(None, None, None)
            self.live = None
        self.console.print(self._summary())

    def on_run_update(self, *, run: RunRecord) -> None:
        with self.lock:
            previous = self.runs.get(run.id)
            self.runs[run.id] = run
        if self.live is not None:
            self.live.update(self._render())
        elif run.state.is_terminal and (previous is None or not previous.state.is_terminal):
            self._print_line(run)

    def _print_line(self, run: RunRecord) -> None:
        if self.printed < self.max_lines or not run.state.is_success:
            duration = f" {run.duration_s:.2f}s" if run.duration_s is not None else ""
            self.console.print(
                Text.assemble((f"{run.state.value:>9}", STYLE.get(run.state, "")), f" {run.name}{duration}")
            )
            self.printed += 1

    def _counts(self) -> collections.Counter[RunState]:
        with self.lock:
            return collections.Counter(run.state for run in self.runs.values())

    def _summary(self) -> Text:
        counts = self._counts()
        parts = [
            (f"{n} {state.value}", STYLE.get(state, ""))
            for state, n in sorted(counts.items(), key=lambda kv: kv[0].value)
        ]
        text = Text(f"{sum(counts.values())} runs in {time.monotonic() - self.started:.1f}s: ")
        for i, part in enumerate(parts):
            text.append(("  " if i else "") + part[0], style=part[1])
        return text

    def _render(self) -> Group:
        with self.lock:
            running = [r for r in self.runs.values() if r.state is RunState.RUNNING][:8]
        table = Table.grid(padding=(0, 2))
        for run in running:
            table.add_row(Text("running", style="yellow"), run.name, f"{run.duration_s or 0:.1f}s")
        return Group(self._summary(), table)


def is_interactive() -> bool:
    return sys.stderr.isatty()
