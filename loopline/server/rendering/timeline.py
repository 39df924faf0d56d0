"""A pipeline's steps on a time axis (a Gantt chart), drawn on the server as SVG.

One row per step, nested steps under their parent; a fan-out of more than `FANOUT_ROWS` calls of
one function under one parent is one row (`name xN`) spanning them all, and at most `MAX_ROWS`
rows are drawn, so a 10,000-step pipeline stays a bounded picture. Each row's bar shows the wait
(created → started, "queued") and the work (started → ended, or now), in the run's state.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Sequence
from html import escape

from loopline.core.records import RunRecord, utcnow
from loopline.server.rendering.formats import duration
from loopline.server.rendering.states import shown_counts, shown_state, urgency

FANOUT_ROWS = 50  # siblings of one function beyond this collapse into one row
MAX_ROWS = 400
ROW_H = 22
LABEL_W = 240
CHART_W = 660
AXIS_H = 24
INDENT = 12
TICKS = 6


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the chart: a run, or a collapsed fan-out of `count` runs. Times are seconds
    from the chart's start; `ended` is None while the row is still at work (drawn up to now)."""

    run_id: str  # the run a click selects (a fan-out: its most urgent call)
    label: str
    depth: int
    state: str  # as shown (a fan-out: its most urgent state)
    created: float
    started: float | None
    ended: float | None
    title: str
    count: int = 1


@dataclasses.dataclass(frozen=True)
class Timeline:
    rows: list[Row]
    now_s: float  # where "now" is on the axis: running bars reach it
    span_s: float  # from the first creation to the last end (or now)
    left_out: int  # runs in no row: past MAX_ROWS, or nested under a folded fan-out
    total_runs: int

    def ticks(self) -> list[float]:
        """Round moments along the axis (0, 2 s, 4 s, … or 0, 5m, 10m, …)."""
        raw = max(self.span_s, 1e-3) / TICKS
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
        return [i * step for i in range(int(self.span_s / step + 1e-9) + 1)]


def timeline(runs: Sequence[RunRecord], root_id: str, *, now: dt.datetime | None = None) -> Timeline:
    """Lay out `runs` (one pipeline's, in any order) as rows under the run `root_id`."""
    by_id = {r.id: r for r in runs}
    root = by_id.get(root_id)
    if root is None:
        return Timeline([], 0.0, 0.0, 0, 0)
    children: dict[str, list[RunRecord]] = collections.defaultdict(list)
    for run in sorted(runs, key=lambda r: (r.created_at, r.id)):
        if run.parent_id is not None and run.id != root_id:
            children[run.parent_id].append(run)
    t0 = min(r.created_at for r in runs)
    now_s = max(0.0, ((now or utcnow()) - t0).total_seconds())

    def at(moment: dt.datetime | None) -> float | None:
        return None if moment is None else max(0.0, (moment - t0).total_seconds())

    def ended(run: RunRecord) -> float | None:
        if run.ended_at is not None:
            return at(run.ended_at)
        return at(run.started_at or run.created_at) if run.state.is_terminal else None

    rows: list[Row] = []
    # Depth first, parents before their children, without recursion (a chain can be 10,000 deep).
    todo: list[tuple[int, RunRecord | list[RunRecord]]] = [(0, root)]
    while todo and len(rows) < MAX_ROWS:
        depth, item = todo.pop()
        if isinstance(item, list):
            rows.append(_fanout_row(item, depth, at, ended, now_s))
            continue
        created, started, end = at(item.created_at) or 0.0, at(item.started_at), ended(item)
        state = shown_state(item.state.value)
        title = _title(item.name, state, created, started, end, now_s)
        rows.append(Row(item.id, item.name, depth, state, created, started, end, title))
        kids = children.get(item.id, [])
        by_function: dict[str, list[RunRecord]] = collections.defaultdict(list)
        for kid in kids:
            by_function[kid.function].append(kid)
        below: list[RunRecord | list[RunRecord]] = []
        for kid in kids:
            group = by_function[kid.function]
            if len(group) <= FANOUT_ROWS:
                below.append(kid)
            elif group[0] is kid:
                below.append(group)
        todo.extend((depth + 1, child) for child in reversed(below))
    ends = [now_s if r.ended is None else r.ended for r in rows]
    drawn = sum(r.count for r in rows)
    return Timeline(rows, now_s, max([*ends, 1e-3]), len(by_id) - drawn, len(by_id))


def _title(
    label: str, state: str, created: float, started: float | None, end: float | None, now: float
) -> str:
    stop = now if end is None else end
    if started is None:
        return f"{label}: {state}, queued {duration(stop - created)}"
    return f"{label}: {state}, took {duration(stop - started)} (queued {duration(started - created)})"


def _fanout_row(
    group: list[RunRecord],
    depth: int,
    at: Callable[[dt.datetime | None], float | None],
    ended: Callable[[RunRecord], float | None],
    now: float,
) -> Row:
    counts = shown_counts(collections.Counter(r.state.value for r in group))
    first = min(group, key=lambda r: (urgency(shown_state(r.state.value)), r.created_at, r.id))
    starts = [s for s in (at(r.started_at) for r in group) if s is not None]
    ends = [ended(r) for r in group]
    end = None if any(e is None for e in ends) else max(e for e in ends if e is not None)
    created, started = min(at(r.created_at) or 0.0 for r in group), min(starts) if starts else None
    label = f"{group[0].name} \u00d7{len(group):,}"
    span = duration((now if end is None else end) - (created if started is None else started))
    title = (
        f"{label}: {', '.join(f'{n:,} {state}' for state, n in counts)}; {span} from first start to last end"
    )
    return Row(first.id, label, depth, counts[0][0], created, started, end, title, count=len(group))


def _seconds(value: float) -> str:
    if value == 0:
        return "0"
    return duration(value)


def render_timeline(chart: Timeline, selected: str) -> str:
    """The chart as one `<svg class="timeline">`: rows of labelled bars over a time axis."""
    height = AXIS_H + ROW_H * max(1, len(chart.rows)) + 8
    width = LABEL_W + CHART_W + 16
    scale = CHART_W / chart.span_s if chart.span_s > 0 else 0.0

    def x(seconds: float) -> float:
        return LABEL_W + seconds * scale

    parts = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="timeline of {chart.total_runs:,} runs">'
    ]
    for tick in chart.ticks():
        parts.append(
            f'<g class="tl-tick"><line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{AXIS_H - 6}" y2="{height}"/>'
            f'<text x="{x(tick):.1f}" y="{AXIS_H - 10}">{escape(_seconds(tick))}</text></g>'
        )
    for i, row in enumerate(chart.rows):
        y = AXIS_H + i * ROW_H
        chosen = " selected" if row.run_id == selected else ""
        kind = " tl-fanout" if row.count > 1 else ""
        label = row.label if len(row.label) <= 30 else row.label[:29] + "…"
        start = (
            row.started if row.started is not None else (row.ended if row.ended is not None else chart.now_s)
        )
        stop = chart.now_s if row.ended is None else row.ended
        bar_x, bar_w = x(start), max(2.0, (stop - start) * scale)
        queued_w = max(0.0, (start - row.created) * scale)
        parts.append(
            f'<a class="tl-row s-{row.state}{kind}{chosen}" href="/runs/{row.run_id}" data-select="{row.run_id}" '
            f'data-run-id="{row.run_id}" data-state="{row.state}"><title>{escape(row.title)}</title>'
            f'<rect class="tl-band" x="0" y="{y}" width="{width}" height="{ROW_H}"/>'
            f'<text class="tl-label" x="{4 + row.depth * INDENT}" y="{y + 15}">{escape(label)}</text>'
        )
        if queued_w >= 0.5:
            parts.append(
                f'<rect class="tl-queued" x="{x(row.created):.1f}" y="{y + 8}" width="{queued_w:.1f}" height="6"/>'
            )
        if row.started is not None or row.ended is not None:
            parts.append(
                f'<rect class="tl-bar" x="{bar_x:.1f}" y="{y + 4}" width="{bar_w:.1f}" height="14" rx="2"/>'
            )
        parts.append("</a>")
    parts.append("</svg>")
    return "".join(parts)
