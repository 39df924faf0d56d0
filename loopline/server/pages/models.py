"""The models pages: every registered model, and one model's versions, aliases, alias moves and
the regression reports about it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from loopline.cl.store.records import ModelVersion, ReportEntry
from loopline.cl.store.revisions import RecordKind
from loopline.server.live import LivePage
from loopline.server.lookups import known_runs
from loopline.server.pages.render import render
from loopline.server.state import ServerState, live_page, server_state

router = APIRouter(include_in_schema=False)
State = Annotated[ServerState, Depends(server_state)]


@router.get("/models", response_class=HTMLResponse)
def models_page(
    request: Request, state: State, live: Annotated[LivePage, Depends(live_page(RecordKind.MODELS))]
) -> HTMLResponse:
    store = state.workspace.store
    rows = [(m, store.aliases(m.name)) for m in store.latest_model_versions()]
    return render(request, "models.html", live=live, nav="models", rows=rows)


@router.get("/models/{name:path}", response_class=HTMLResponse)
def model_page(
    request: Request,
    name: str,
    state: State,
    live: Annotated[LivePage, Depends(live_page(RecordKind.MODELS, RecordKind.REPORTS))],
) -> HTMLResponse:
    store = state.workspace.store
    versions: list[ModelVersion] = store.model_versions(name)
    if not versions:
        store.get_model_version(name)  # the registry's own "not registered" message, as a 404
    reports = store.list_reports(model=name, limit=200)
    aliases = store.aliases(name)
    by_version: dict[int, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(version, []).append(alias)
    return render(
        request,
        "model.html",
        live=live,
        nav="models",
        name=name,
        versions=list(reversed(versions)),
        aliases=aliases,
        by_version=by_version,
        history=list(reversed(store.alias_history(name))),
        reports=reports,
        gates=_latest_gates(reports),
        run_ids=known_runs(state, [v.training_run_id for v in versions]),
    )


def _latest_gates(reports: list[ReportEntry]) -> dict[str, ReportEntry]:
    """Each candidate's latest regression report (`reports` come newest first)."""
    gates: dict[str, ReportEntry] = {}
    for report in reports:
        gates.setdefault(report.candidate, report)
    return gates
