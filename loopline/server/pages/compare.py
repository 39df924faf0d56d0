"""The compare page: 2 to 10 runs side by side, one column each: their inputs, the last value of
each metric and their outputs, the rows whose values differ marked, and each metric's curves
overlaid in one chart."""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from loopline.core.records import MetricPoint, RunRecord
from loopline.server.pages.render import render
from loopline.server.pages.run_values import RunValues
from loopline.server.rendering.charts import overlay_chart
from loopline.server.rendering.formats import brief
from loopline.server.state import ServerState, server_state

router = APIRouter(include_in_schema=False)
State = Annotated[ServerState, Depends(server_state)]
FEWEST, MOST = 2, 10


@dataclasses.dataclass(frozen=True)
class Cell:
    text: str  # the value in brief; "" when the run has none
    href: str | None = None  # the artifact's page


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    cells: list[Cell]  # one per run, in the page's order
    differs: bool


@dataclasses.dataclass(frozen=True)
class Section:
    title: str
    rows: list[Row]


def _row(name: str, keys: Sequence[Hashable | None], cells: list[Cell]) -> Row:
    """A row differs when its runs' values do (a run without the value differs from one with it)."""
    return Row(name, cells, len(set(keys)) > 1)


def _artifact_cell(values: RunValues, artifact_id: str | None) -> Cell:
    if artifact_id is None:
        return Cell("")
    return Cell(brief(values.summary(artifact_id)), f"/artifacts/{artifact_id}")


def _inputs(values: RunValues, runs: list[RunRecord]) -> Section:
    names = sorted({name for run in runs for name in run.inputs})
    rows = []
    for name in names:
        ids = [run.inputs[name].artifact_id if name in run.inputs else None for run in runs]
        rows.append(_row(name, ids, [_artifact_cell(values, i) for i in ids]))
    return Section("Inputs", rows)


def _metrics(metrics: list[dict[str, list[MetricPoint]]]) -> Section:
    names = sorted({name for found in metrics for name in found})
    rows = []
    for name in names:
        last = [found[name][-1].value if name in found else None for found in metrics]
        rows.append(_row(name, last, [Cell("" if v is None else f"{v:.6g}") for v in last]))
    return Section("Metrics (last value)", rows)


def _output(values: RunValues, runs: list[RunRecord]) -> Section:
    ids = [run.output_id for run in runs]
    return Section("Output", [_row("output", ids, [_artifact_cell(values, i) for i in ids])])


def _run_ids(run: list[str]) -> list[str]:
    """The ids asked for, each once, in their order; a 400 that says how many it takes otherwise."""
    ids = list(dict.fromkeys(i.strip() for i in run if i.strip()))
    if len(ids) < FEWEST or len(ids) > MOST:
        raise HTTPException(
            400,
            f"Compare takes {FEWEST} to {MOST} different runs (/compare?run=ID&run=ID...), got {len(ids)}: "
            f"tick {FEWEST} to {MOST} runs on the runs page and press Compare.",
        )
    too_long = [i for i in ids if len(i) > 64]
    if too_long:
        raise HTTPException(400, f"{too_long[0][:70]!r} is not a run id: run ids have at most 64 characters.")
    return ids


@router.get("/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    state: State,
    run: Annotated[list[str], Query()] = [],  # noqa: B006
) -> HTMLResponse:
    runs = [state.metadata.get_run(i) for i in _run_ids(run)]
    values = RunValues(state.metadata)
    metrics = [values.metrics(r) for r in runs]
    labels = [f"{r.name} {r.id[:6]}" for r in runs]
    sections = [_inputs(values, runs), _metrics(metrics), _output(values, runs)]
    names = sorted({name for found in metrics for name in found})
    charts = [
        overlay_chart(name, [(label, found.get(name, [])) for label, found in zip(labels, metrics)])
        for name in names
    ]
    rows = [row for section in sections for row in section.rows]
    return render(
        request,
        "compare.html",
        nav="runs",
        runs=runs,
        sections=sections,
        charts=charts,
        differing=sum(row.differs for row in rows),
        total_rows=len(rows),
        pipelines={r.function for r in runs},
    )
