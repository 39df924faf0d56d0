"""Small SVG charts drawn on the server: metric lines and pipeline duration bars."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from loopline.core.records import MetricPoint, RunRecord
from loopline.server.timefmt import duration, moment

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 340.0, 170.0, 46.0, 12.0, 26.0, 24.0


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def metric_chart(name: str, points: Sequence[MetricPoint]) -> str:
    """One metric as a line over its steps (or over the order it was logged)."""
    xs = [p.step if p.step is not None else i for i, p in enumerate(points)]
    ys = [p.value for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def sx(x: float) -> float:
        return PAD_L + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return PAD_T + (1 - (y - y0) / (y1 - y0)) * plot_h

    line = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys))
    dots = "".join(
        f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5"><title>step {x}: {_fmt(y)}</title></circle>'
        for x, y in list(zip(xs, ys))[-200:]
    )
    return (
        f'<svg class="chart" viewBox="0 0 {W:.0f} {H:.0f}" width="{W:.0f}" height="{H:.0f}" role="img" '
        f'aria-label="metric {escape(name)}, last value {_fmt(ys[-1])}">'
        f'<text class="chart-title" x="{PAD_L}" y="16">{escape(name)}</text>'
        f'<text class="chart-last" x="{W - PAD_R}" y="16" text-anchor="end">last {_fmt(ys[-1])}</text>'
        f'<line class="axis" x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{H - PAD_B}"/>'
        f'<line class="axis" x1="{PAD_L}" y1="{H - PAD_B}" x2="{W - PAD_R}" y2="{H - PAD_B}"/>'
        f'<text class="tick" x="{PAD_L - 4}" y="{PAD_T + 4}" text-anchor="end">{_fmt(y1)}</text>'
        f'<text class="tick" x="{PAD_L - 4}" y="{H - PAD_B}" text-anchor="end">{_fmt(y0)}</text>'
        f'<text class="tick" x="{PAD_L}" y="{H - 6}">{x0}</text>'
        f'<text class="tick" x="{W - PAD_R}" y="{H - 6}" text-anchor="end">{x1}</text>'
        f'<polyline class="line" points="{line}"/>{dots}</svg>'
    )


def duration_chart(runs: Sequence[RunRecord], width: float = 260.0, height: float = 44.0) -> str:
    """The latest runs of a pipeline as bars (oldest left), height by duration, color by state."""
    ordered = list(reversed(runs))
    if not ordered:
        return ""
    longest = max((r.duration_s or 0.0) for r in ordered) or 1.0
    slot = min(width / max(len(ordered), 1), 14.0)
    bars = []
    for i, run in enumerate(ordered):
        took = run.duration_s or 0.0
        h = max(2.0, (height - 4) * took / longest)
        bars.append(
            f'<a href="/runs/{run.id}"><rect class="s-{run.state.value}" x="{i * slot + 1:.1f}" y="{height - h:.1f}" '
            f'width="{max(slot - 2, 1):.1f}" height="{h:.1f}"><title>{escape(run.name)} · {run.state.value} · '
            f"{duration(run.duration_s) or 'no duration'} · {moment(run.created_at)}</title></rect></a>"
        )
    return (
        f'<svg class="durations" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'role="img" aria-label="durations of the latest {len(ordered)} runs">{"".join(bars)}</svg>'
    )
