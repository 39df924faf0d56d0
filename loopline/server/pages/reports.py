"""The regression reports pages: every report, and one report scenario by scenario with the
golden examples that flipped between the two models."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from loopline.cl.regression.report import RegressionReport
from loopline.cl.store.revisions import RecordKind
from loopline.server.live import LivePage
from loopline.server.lookups import known_runs, load_report
from loopline.server.pages.datasets import dataset_link
from loopline.server.pages.render import render
from loopline.server.rendering import exhibits
from loopline.server.state import ServerState, live_page, server_state

router = APIRouter(include_in_schema=False)
State = Annotated[ServerState, Depends(server_state)]
FLIPS_SHOWN = 60
Name = Annotated[str, Query(max_length=256)]


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    state: State,
    live: Annotated[LivePage, Depends(live_page(RecordKind.REPORTS))],
    model: Name | None = None,
) -> HTMLResponse:
    store = state.workspace.store
    return render(
        request,
        "reports.html",
        live=live,
        nav="reports",
        rows=store.list_reports(model=model or None, limit=200),
        model=model or "",
        models=[m.name for m in store.latest_model_versions()],
    )


@dataclasses.dataclass(frozen=True)
class FlipView:
    example: exhibits.Example
    label: str
    candidate: str
    baseline: str


def flip_views(report: RegressionReport, ids: tuple[str, ...]) -> list[FlipView]:
    """The report's stored copies of these golden examples, with both models' predictions."""
    examples = report.examples
    if examples is None or not ids:
        return []
    known = [i for i in ids[:FLIPS_SHOWN] if i in set(examples.ids.tolist())]
    if not known:
        return []
    shown = exhibits.dataset_examples(examples, examples.positions(known).tolist())
    views = []
    for example in shown:
        meta = dict(example.metadata)
        views.append(
            FlipView(
                example,
                example.label or "—",
                meta.get("candidate_prediction", "—"),
                meta.get("baseline_prediction", "—"),
            )
        )
    return views


@router.get("/reports/{report_id}", response_class=HTMLResponse)
def report_page(request: Request, report_id: str, state: State) -> HTMLResponse:
    report = load_report(state, report_id)
    entry = state.workspace.store.get_report(report_id)
    flips = {
        s.name: {
            "right_to_wrong": flip_views(report, s.right_to_wrong.ids),
            "wrong_to_right": flip_views(report, s.wrong_to_right.ids),
            "wrong": flip_views(report, s.wrong),
        }
        for s in report.scenarios
    }
    metric_names: list[str] = []
    for result in report.scenarios:
        metric_names += [k for k in result.candidate if k not in metric_names]
    return render(
        request,
        "report.html",
        nav="reports",
        report=report,
        entry=entry,
        flips=flips,
        metric_names=metric_names,
        shown_limit=FLIPS_SHOWN,
        golden_link=dataset_link(report.golden),
        run_known=known_runs(state, [entry.run_id]),
    )
