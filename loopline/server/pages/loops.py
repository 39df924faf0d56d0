"""The loops pages: every continuous-improvement loop, and one loop's history round by round with
its metrics, scenario accuracies and training-set sizes over the rounds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from loopline.cl.datasets.dataset import parse_ref
from loopline.cl.store.errors import DatasetNotFoundError
from loopline.cl.store.revisions import RecordKind
from loopline.server.live import LivePage
from loopline.server.pages.datasets import dataset_link
from loopline.server.pages.render import render
from loopline.server.rendering.charts import bar_chart, rounds_chart
from loopline.server.state import ServerState, live_page, server_state

router = APIRouter(include_in_schema=False)
State = Annotated[ServerState, Depends(server_state)]


@router.get("/loops", response_class=HTMLResponse)
def loops_page(
    request: Request, state: State, live: Annotated[LivePage, Depends(live_page(RecordKind.LOOPS))]
) -> HTMLResponse:
    return render(request, "loops.html", live=live, nav="loops", rows=state.workspace.store.loops())


@router.get("/loops/{name:path}", response_class=HTMLResponse)
def loop_page(
    request: Request, name: str, state: State, live: Annotated[LivePage, Depends(live_page(RecordKind.LOOPS))]
) -> HTMLResponse:
    rounds = state.workspace.store.rounds(name)
    if not rounds:
        raise HTTPException(404, f"no loop named {name!r} has recorded a round; list them at /loops")
    scenarios: dict[str, list[tuple[int, float]]] = {}
    metrics: dict[str, list[tuple[int, float]]] = {}
    for r in rounds:
        for scenario, values in r.scenarios.items():
            accuracy = values.get("accuracy")
            if isinstance(accuracy, (int, float)):
                scenarios.setdefault(scenario, []).append((r.round, float(accuracy)))
        for metric, value in r.metrics.items():
            metrics.setdefault(metric, []).append((r.round, float(value)))
    numbers = [r.round for r in rounds]
    sizes = []
    for r in rounds:
        size = _dataset_size(state, r.dataset_after or r.dataset_before)
        if size is not None:
            sizes.append((f"r{r.round}", float(size), dataset_link(r.dataset_after or r.dataset_before)))
    return render(
        request,
        "loop.html",
        live=live,
        nav="loops",
        name=name,
        rounds=list(reversed(rounds)),
        latest=rounds[-1],
        metrics_chart=rounds_chart("loop metrics", metrics, rounds=numbers) if metrics else "",
        scenarios_chart=(
            rounds_chart("candidate accuracy per scenario", scenarios, rounds=numbers) if scenarios else ""
        ),
        sizes_chart=bar_chart(sizes, title="training examples after each round") if sizes else "",
    )


def _dataset_size(state: ServerState, ref: str | None) -> int | None:
    if not ref:
        return None
    try:
        name, version = parse_ref(ref, "dataset")
        return state.workspace.store.get_dataset_version(name, version).size
    except (DatasetNotFoundError, ValueError):
        return None
