"""The Jinja2 environment of the dashboard: autoescaping on, the formats as filters, and the helpers
templates call (run groups, state counts, confusion matrices, figure kinds, duration charts)."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from loopline._version import __version__
from loopline.core.records import RunRecord
from loopline.server.rendering.charts import duration_chart
from loopline.server.rendering.entities import entity_link
from loopline.server.rendering.figures import FIGURE_TYPES, PLOTLY_FIGURE
from loopline.server.rendering.formats import cell, duration, filesize, local_time, moment, number, sortkey
from loopline.server.rendering.graph_layout import FANOUT_MIN
from loopline.server.rendering.states import shown_state, stopped

TEMPLATES = Path(__file__).parents[1] / "templates"
TREE_LIMIT = 50


def all_scalars(items: Sequence[Any]) -> bool:
    return all(
        isinstance(i, dict)
        and (
            i.get("kind") in ("int", "float", "bool")
            or (i.get("kind") == "str" and len(i.get("value", "")) < 40)
        )
        for i in items
    )


def group_runs(runs: Sequence[RunRecord]) -> list[list[RunRecord]]:
    """Siblings by function, in order of first appearance (fan-outs become one group)."""
    groups: dict[str, list[RunRecord]] = {}
    for run in runs:
        groups.setdefault(run.function, []).append(run)
    result: list[list[RunRecord]] = []
    for group in groups.values():
        result += [group] if len(group) >= FANOUT_MIN else [[r] for r in group]
    return result


def count_states(runs: Sequence[RunRecord]) -> list[tuple[str, int]]:
    return collections.Counter(r.state.value for r in runs).most_common()


def confusion(summary: dict[str, Any]) -> list[list[dict[str, Any]]] | None:
    """A square integer matrix of at most 30 classes is drawn as a confusion matrix."""
    shape, values = summary.get("shape"), summary.get("values")
    if not shape or len(shape) != 2 or shape[0] != shape[1] or not 2 <= shape[0] <= 30 or values is None:
        return None
    if not str(summary.get("dtype", "")).startswith(("int", "uint")):
        return None
    top = max((v for row in values for v in row if isinstance(v, int)), default=0) or 1
    return [
        [
            {"value": v, "alpha": round(v / top, 3) if isinstance(v, int) else 0, "diag": i == j}
            for j, v in enumerate(row)
        ]
        for i, row in enumerate(values)
    ]


def figure_kind(summary: dict[str, Any]) -> str | None:
    """ "svg" (drawn by the server), "plotly" (drawn in the page), or None: not a figure."""
    if summary.get("kind") != "object" or summary.get("type") not in FIGURE_TYPES:
        return None
    return "plotly" if summary.get("type") == PLOTLY_FIGURE else "svg"


def create_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        duration=duration,
        moment=moment,
        when=local_time,
        filesize=filesize,
        number=number,
        cell=cell,
        sortkey=sortkey,
        all_scalars=all_scalars,
        shown=shown_state,
    )
    env.globals.update(
        version=__version__,
        group_runs=group_runs,
        count_states=count_states,
        confusion=confusion,
        figure_kind=figure_kind,
        entity_link=entity_link,
        durations=duration_chart,
        fan_min=FANOUT_MIN,
        tree_limit=TREE_LIMIT,
        stopped=stopped,
    )
    return env
