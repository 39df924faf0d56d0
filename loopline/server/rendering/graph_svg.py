"""The pipeline graph as SVG, drawn on the server so a 10,000-run page arrives ready to show."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from loopline.server.rendering.formats import duration
from loopline.server.rendering.graph_layout import PAD, Box, Layout
from loopline.server.rendering.states import shown_counts, shown_state

MARGIN = 16.0


TITLE_CHAR_PX = 7.5


def _text(value: str, limit: int = 26) -> str:
    return escape(value if len(value) <= limit else value[: limit - 1] + "…")


def _fits(width: float) -> int:
    """How many characters of a title fit in `width` pixels (about 7.5 px each, at least 4)."""
    return max(4, int(width / TITLE_CHAR_PX))


def _state_bar(box: Box, x: float, y: float, width: float) -> str:
    parts, offset = [], 0.0
    total = len(box.runs)
    for state, count in box.states().items():
        w = width * count / total
        parts.append(
            f'<rect class="bar s-{state}" x="{x + offset:.1f}" y="{y:.1f}" width="{w:.1f}" height="5"><title>{count} {state}</title></rect>'
        )
        offset += w
    return "".join(parts)


def _node(box: Box, is_selected: bool, output: str | None = None) -> str:
    run = box.run
    x, y, w, h = box.x + MARGIN, box.y + MARGIN, box.width, box.height
    chosen = " selected" if is_selected else ""
    if box.kind == "group":
        return (
            f'<g class="group s-{shown_state(box.state)}{chosen}" data-run-id="{run.id}">'
            f'<rect class="frame" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="10"/>'
            f'<g class="node head" data-run-id="{run.id}" tabindex="0" role="link" aria-label="{escape(run.name)}: {shown_state(run.state.value)}">'
            f'<circle class="dot s-{shown_state(run.state.value)}" cx="{x + 14:.1f}" cy="{y + 15:.1f}" r="5"/>'
            f'<text x="{x + 26:.1f}" y="{y + 19:.1f}" class="title">{_text(run.name, _fits(w - 62))}</text></g>'
            f'<g class="toggle" data-toggle="{run.id}" data-open="1" tabindex="0" role="button" aria-label="close group {escape(run.name)}">'
            f'<rect x="{x + w - 28:.1f}" y="{y + 5:.1f}" width="20" height="20" rx="4"/>'
            f'<text x="{x + w - 18:.1f}" y="{y + 19:.1f}" text-anchor="middle">\u2212</text></g></g>'
        )
    label = box.label
    if box.collapsed:
        return _collapsed(box, chosen)
    badge = ""
    if box.hidden:
        badge = (
            f'<g class="toggle" data-toggle="{run.id}" data-open="0" tabindex="0" role="button" aria-label="open group {escape(run.name)}">'
            f'<rect x="{x + w - 46:.1f}" y="{y + h - 18:.1f}" width="40" height="15" rx="7"/>'
            f'<text x="{x + w - 26:.1f}" y="{y + h - 7:.1f}" text-anchor="middle">+{box.hidden:,}</text></g>'
        )
    state = shown_state(run.state.value)
    clock = (
        f' data-started="{run.started_at.isoformat()}" data-running'
        if run.started_at and not run.state.is_terminal
        else ""
    )
    took = duration(run.duration_s)
    returned = f" \u2192 {output}" if output else ""
    return (
        f'<g class="node run s-{state}{chosen}" data-run-id="{run.id}" tabindex="0" role="link" '
        f'aria-label="{escape(run.name)}: {state}">'
        f'<rect class="box" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="8"/>'
        f'<rect class="stripe s-{state}" x="{x:.1f}" y="{y:.1f}" width="5" height="{h:.1f}" rx="2"/>'
        f'<text x="{x + 14:.1f}" y="{y + 19:.1f}" class="title">{_text(label)}</text>'
        f'<text x="{x + 14:.1f}" y="{y + 35:.1f}" class="sub"><tspan class="sstate">{state}</tspan>'
        f'<tspan class="sep">{" · " if took else ""}</tspan><tspan class="took"{clock}>{took}</tspan></text>'
        f"{badge}<title>{escape(run.name)}: {state}{escape(returned)}</title></g>"
    )


_COLLAPSED_TITLES = {
    "fanout": "sibling calls of one function, drawn as one node; open it to list them",
    "chain": "calls of one function, each fed by the one before, drawn as one node; open it to list them",
    "span": "a stretch of runs of many functions, drawn as one node to keep the graph readable",
}


def _collapsed(box: Box, chosen: str) -> str:
    """A fan-out, a chain or a span: one node that counts its runs, with a bar of their states."""
    run = box.run
    x, y, w, h = box.x + MARGIN, box.y + MARGIN, box.width, box.height
    listing = (
        f'data-fanout="{escape(run.parent_id or "")}" data-function="{escape(run.function)}" '
        if box.kind != "span"
        else ""
    )
    shadows = (
        f'<rect class="shadow" x="{x + 6:.1f}" y="{y - 5:.1f}" width="{w:.1f}" height="{h:.1f}" rx="8"/>'
        f'<rect class="shadow" x="{x + 3:.1f}" y="{y - 2.5:.1f}" width="{w:.1f}" height="{h:.1f}" rx="8"/>'
        if box.kind == "fanout"
        else ""
    )
    name = _text(run.name, 18) if box.kind != "span" else f"{len({r.function for r in box.runs}):,} functions"
    count = f"\u00d7{len(box.runs):,}" if box.kind != "span" else f"{len(box.runs):,} runs"
    return (
        f'<g class="node {box.kind} s-{box.state}{chosen}" data-run-id="{run.id}" {listing}'
        f'tabindex="0" role="link" aria-label="{escape(box.label)}">'
        f"{shadows}"
        f'<rect class="box" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="8"/>'
        f'<text x="{x + 12:.1f}" y="{y + 21:.1f}" class="title">{name}</text>'
        f'<text x="{x + w - 12:.1f}" y="{y + 21:.1f}" class="count" text-anchor="end">{count}</text>'
        f'<text x="{x + 12:.1f}" y="{y + 38:.1f}" class="sub">{_fan_summary(box)}</text>'
        f"{_state_bar(box, x + 10, y + h - 12, w - 20)}"
        f"<title>{_fan_title(box)}</title></g>"
    )


def _fan_summary(box: Box, width: int = 30) -> str:
    """As many whole "count state" parts as fit, the most urgent first (the tooltip has them all)."""
    parts = [f"{count:,} {state}" for state, count in shown_counts(box.states())]
    text = parts[0]
    for index, part in enumerate(parts[1:], start=1):
        rest = len(parts) - index
        if len(f"{text}, {part}") > width - (len(f" +{rest - 1}") if rest > 1 else 0):
            return escape(f"{text} +{rest}")
        text = f"{text}, {part}"
    return escape(text)


def _fan_title(box: Box) -> str:
    counts = ", ".join(f"{count:,} {state}" for state, count in shown_counts(box.states()))
    return escape(f"{counts}: {_COLLAPSED_TITLES[box.kind]}")


def _blocked(source: Box, target: Box, x1: float, x2: float) -> bool:
    """Whether a sibling box sits between the two ends (the edge skips a layer)."""
    parent = source.parent
    if parent is None or parent is not target.parent:
        return False
    low, high = min(x1, x2) - MARGIN, max(x1, x2) - MARGIN
    top, bottom = source.y + source.height, target.y
    return any(
        b is not source
        and b is not target
        and b.y >= top
        and b.y + b.height <= bottom
        and b.x <= high
        and b.x + b.width >= low
        for b in parent.children
    )


def _edge(source: Box, target: Box, count: int) -> str:
    x1, y1 = source.x + MARGIN + source.width / 2, source.y + MARGIN + source.height
    x2, y2 = target.x + MARGIN + target.width / 2, target.y + MARGIN
    if _blocked(source, target, x1, x2):
        # Go around the boxes in between, along the group's inner margin on the nearer side.
        parent = source.parent
        assert parent is not None
        middle = parent.x + MARGIN + parent.width / 2
        lane = (
            parent.x + MARGIN + PAD / 2
            if (x1 + x2) / 2 <= middle
            else parent.x + MARGIN + parent.width - PAD / 2
        )
        path = (
            f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + 22:.1f} {lane:.1f},{y1 + 4:.1f} {lane:.1f},{y1 + 26:.1f} "
            f"L{lane:.1f},{y2 - 26:.1f} C{lane:.1f},{y2 - 4:.1f} {x2:.1f},{y2 - 22:.1f} {x2:.1f},{y2 - 3:.1f}"
        )
        mx, my = lane, (y1 + y2) / 2
    else:
        bend = max(abs(y2 - y1) / 2, 24.0)
        path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {x2:.1f},{y2 - bend:.1f} {x2:.1f},{y2 - 3:.1f}"
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    label = f'<text class="edge-count" x="{mx + 4:.1f}" y="{my:.1f}">{count:,}</text>' if count > 1 else ""
    return f'<path class="edge" d="{path}" marker-end="url(#arrow)"/>{label}'


def render_graph(graph: Layout, selected: str | None = None, outputs: Mapping[str, str] | None = None) -> str:
    """The layout as SVG; `outputs` names what a run returned when it is a registered entity
    (`model digits@4`), shown in its node's tooltip."""
    width, height = graph.width + 2 * MARGIN, graph.height + 2 * MARGIN
    edges = "".join(_edge(s, t, n) for s, t, n in graph.edges)
    chosen = graph.owner.get(selected) if selected else None
    outputs = outputs or {}
    nodes = "".join(_node(box, box is chosen, outputs.get(box.run.id)) for box in graph.boxes)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" data-root-id="{graph.root_id}" data-total="{graph.total_runs}" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="group" aria-label="pipeline graph">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>'
        f'<g class="edges">{edges}</g><g class="nodes">{nodes}</g></svg>'
    )
