"""Small SVG charts drawn on the server: metric lines and pipeline duration bars."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from loopline.core.records import MetricPoint, RunRecord
from loopline.server.rendering.formats import duration, moment

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 340.0, 170.0, 46.0, 12.0, 26.0, 24.0


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def bar_chart(
    bars: Sequence[tuple[str, float, str | None]], *, title: str, width: float = 320.0, height: float = 90.0
) -> str:
    """Labelled vertical bars (e.g. a dataset's size per version), each a link when it has one."""
    if not bars:
        return ""
    top = max(value for _, value, _ in bars) or 1.0
    plot_h = height - 46
    slot = min((width - 8) / len(bars), 40.0)
    parts = []
    for i, (label, value, href) in enumerate(bars):
        h = max(1.0, plot_h * value / top)
        x = 4 + i * slot
        bar = (
            f'<rect class="bar" x="{x + 2:.1f}" y="{30 + plot_h - h:.1f}" width="{max(slot - 4, 1):.1f}" '
            f'height="{h:.1f}"><title>{escape(label)}: {_fmt(value)}</title></rect>'
            f'<text class="tick" x="{x + slot / 2:.1f}" y="{27 + plot_h - h:.1f}" text-anchor="middle">{_count(value)}</text>'
            f'<text class="tick" x="{x + slot / 2:.1f}" y="{height - 4:.1f}" text-anchor="middle">{escape(label)}</text>'
        )
        parts.append(f'<a href="{escape(href)}">{bar}</a>' if href else bar)
    return (
        f'<svg class="chart bars" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'role="img" aria-label="{escape(title)}"><text class="chart-title" x="4" y="12">{escape(title)}</text>'
        f"{''.join(parts)}</svg>"
    )


def _count(value: float) -> str:
    return f"{value / 1000:.1f}k" if value >= 10_000 else f"{value:,.0f}"


SERIES_COLORS = 10


def rounds_chart(
    title: str,
    series: dict[str, list[tuple[int, float]]],
    *,
    rounds: Sequence[int] = (),
    width: float = 600.0,
    height: float = 240.0,
) -> str:
    """Several metrics over the rounds of a loop: one colored line per series, with a legend.
    `rounds` sets the horizontal axis (every round of the loop, even those without a value)."""
    points = [p for values in series.values() for p in values]
    if not points:
        return ""
    legend_w = 210.0
    plot_l, plot_r, plot_t, plot_b = 40.0, width - legend_w, 26.0, height - 24.0
    xs = [p[0] for p in points] + list(rounds)
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 0.05, y1 + 0.05

    def sx(x: float) -> float:
        return plot_l + (x - x0) / (x1 - x0) * (plot_r - plot_l - 10)

    def sy(y: float) -> float:
        return plot_t + (1 - (y - y0) / (y1 - y0)) * (plot_b - plot_t)

    lines, legend = [], []
    for i, (name, values) in enumerate(series.items()):
        color = f"c{i % SERIES_COLORS}"
        ordered = sorted(values)
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in ordered)
        dots = "".join(
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3"><title>{escape(name)}, round {x}: {_fmt(y)}</title></circle>'
            for x, y in ordered
        )
        lines.append(f'<g class="series {color}"><polyline class="line" points="{path}"/>{dots}</g>')
        if i < 14:
            y = plot_t + i * 15
            legend.append(
                f'<g class="series {color}"><rect x="{plot_r + 8:.1f}" y="{y - 8:.1f}" width="10" height="10" rx="2"/>'
                f'<text x="{plot_r + 22:.1f}" y="{y + 1:.1f}">{escape(_short(name, 26))} {_fmt(ordered[-1][1])}</text></g>'
            )
    if len(series) > 14:
        legend.append(
            f'<text x="{plot_r + 8:.1f}" y="{plot_t + 14 * 15:.1f}">+{len(series) - 14} more</text>'
        )
    ticks = "".join(
        f'<text class="tick" x="{sx(r):.1f}" y="{height - 6:.1f}" text-anchor="middle">{r}</text>'
        for r in sorted(set(xs))[:30]
    )
    return (
        f'<svg class="chart rounds" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'role="img" aria-label="{escape(title)} over rounds">'
        f'<text class="chart-title" x="{plot_l}" y="16">{escape(title)}</text>'
        f'<line class="axis" x1="{plot_l}" y1="{plot_t}" x2="{plot_l}" y2="{plot_b}"/>'
        f'<line class="axis" x1="{plot_l}" y1="{plot_b}" x2="{plot_r - 10:.1f}" y2="{plot_b}"/>'
        f'<text class="tick" x="{plot_l - 4}" y="{plot_t + 4}" text-anchor="end">{_fmt(y1)}</text>'
        f'<text class="tick" x="{plot_l - 4}" y="{plot_b}" text-anchor="end">{_fmt(y0)}</text>'
        f"{ticks}{''.join(lines)}{''.join(legend)}</svg>"
    )


def scores_chart(scores: Sequence[float], chosen: int | None, labels: Sequence[str] | None = None) -> str:
    """Per-class scores as horizontal bars, the predicted class highlighted."""
    if not scores:
        return ""
    row, width = 16.0, 300.0
    top = max(max(scores), 1e-12)
    names = (
        list(labels)
        if labels is not None and len(labels) == len(scores)
        else [str(i) for i in range(len(scores))]
    )
    bars = []
    for i, (name, value) in enumerate(zip(names, scores)):
        y = 4 + i * row
        w = max(1.0, (width - 90) * value / top)
        mark = " chosen" if i == chosen else ""
        bars.append(
            f'<text class="tick" x="28" y="{y + 11:.1f}" text-anchor="end">{escape(name[:6])}</text>'
            f'<rect class="bar{mark}" x="34" y="{y + 2:.1f}" width="{w:.1f}" height="{row - 5:.1f}"/>'
            f'<text class="tick" x="{38 + w:.1f}" y="{y + 11:.1f}">{_fmt(value)}</text>'
        )
    height = 8 + row * len(scores)
    return (
        f'<svg class="chart scores" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'role="img" aria-label="scores per class">{"".join(bars)}</svg>'
    )


def overlay_chart(
    name: str,
    series: Sequence[tuple[str, Sequence[MetricPoint]]],
    *,
    width: float = 460.0,
    height: float = 220.0,
) -> str:
    """One metric of several runs, one colored line per run over its steps (or the order it was
    logged), with a legend of the runs and their last values. A run keeps its place's color
    (`c0` for the first) when a run before it logged no points and is left out."""
    drawn = [(i, label, points) for i, (label, points) in enumerate(series) if points]
    if not drawn:
        return ""
    legend_w = 170.0
    plot_l, plot_r, plot_t, plot_b = 46.0, width - legend_w, 26.0, height - 24.0
    xy = [
        [(p.step if p.step is not None else i, p.value) for i, p in enumerate(points)] for *_, points in drawn
    ]
    xs = [x for line in xy for x, _ in line]
    ys = [y for line in xy for _, y in line]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5

    def sx(x: float) -> float:
        return plot_l + (x - x0) / (x1 - x0) * (plot_r - plot_l - 10)

    def sy(y: float) -> float:
        return plot_t + (1 - (y - y0) / (y1 - y0)) * (plot_b - plot_t)

    lines, legend = [], []
    for row, ((place, label, _), line) in enumerate(zip(drawn, xy)):
        color = f"c{place % SERIES_COLORS}"
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in line)
        dots = "".join(
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5"><title>{escape(label)}, step {x}: {_fmt(y)}</title></circle>'
            for x, y in line[-200:]
        )
        lines.append(
            f'<g class="series {color}" data-run="{escape(label)}"><polyline class="line" points="{path}"/>{dots}</g>'
        )
        y = plot_t + row * 16
        legend.append(
            f'<g class="series {color} legend-entry"><rect x="{plot_r + 4:.1f}" y="{y - 8:.1f}" width="10" height="10" rx="2"/>'
            f'<text x="{plot_r + 18:.1f}" y="{y + 1:.1f}">{escape(_short(label, 20))} {_fmt(line[-1][1])}</text></g>'
        )
    return (
        f'<svg class="chart overlay" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'role="img" aria-label="metric {escape(name)} of {len(drawn)} runs">'
        f'<text class="chart-title" x="{plot_l}" y="16">{escape(name)}</text>'
        f'<line class="axis" x1="{plot_l}" y1="{plot_t}" x2="{plot_l}" y2="{plot_b}"/>'
        f'<line class="axis" x1="{plot_l}" y1="{plot_b}" x2="{plot_r - 10:.1f}" y2="{plot_b}"/>'
        f'<text class="tick" x="{plot_l - 4}" y="{plot_t + 4}" text-anchor="end">{_fmt(y1)}</text>'
        f'<text class="tick" x="{plot_l - 4}" y="{plot_b}" text-anchor="end">{_fmt(y0)}</text>'
        f'<text class="tick" x="{plot_l}" y="{height - 6}">{x0}</text>'
        f'<text class="tick" x="{plot_r - 10:.1f}" y="{height - 6}" text-anchor="end">{x1}</text>'
        f"{''.join(lines)}{''.join(legend)}</svg>"
    )
