"""Live progress of a pipeline in a Jupyter cell, as a runner hook.

A runner started in a notebook's kernel adds this hook by itself: one display in the cell,
updated in place a few times a second (steps done, running and failed), instead of a wall of
log lines; when the pipeline ends it becomes the pipeline run's card. What steps print shows in
the cell as in a script: a step in a thread prints there itself, and this hook writes what steps
in worker processes and on Ray print.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from typing import Any

from loopline.core import html
from loopline.core.records import RunRecord, RunState, state_badge
from loopline.engine.hooks import RunHooks
from loopline.sdk.notebook import in_kernel

REFRESH_S = 0.25
RUNNING_SHOWN = 8
FAILED_SHOWN = 5
OUT_OF_PROCESS = frozenset({"process", "ray"})  # executors whose steps cannot print in the cell


class NotebookProgress(RunHooks):
    """The pipeline's progress as an HTML display in the current cell (IPython.display)."""

    def __init__(self, *, echo: bool = True, refresh_s: float = REFRESH_S) -> None:
        self.echo = echo
        self.refresh_s = refresh_s
        self.lock = threading.Lock()
        self.runs: dict[str, RunRecord] = {}
        self.root: RunRecord | None = None
        self.handle: Any = None
        self.shown_at = 0.0
        self.started = time.monotonic()

    def on_pipeline_start(self, *, root: RunRecord) -> None:
        from IPython.display import HTML, display

        with self.lock:
            self.root = root
            self.runs[root.id] = root
            self.started = time.monotonic()
        self.handle = display(HTML(self.render()), display_id=True)  # type: ignore[no-untyped-call]

    def on_run_update(self, *, run: RunRecord) -> None:
        with self.lock:
            self.runs[run.id] = run
            if self.root is not None and run.id == self.root.id:
                self.root = run
            due = time.monotonic() - self.shown_at >= self.refresh_s
        if due:
            self._show()

    def on_log(self, *, run_id: str, stream: str, text: str) -> None:
        with self.lock:
            run = self.runs.get(run_id)
        if self.echo and run is not None and run.executor in OUT_OF_PROCESS:
            (sys.stderr if stream == "stderr" else sys.stdout).write(text)

    def on_pipeline_end(self, *, root: RunRecord) -> None:
        with self.lock:
            self.root = root
            self.runs[root.id] = root
        self._show()

    def _show(self) -> None:
        if self.handle is None:
            return
        from IPython.display import HTML

        self.shown_at = time.monotonic()
        self.handle.update(HTML(self.render()))  # type: ignore[no-untyped-call]

    def render(self) -> str:
        """The current state: counts per state, the steps running now and the failures."""
        with self.lock:
            root = self.root
            steps = [run for run in self.runs.values() if root is None or run.id != root.id]
        if root is None:
            return ""
        counts = collections.Counter(run.state for run in steps)
        tally = " ".join(
            f"{state_badge(state)} {n}" for state, n in sorted(counts.items(), key=lambda kv: kv[0].value)
        )
        running = [run for run in steps if run.state is RunState.RUNNING]
        failed = [run for run in steps if run.state is RunState.FAILED]
        rows = [
            (state_badge(run.state), run.name, f"{run.duration_s or 0:.1f}s", _error(run))
            for run in failed[:FAILED_SHOWN] + running[:RUNNING_SHOWN]
        ]
        elapsed = (
            root.duration_s
            if root.state.is_terminal and root.duration_s is not None
            else time.monotonic() - self.started
        )
        facts = [("steps", html.Markup(tally) if tally else "none yet"), ("elapsed", f"{elapsed:.1f}s")]
        body = html.table(["", "step", "for", ""], rows, total=len(rows)) if rows else ""
        title = html.Markup(f"pipeline {html.escape(root.name)} {state_badge(root.state)}")
        return html.card(title, facts, body, link=html.dashboard_path("runs", root.id))


def _error(run: RunRecord) -> str:
    return "" if run.error is None else f"{run.error.type}: {run.error.message}"[:300]


def notebook_hooks(hooks: list[RunHooks], *, echo: bool) -> list[RunHooks]:
    """The live progress display, when this runner runs in a Jupyter kernel and was not given one."""
    if not in_kernel() or any(isinstance(hook, NotebookProgress) for hook in hooks):
        return []
    return [NotebookProgress(echo=echo)]
